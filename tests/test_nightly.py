"""Nightly patrols end to end: alerts reach real local endpoints, the scheduler runs sources on a fast
clock without overlap (also after a killed lock holder), and a broken source is caught by a monitor."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from patroli.demosites.process import DemoSitesProcess
from patroli.storage import open_store
from tests.helpers.cli import PATROLI, crawl
from tests.helpers.receivers import HttpReceiver, smtp_server

pytestmark = pytest.mark.crawl


def write_alerts(
    path: Path, hook_url: str, smtp_port: int, telegram_url: str, dead_url: str
) -> Path:
    path.write_text(f"""threshold: 0.9
web_url: http://127.0.0.1:8000
channels:
  - {{name: ops, kind: webhook, url: "{hook_url}", events: [high_risk, monitor_failed]}}
  - {{name: analysts, kind: email, smtp_host: 127.0.0.1, smtp_port: {smtp_port}, from: patroli@example.test,
     to: [analis@example.test], events: [high_risk]}}
  - {{name: budi, kind: telegram, token_env: TEST_BOT_TOKEN, chat_id: "-100555", api_url: "{telegram_url}",
     events: [saved_search]}}
  - {{name: broken, kind: webhook, url: "{dead_url}", events: [high_risk]}}
""")
    return path


def test_alerts_arrive_and_a_failing_channel_does_not_fail_the_crawl(
    demo_sites: DemoSitesProcess, store_url: str, tmp_path: Path
) -> None:
    with open_store(store_url) as store:
        store.save_search("budi", "Kamboja", "country:KH flagged:true", "budi")
    with HttpReceiver() as hook, HttpReceiver() as telegram, smtp_server() as (smtp_port, inbox):
        alerts = write_alerts(
            tmp_path / "alerts.yaml",
            hook.url,
            smtp_port,
            telegram.url,
            "http://127.0.0.1:9/nowhere",
        )
        result, (run,) = crawl(
            demo_sites.url,
            store_url,
            "demo_telegram",
            env={"PATROLI_ALERTS": str(alerts), "TEST_BOT_TOKEN": "42:token"},
            extra=("-s", "PATROLI_ALERT_BACKOFF=0.01"),
        )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    ((_path, payload),) = hook.requests
    assert payload["event"] == "high_risk"
    assert payload["source"] == "demo_telegram"
    assert all(link.startswith("http://127.0.0.1:8000/ads/") for link in payload["links"])
    assert payload["data"]["total"] == len(list(payload["lines"])) or payload["data"]["total"] > 20
    (mail,) = inbox
    assert "berisiko tinggi" in mail["Subject"]
    ((tg_path, message),) = telegram.requests
    assert tg_path == "/bot42:token/sendMessage"
    assert "Kamboja" in message["text"]
    assert any("alert to broken (webhook) failed: unreachable" in note for note in run["notes"])
    with open_store(store_url) as store:
        (recorded,) = store.list_runs(source="demo_telegram")
    assert any("alert to broken" in note for note in recorded["notes"])


def run_intervals(store_url: str, source: str) -> list[tuple[datetime, datetime, str]]:
    with open_store(store_url) as store:
        runs = store.list_runs(source=source, limit=100)
    return sorted(
        (
            datetime.fromisoformat(r["started_at"]),
            datetime.fromisoformat(r["finished_at"]),
            r["status"],
        )
        for r in runs
        if r["started_at"] and r["finished_at"]
    )


def wait_for(condition: Callable[[], bool], output: list[str], timeout: float = 180) -> None:
    """Poll until ``condition`` holds; fail with the scheduler's output when it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "".join(output)[-3000:]
        time.sleep(0.5)


def test_scheduler_runs_sources_on_a_fast_clock_without_overlap_and_catches_a_broken_source(
    fresh_demo_sites: DemoSitesProcess, store_url: str, tmp_path: Path
) -> None:
    registry = tmp_path / "sources.yaml"
    registry.write_text(
        "sources:\n"
        "  - name: tg\n    kind: telegram_channel\n    base_url: '${PATROLI_DEMO_URL}/tg'\n"
        "    channels: [lokerasia_express]\n    schedule: '*/5 * * * *'\n"
        "    private_network: {allow: true, reason: 'the demo sites run on 127.0.0.1'}\n"
        "  - name: fb\n    kind: feed\n    schedule: '*/5 * * * *'\n"
        "    private_network: {allow: true, reason: 'the demo sites run on 127.0.0.1'}\n    start_urls:\n"
        "      - '${PATROLI_DEMO_URL}/rss-bridge/?action=display&bridge=FacebookBridge&context=Group&g=x&format=Mrss'\n"
    )
    env = {
        **os.environ,
        "PATROLI_DEMO_URL": fresh_demo_sites.url,
        "PATROLI_LOCK_DIR": str(tmp_path / "locks"),
        "PATROLI_LOG_LEVEL": "WARNING",
    }
    # A crawl of "fb" that holds the lock and is then killed: the kernel must free the lock.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys,time; from patroli.patrol.locks import SourceLock; "
                "l=SourceLock('fb'); assert l.acquire(); print('held', flush=True); time.sleep(600)"
            ),
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    scheduler = subprocess.Popen(
        [
            str(PATROLI),
            "schedule",
            "--store",
            store_url,
            "--sources",
            str(registry),
            "--jitter",
            "0",
            "--clock-speed",
            "150",
            "--crawl-arg=--no-classify",
            "--crawl-arg=-s",
            "--crawl-arg=PATROLI_RETRY_BACKOFF_BASE=0.05",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert scheduler.stdout is not None
    # list.extend appends each line as it is read, so the test sees the output while it runs.
    reader = threading.Thread(target=lines.extend, args=(scheduler.stdout,), daemon=True)
    reader.start()
    try:
        # Each phase lasts until what it waits for has happened (not a fixed time).
        wait_for(lambda: "fb: due, but the previous run is still going" in "".join(lines), lines)
        killed_at = datetime.now().astimezone()
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
        wait_for(lambda: len(run_intervals(store_url, "fb")) >= 2, lines)
        changed_at = datetime.now().astimezone()
        fresh_demo_sites.set_fault("tg", "layout")  # the channel's markup changes
        wait_for(
            lambda: len(tg := run_intervals(store_url, "tg")) >= 3 and tg[-1][0] >= changed_at,
            lines,
        )
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(timeout=120)
        reader.join(timeout=10)
        scheduler.stdout.close()
    output = "".join(lines)
    assert scheduler.returncode == 0, output[-3000:]
    tg, fb = run_intervals(store_url, "tg"), run_intervals(store_url, "fb")
    assert len(tg) >= 3, output[-3000:]
    assert len(fb) >= 2, output[-3000:]
    for runs in (tg, fb):
        for (_, end, _), (start, _, _) in itertools.pairwise(runs):
            assert end <= start  # never two runs of one source at once
    assert all(start >= killed_at for start, _, _ in fb)  # nothing ran while the lock was held...
    assert "fb: due, but the previous run is still going; skipped" in output  # ...though it was due
    # After the markup change the "items" monitor fails (and alerts), and the run is recorded
    # degraded: the layout change explains the missing ads (issue 11: exit 3, not 4).
    with open_store(store_url) as store:
        latest = store.list_runs(source="tg", limit=1)[0]
    assert latest["status"] == "degraded"
    assert any(note.startswith("monitor items failed") for note in latest["notes"])
    assert any("layout changed" in note or "degraded page" in note for note in latest["notes"])
