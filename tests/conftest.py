"""Shared fixtures: the demo sites on loopback (a real HTTP server), temporary stores, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from patroli.demosites.process import DemoSitesProcess

ROOT = Path(__file__).resolve().parent.parent
PATROLI = Path(sys.executable).parent / "patroli"


@pytest.fixture(scope="session", autouse=True)
def shipped_model_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests use the shipped default model, never a developer's own var/models/ACTIVE."""
    previous = os.environ.get("PATROLI_MODEL_DIR")
    os.environ["PATROLI_MODEL_DIR"] = str(tmp_path_factory.mktemp("no-local-models"))
    yield
    if previous is None:
        os.environ.pop("PATROLI_MODEL_DIR", None)
    else:
        os.environ["PATROLI_MODEL_DIR"] = previous


@pytest.fixture(scope="session")
def demo_sites() -> Iterator[DemoSitesProcess]:
    """The bundled demo sites in a child process, shared by the session (faults stay off)."""
    with DemoSitesProcess(port=0) as sites:
        yield sites


@pytest.fixture
def fresh_demo_sites() -> Iterator[DemoSitesProcess]:
    """Demo sites of one's own, for tests that switch faults on."""
    with DemoSitesProcess(port=0) as sites:
        yield sites


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'patroli.db'}"


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


# --- search engines (issue 5): real OpenSearch and Elasticsearch nodes, once per session --------


@pytest.fixture(scope="session")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Both engines, started side by side on first use and stopped by PID at the end of the
    session. An engine that does not come up fails the tests that need it (never a skip)."""
    from engines import start_engines

    started = start_engines(tmp_path_factory.mktemp("engines"))
    yield started
    for engine in started.values():
        engine.remove()


def open_engine_store(engine: Any, prefix: str = "") -> Any:
    """A store on a fresh, empty set of indices of ``engine`` (a unique index prefix)."""
    from patroli.storage import open_store

    prefix = prefix or f"t{uuid.uuid4().hex[:10]}"
    return open_store(engine.store_url(prefix), env=engine.client_env)


@pytest.fixture(scope="session", autouse=True)
def spool_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Crawls in tests spool (if ever) into a temporary directory, never into the work tree."""
    previous = os.environ.get("PATROLI_SPOOL_DIR")
    os.environ["PATROLI_SPOOL_DIR"] = str(tmp_path_factory.mktemp("spool"))
    yield
    if previous is None:
        os.environ.pop("PATROLI_SPOOL_DIR", None)
    else:
        os.environ["PATROLI_SPOOL_DIR"] = previous
