"""The installed ``patroli`` command, run as a user runs it: ``run_patroli`` for any command and
``crawl`` for a patrol of the demo sites that returns the run summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PATROLI = Path(sys.executable).parent / "patroli"


def run_patroli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    input_text: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``patroli`` console script, as a user would."""
    full_env = {**os.environ, "PATROLI_LOG_LEVEL": "WARNING", "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [str(PATROLI), *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        input=input_text,
        timeout=timeout,
        check=False,
    )


def crawl(
    demo_url: str,
    store_url: str,
    *sources: str,
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    summary: Path | None = None,
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """``patroli crawl`` against the demo sites; returns the process and its JSON run summary."""
    summary_path = summary or Path(store_url.removeprefix("sqlite:///")).with_suffix(
        ".summary.json"
    )
    result = run_patroli(
        "crawl",
        *sources,
        "--store",
        store_url,
        "--summary-json",
        str(summary_path),
        *extra,
        env={"PATROLI_DEMO_URL": demo_url, **(env or {})},
    )
    runs = json.loads(summary_path.read_text()) if summary_path.exists() else []
    return result, runs


@dataclass(frozen=True, slots=True)
class Measured:
    returncode: int
    peak_rss: int  # bytes: the largest resident set of the patroli process (after its exec)
    stderr: str


def run_patroli_measured(
    *args: str,
    env: dict[str, str] | None = None,
    address_space: int | None = None,
    timeout: float = 600,
) -> Measured:
    """``patroli`` as ``run_patroli`` runs it, measuring its peak memory; ``address_space`` caps its
    virtual memory (``prlimit --as``), so that a test of a memory bug cannot take the machine down."""
    full_env = {**os.environ, "PATROLI_LOG_LEVEL": "WARNING", "COLUMNS": "200", **(env or {})}
    limit = ["prlimit", f"--as={address_space}", "--"] if address_space else []
    with tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            [*limit, str(PATROLI), *args],
            env=full_env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        watchdog = threading.Timer(
            timeout, process.kill
        )  # a hung crawl fails its test, not the session
        watchdog.start()
        stop = threading.Event()
        peak = [0]
        watcher = threading.Thread(target=_watch_peak_rss, args=(process.pid, stop, peak))
        watcher.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
            stop.set()
            watcher.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        return Measured(process.returncode, peak[0] or usage.ru_maxrss * 1024, stderr.read())


def _watch_peak_rss(pid: int, stop: threading.Event, peak: list[int]) -> None:
    """The process's high-water resident set (``VmHWM``), polled every 20 ms once it runs
    patroli. Not wait4's ``ru_maxrss``: that counts the memory of the process it was forked from
    (pytest, near 1 GB late in the suite) before the exec."""
    while not stop.is_set():
        try:
            program = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
            if program and not program.endswith(b"prlimit"):
                for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]) * 1024)
        except (OSError, ValueError):
            pass  # not started yet, or gone
        stop.wait(0.02)
