"""Whole crawls of several workers on one Redis frontier over the demo sites (``redis`` marker).

Each worker is a real ``patroli crawl --frontier`` process, as deployed. The issue's promises: every
ad stored exactly once, a worker killed with SIGKILL mid-crawl loses nothing, a Redis stopped for
30 s mid-crawl is waited out, a URL whose fetch failed is fetched again on the next run, the run ends
by itself when its frontier is drained, and its one run record counts every worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from crawler.frontier.keys import RunKeys, lock_key
from patroli.demosites.process import DemoSitesProcess
from patroli.storage import open_store
from tests.helpers.cli import PATROLI, ROOT
from tests.helpers.demotruth import truth
from tests.helpers.redis import RedisProcess

SOURCE = "demo_pasarloka"


@pytest.fixture
def slow_demo_sites() -> Iterator[DemoSitesProcess]:
    """The demo sites answering after 0.25 s, so that a crawl lasts long enough to disturb."""
    with DemoSitesProcess(port=0, latency=0.25) as sites:
        yield sites


@pytest.fixture
def slower_demo_sites() -> Iterator[DemoSitesProcess]:
    """The demo sites answering after 0.5 s: the crawl outlasts a second worker's start-up on a
    loaded machine, so that Redis goes away while both are at work."""
    with DemoSitesProcess(port=0, latency=0.5) as sites:
        yield sites


def pasarloka_truth() -> set[str]:
    return {ad_id for ad_id, record in truth().items() if record["source"] == SOURCE}


class Workers:
    """``patroli crawl SOURCE --frontier URL`` processes of one test."""

    def __init__(self, tmp_path: Path, demo_url: str, frontier: str, **env: str) -> None:
        self.tmp_path = tmp_path
        self.store_url = f"sqlite:///{tmp_path / 'patroli.db'}"
        self.frontier = frontier
        self.prefix = f"t{uuid.uuid4().hex[:8]}"
        self.env = {
            **os.environ,
            "PATROLI_DEMO_URL": demo_url,
            "PATROLI_FRONTIER_PREFIX": self.prefix,
            "PATROLI_LOG_LEVEL": "INFO",
            **env,
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self.redis = redis.Redis.from_url(frontier)

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        number = len(self.processes)
        log = (self.tmp_path / f"worker{number}.log").open("wb")
        process = subprocess.Popen(
            [
                str(PATROLI),
                "crawl",
                SOURCE,
                "--store",
                self.store_url,
                "--frontier",
                self.frontier,
                "--no-classify",
                "--summary-json",
                str(self.tmp_path / f"summary{number}.json"),
                "-s",
                "CONCURRENT_REQUESTS_PER_DOMAIN=3",
                "-s",
                "PATROLI_RETRY_BACKOFF_BASE=0.1",
                *extra,
            ],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.processes.append(process)
        return process

    def summary(self, number: int) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = json.loads(
            (self.tmp_path / f"summary{number}.json").read_text()
        )
        return data

    def log(self, number: int) -> str:
        return (self.tmp_path / f"worker{number}.log").read_text(errors="replace")[-4000:]

    def run_keys(self) -> RunKeys:
        run_id = self.redis.get(lock_key(self.prefix, SOURCE))
        assert run_id, "no run open"
        return RunKeys(self.prefix, SOURCE, run_id.decode())

    def holds(self, process: subprocess.Popen[bytes], keys: RunKeys) -> int:
        """Requests leased to ``process`` now."""
        owners = self.redis.hvals(keys.owners)
        return sum(1 for owner in owners if f"-{process.pid}-" in owner.decode())

    def wait_all(self, timeout: float = 240) -> None:
        """Every live worker ends by itself (no signal is sent)."""
        deadline = time.monotonic() + timeout
        for number, process in enumerate(self.processes):
            if process.returncode is not None:
                continue
            try:
                process.wait(max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                raise AssertionError(
                    f"worker {number} did not end by itself:\n{self.log(number)}"
                ) from None

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        self.redis.close()

    def stored(self) -> tuple[list[str], list[dict[str, Any]]]:
        """(ad id of every stored row, run records newest first)."""
        with contextlib.closing(sqlite3.connect(self.store_url.removeprefix("sqlite:///"))) as db:
            rows = [row[0] for row in db.execute("select ad_id from ads")]
        with open_store(self.store_url) as store:
            runs = store.list_runs(source=SOURCE, limit=10)
        return rows, runs


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stored_count(workers: Workers) -> int:
    try:
        return len(workers.stored()[0])
    except Exception:  # noqa: BLE001 - the file may not exist yet
        return 0


def test_two_workers_a_sigkill_and_one_run_record(
    tmp_path: Path, slow_demo_sites: DemoSitesProcess, redis_server: RedisProcess
) -> None:
    workers = Workers(tmp_path, slow_demo_sites.url, redis_server.url, PATROLI_FRONTIER_LEASE="3")
    # Small store batches: ads are stored while the crawl goes on, not all at its end (176 ads fit
    # in one default batch), so that "the second worker holds requests and ads are stored" can be
    # seen at one moment of a crawl that lasts some 20 s.
    small_batches = ("-s", "PATROLI_STORE_BATCH_SIZE=10")
    try:
        first = workers.start(*small_batches)
        wait_for(lambda: workers.redis.exists(lock_key(workers.prefix, SOURCE)) == 1, 60, "the run")
        keys = workers.run_keys()
        second = workers.start(*small_batches)
        wait_for(
            lambda: workers.holds(second, keys) > 0 and stored_count(workers) > 0,
            90,
            "the second worker at work",
        )
        connections = len(workers.redis.client_list())
        held = workers.holds(second, keys)
        second.send_signal(signal.SIGKILL)  # mid-crawl: it holds leased requests
        second.wait()
        workers.wait_all()
        assert first.returncode in (0, 3), workers.log(0)
        rows, runs = workers.stored()
        expected = pasarloka_truth()
        assert sorted(rows) == sorted(expected)  # every ad, each once: nothing lost
        assert len(runs) == 1  # one run, one record, for both workers
        record = runs[0]
        assert record["run_id"] == keys.run_id
        assert record["stats"]["patroli/run/workers"] == 2
        assert record["stats"]["patroli/run/workers_lost"] == 1
        assert record["stats"]["patroli/frontier/requeued"] >= held
        assert record["new"] == len(expected)  # no ad stored as new twice
        assert record["status"] in ("ok", "degraded")
        assert workers.summary(0)[0]["stats"]["patroli/run/workers"] == 2
        # The run is over in Redis: nothing queued or in flight, the lock free.
        assert workers.redis.zcard(keys.queue) == 0
        assert workers.redis.hlen(keys.inflight) == 0
        assert not workers.redis.exists(lock_key(workers.prefix, SOURCE))
        assert connections <= 2 * 8 + 2  # pooled: a handful per worker, not one per request
    finally:
        workers.stop_all()


def test_a_redis_outage_of_thirty_seconds_is_waited_out(
    tmp_path: Path, slower_demo_sites: DemoSitesProcess, own_redis: RedisProcess
) -> None:
    workers = Workers(tmp_path, slower_demo_sites.url, own_redis.url, PATROLI_FRONTIER_LEASE="60")
    try:
        first = workers.start()
        wait_for(lambda: workers.redis.exists(lock_key(workers.prefix, SOURCE)) == 1, 60, "the run")
        second = workers.start()
        keys = workers.run_keys()
        wait_for(
            lambda: workers.holds(second, keys) > 0 and stored_count(workers) > 5,
            90,
            "both workers at work",
        )
        workers.redis.close()
        own_redis.stop()
        cpu_before = [cpu_seconds(p.pid) for p in (first, second)]
        time.sleep(30)
        assert first.poll() is None, workers.log(0)  # waiting, not crashed
        assert second.poll() is None, workers.log(1)
        spent = [cpu_seconds(p.pid) - b for p, b in zip((first, second), cpu_before, strict=True)]
        assert max(spent) < 6.0  # waiting, not spinning (the crawl itself finishes its pages)
        own_redis.start()
        workers.redis = redis.Redis.from_url(own_redis.url)
        workers.wait_all()
        assert first.returncode in (0, 3), workers.log(0)
        assert second.returncode in (0, 3), workers.log(1)
        rows, runs = workers.stored()
        expected = pasarloka_truth()
        assert sorted(rows) == sorted(expected)
        assert len(runs) == 1
        assert runs[0]["stats"]["patroli/run/workers"] == 2
        assert runs[0]["stats"]["patroli/frontier/outages"] >= 2  # each worker saw it
        assert runs[0]["new"] == len(expected)
        assert "unreachable" in workers.log(0)
    finally:
        workers.stop_all()


def test_a_url_whose_fetch_failed_is_fetched_again_on_the_next_run(
    tmp_path: Path, fresh_demo_sites: DemoSitesProcess, redis_server: RedisProcess
) -> None:
    workers = Workers(tmp_path, fresh_demo_sites.url, redis_server.url)
    try:
        fresh_demo_sites.set_fault("pasarloka", "broken")  # two ad pages answer 404 and 500
        workers.start()
        workers.wait_all()
        rows, runs = workers.stored()
        expected = pasarloka_truth()
        missing = expected - set(rows)
        assert len(missing) == 2, workers.log(0)
        assert runs[0]["stats"]["patroli/detail_failed"] == 2
        fresh_demo_sites.set_fault("pasarloka", "ok")
        workers.start()  # the next run
        workers.wait_all()
        rows, runs = workers.stored()
        assert sorted(rows) == sorted(expected)  # the failed ones came back
        assert len(runs) == 2
        assert runs[0]["run_id"] != runs[1]["run_id"]
        assert runs[0]["new"] == 2
    finally:
        workers.stop_all()


def test_two_workers_skip_unchanged_ads_and_mark_gone_only_what_left_the_listing(
    tmp_path: Path, fresh_demo_sites: DemoSitesProcess, redis_server: RedisProcess
) -> None:
    """Incremental crawling across workers: each worker sees part of the listing, the run as a
    whole decides what is gone (never an ad another worker saw)."""
    workers = Workers(tmp_path, fresh_demo_sites.url, redis_server.url)
    try:
        workers.start()
        workers.wait_all()
        fresh_demo_sites.set_fault("pasarloka", "removed")  # three ads leave the listing
        workers.start()
        workers.start()
        workers.wait_all()
        rows, runs = workers.stored()
        assert sorted(rows) == sorted(pasarloka_truth())  # kept, as evidence
        second = runs[0]
        assert second["stats"]["patroli/run/workers"] == 2
        assert second["stats"]["patroli/incremental/skipped"] == len(rows) - 3  # not fetched again
        assert second["stats"]["patroli/incremental/gone"] == 3
        with contextlib.closing(
            sqlite3.connect(workers.store_url.removeprefix("sqlite:///"))
        ) as db:
            gone = db.execute("select count(*) from ads where gone_at is not null").fetchone()[0]
        assert gone == 3
    finally:
        workers.stop_all()
