"""The installed ``patroli`` command, run as a user runs it: ``run_patroli`` for any command and
``crawl`` for a patrol of the demo sites that returns the run summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
