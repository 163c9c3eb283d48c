"""Monitors inside the crawl: the run recorder checks, records and alerts every run when it closes,
whoever started it (``scrapy crawl``, Scrapyd, ``patroli crawl``)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

from crawler.extensions.alerting import ALERTS_FAILED, ALERTS_SENT
from crawler.extensions.runrecorder import CrawlRunRecorder
from crawler.runs import RUN_ID, RUN_NOTES, RUN_RECORDED, RUN_STATUS, recorded_outcome
from crawler.spiders import SPIDER_BY_KIND
from patroli.demosites.process import DemoSitesProcess
from patroli.storage import open_store
from tests.helpers.cli import ROOT
from tests.helpers.receivers import HttpReceiver
from tests.helpers.spiderkit import demo_source

SCRAPY = Path(sys.executable).parent / "scrapy"
DEAD_URL = "http://127.0.0.1:9/nowhere"


def write_alerts(path: Path, hook_url: str) -> Path:
    path.write_text(f"""channels:
  - {{name: ops, kind: webhook, url: "{hook_url}/hook", events: [monitor_failed, high_risk]}}
  - {{name: broken, kind: webhook, url: "{DEAD_URL}", events: [monitor_failed]}}
""")
    return path


@pytest.mark.crawl
def test_scrapy_crawl_records_a_monitored_run_and_alerts_when_a_check_fails(
    fresh_demo_sites: DemoSitesProcess, store_url: str, tmp_path: Path
) -> None:
    # The channels answer with no posts at all: nothing came in, and no layout change explains it
    # (a layout change alone makes the run degraded, not failed: tests/test_real_pages.py).
    fresh_demo_sites.set_fault("tg", "empty")
    with HttpReceiver() as hook:
        env = {
            **os.environ,
            "PATROLI_DEMO_URL": fresh_demo_sites.url,
            "PATROLI_STORE": store_url,
            "PATROLI_ALERTS": str(write_alerts(tmp_path / "alerts.yaml", hook.url)),
        }
        result = subprocess.run(
            [
                str(SCRAPY),
                "crawl",
                "telegram_channel",
                "-a",
                "source=demo_telegram",
                "-s",
                "PATROLI_ALERT_BACKOFF=0.01",
                "-s",
                "LOG_LEVEL=WARNING",
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-3000:]  # a failing channel never fails the crawl
    with open_store(store_url) as store:
        (run,) = store.list_runs(source="demo_telegram")
    assert run["status"] == "failed"
    assert any(note.startswith("monitor items failed: no ads") for note in run["notes"])
    assert any("alert to broken (webhook) failed: unreachable" in note for note in run["notes"])
    assert run["stats"][RUN_ID] == run["run_id"]
    ((path, alert),) = hook.requests
    assert path == "/hook"
    assert (alert["event"], alert["source"]) == ("monitor_failed", "demo_telegram")
    assert alert["data"] == {"checks": ["items"], "run_id": run["run_id"]}
    assert any(line.startswith("items: no ads") for line in alert["lines"])


def history_run(store: Any, day: int, items: int) -> None:
    store.record_run(
        {
            "run_id": f"r{day}",
            "source": "demo_telegram",
            "started_at": f"2026-11-{day:02d}T02:00:00+00:00",
            "finished_at": f"2026-11-{day:02d}T02:05:00+00:00",
            "status": "ok",
            "pages": 10,
            "items": items,
            "new": 0,
            "flagged": 0,
            "errors": 0,
            "degraded_pages": 0,
            "notes": [],
            "stats": {"patroli/incremental/known": 100},
        }
    )


def closed_crawl(settings: dict[str, Any], stats: dict[str, Any]) -> tuple[Any, Any]:
    """A crawler whose spider just closed with ``stats``, after its recorder handled it."""
    source = demo_source("demo_telegram")
    crawler = get_crawler(SPIDER_BY_KIND[source.kind], settings)
    spider = crawler.spidercls.from_crawler(crawler, source=source)
    recorder = CrawlRunRecorder.from_crawler(crawler)
    assert crawler.stats is not None
    recorder.spider_opened(spider)
    crawler.stats.set_value("start_time", datetime(2026, 12, 1, 2, tzinfo=UTC))
    for key, value in stats.items():
        crawler.stats.set_value(key, value)
    asyncio.run(recorder.spider_closed(spider, "finished"))
    return crawler, source


def test_recorder_compares_with_history_records_the_run_and_reports_the_outcome(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(store_url) as store:
        for day in range(20, 27):
            history_run(store, day, 100)
    with HttpReceiver() as hook:
        monkeypatch.setenv("PATROLI_ALERTS", str(write_alerts(tmp_path / "alerts.yaml", hook.url)))
        crawler, source = closed_crawl(
            {"PATROLI_STORE_URL": store_url, "PATROLI_ALERT_BACKOFF": 0.01},
            {"item_scraped_count": 30, "response_received_count": 10},
        )
    with open_store(store_url) as store:
        run = store.list_runs(source="demo_telegram", limit=1)[0]
    assert run["run_id"] == crawler.stats.get_value(RUN_ID)
    assert (run["status"], run["items"]) == ("failed", 30)
    assert run["notes"][0] == "monitor volume failed: 30 ads seen against a recent median of 100"
    assert run["notes"][1].startswith("alert to broken (webhook) failed: unreachable")
    ((_, alert),) = hook.requests
    assert alert["data"]["checks"] == ["volume"]
    # What the crawl's starter reads back is what was recorded.
    stats = crawler.stats
    assert (stats.get_value(RUN_STATUS), stats.get_value(RUN_NOTES)) == ("failed", run["notes"])
    assert (
        stats.get_value(RUN_RECORDED),
        stats.get_value(ALERTS_SENT),
        stats.get_value(ALERTS_FAILED),
    ) == (1, 1, 1)
    outcome = recorded_outcome(source, crawler)
    assert (outcome.run_id, outcome.status, outcome.notes) == (
        run["run_id"],
        "failed",
        run["notes"],
    )


def test_recorder_without_monitors_still_records_and_an_unreachable_store_is_a_note(
    store_url: str, tmp_path: Path
) -> None:
    with open_store(store_url) as store:
        history_run(store, 20, 100)
    crawler, _ = closed_crawl(
        {"PATROLI_STORE_URL": store_url, "PATROLI_MONITORS_ENABLED": False},
        {"item_scraped_count": 0},
    )
    with open_store(store_url) as store:
        assert store.list_runs(source="demo_telegram", limit=1)[0]["status"] == "ok"
    (tmp_path / "a-file").write_text("")
    nowhere = f"sqlite:///{tmp_path / 'a-file' / 'patroli.db'}"
    crawler, source = closed_crawl({"PATROLI_STORE_URL": nowhere}, {"item_scraped_count": 5})
    outcome = recorded_outcome(source, crawler)
    assert outcome.status == "ok"
    assert outcome.notes[-1].startswith("run not recorded: cannot open SQLite store")
    assert crawler.stats.get_value(RUN_RECORDED) is None


def test_a_crawl_stopped_before_its_spider_opened_is_failed_not_ok() -> None:
    source = demo_source("demo_telegram")
    outcome = recorded_outcome(source, get_crawler(SPIDER_BY_KIND[source.kind]))
    assert (outcome.status, outcome.notes, outcome.pages) == (
        "failed",
        ["failed: did not start"],
        0,
    )
