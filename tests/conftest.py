"""Shared fixtures: the demo sites on loopback (a real HTTP server), temporary stores and run
directories, the search engines; and the markers of the slow groups. Helpers that are not
fixtures live in ``tests/helpers/``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from patroli.demosites.process import DemoSitesProcess
from patroli.storage import Store, open_store
from tests.helpers.cli import ROOT
from tests.helpers.redis import RedisProcess

ENGINE_FAMILIES = frozenset({"opensearch", "elasticsearch"})
REDIS_FIXTURES = frozenset({"redis_server", "own_redis"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the slow groups by what they use, so that ``make test-fast`` leaves them out:
    ``engines`` for a test that needs the search engines (the ``engines`` fixture, or a parameter
    naming an engine family), ``browser`` for one that drives chromium (the ``browser`` fixture),
    ``redis`` for one that needs a real redis-server. ``slow`` and ``promtool`` are set by the
    modules themselves."""
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        params = {str(value) for value in callspec.params.values()} if callspec else set()
        if "engines" in uses or params & ENGINE_FAMILIES:
            item.add_marker(pytest.mark.engines)
        if "browser" in uses:
            item.add_marker(pytest.mark.browser)
        if uses & REDIS_FIXTURES:
            item.add_marker(pytest.mark.redis)


def _var_entries() -> set[str]:
    """What the checkout's var/ holds, two levels deep (var/engines, a link, not followed), less
    SQLite's transient side files (a `make run` in another terminal comes and goes with them)."""
    var = ROOT / "var"
    found = {*var.glob("*"), *(p for p in var.glob("*/*") if not p.is_relative_to(var / "engines"))}
    return {
        str(p.relative_to(var)) for p in found if not p.name.endswith(("-wal", "-shm", "-journal"))
    }


@pytest.fixture(scope="session", autouse=True)
def checkout_var_untouched() -> Iterator[None]:
    """Nothing the tests run leaves anything in the checkout's var/ (jobs, locks, spool, stores):
    every run directory is a temporary one. Fails the session's last test otherwise."""
    before = _var_entries()
    yield
    left = sorted(_var_entries() - before)
    assert not left, f"the tests left these in {ROOT / 'var'}: {left}"


@pytest.fixture(scope="session", autouse=True)
def isolated_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every ``patroli`` the tests start (and this process) runs with temporary run directories,
    the shipped default model (never a developer's own var/models/ACTIVE), evidence in a temporary
    directory and no capture step (tests that check it switch it on), and its pipeline
    batches in a thread of the crawl process instead of spawned worker processes
    (``PATROLI_WORKERS=0``: the same code path minus a process start per crawl; worker processes
    are tested in test_offload.py, test_pipelines.py and test_crawl_end_to_end.py)."""
    env = {
        "PATROLI_MODEL_DIR": str(tmp_path_factory.mktemp("no-local-models")),
        "PATROLI_SPOOL_DIR": str(tmp_path_factory.mktemp("spool")),
        "PATROLI_EVIDENCE_DIR": str(tmp_path_factory.mktemp("evidence")),
        # Capturing renders pages in chromium after each patrol: the tests that check it switch
        # it on (the browser group); the other crawls stay fast.
        "PATROLI_CAPTURE_ENABLED": "0",
        "PATROLI_LOCK_DIR": str(tmp_path_factory.mktemp("locks")),
        "PATROLI_JOBS_DIR": str(tmp_path_factory.mktemp("jobs")),
        # Shared by the session: images are kept by content, so each is read (OCR) once per session.
        "PATROLI_IMAGES_DIR": str(tmp_path_factory.mktemp("images")),
        "PATROLI_WORKERS": "0",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield


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


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    """A real redis-server on a free loopback port, shared by the session (tests keep apart by
    their own key prefix); stopped by PID at the end. Missing redis-server fails, never skips."""
    with RedisProcess(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server of one's own, for tests that stop and start it."""
    with RedisProcess(tmp_path / "redis") as server:
        yield server


@pytest.fixture(scope="session")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Both search engines (real OpenSearch and Elasticsearch nodes), started side by side on first
    use and stopped by PID at the end of the session. An engine that does not come up fails the
    tests that need it (never a skip)."""
    from tests.helpers.engines import start_engines

    started = start_engines(tmp_path_factory.mktemp("engines"))
    yield started
    for engine in started.values():
        engine.remove()


# The store contract's backends (tests/test_storage_contract.py, tests/test_storage_networks.py).
BACKENDS = ["sqlite", "opensearch", "elasticsearch"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, store_url: str) -> Iterator[Callable[[], Store]]:
    """Opens stores on one fresh, empty location of a backend (engines: a unique index prefix);
    each call is another connection, as another analyst's would be."""
    opened: list[Store] = []
    engine = (
        None if request.param == "sqlite" else request.getfixturevalue("engines")[request.param]
    )
    prefix = f"t{uuid.uuid4().hex[:10]}"
    from tests.helpers.engines import open_engine_store

    def open_one() -> Store:
        store = open_store(store_url) if engine is None else open_engine_store(engine, prefix)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()
    if engine is not None:
        engine.drop_prefix(prefix)


@pytest.fixture
def store(backend: Callable[[], Store]) -> Store:
    """A fresh, empty store of each backend."""
    return backend()
