"""The distributed frontier's parts against a real Redis (``redis`` marker): the request format, the
exact per-run duplicate filter, leases and lost workers, the run lock, outages, pooled connections,
the shared politeness budget and one run's stats from several workers. Whole crawls of several
workers are in ``tests/test_frontier_crawl.py``."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
import uuid

import pytest
import redis
from scrapy.http import Request

from crawler.frontier import scripts, serializer
from crawler.frontier.connection import BACKOFF_MAX, FrontierDown, Link, client
from crawler.frontier.dupefilter import FrontierDupeFilter
from crawler.frontier.keys import RunKeys, host_keys
from crawler.frontier.runs import (
    WORKERS_STAT,
    FrontierRun,
    aggregate_stats,
    open_run,
)
from tests.helpers.redis import RedisProcess


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def link(redis_server: RedisProcess) -> Link:
    return Link(redis_server.url, max_outage=60)


def opened(link: Link, prefix: str, worker: str, lease: float = 5.0) -> FrontierRun:
    run, _ = open_run(link, prefix, "src", worker=worker, lease=lease, lock_ttl=30, ttl=600)
    assert run is not None
    return run


def push(link: Link, keys: RunKeys, fingerprint: str, data: bytes, force: bool = False) -> bool:
    return bool(
        link.script(scripts.PUSH)(
            keys=[keys.seen, keys.queue], args=[fingerprint, data, 0, "1" if force else "0"]
        )
    )


def pop(link: Link, keys: RunKeys, worker: str) -> list[bytes] | None:
    result: list[bytes] | None = link.script(scripts.POP)(
        keys=[keys.queue, keys.inflight, keys.owners, keys.seq], args=[worker]
    )
    return result


# --- the request format -----------------------------------------------------------------------


def test_requests_travel_as_json_with_bytes_kept_and_refuse_what_json_cannot_hold() -> None:
    request = Request(
        "https://example.test/lowongan?page=2",
        method="POST",
        body=b"q=kamboja\xff",
        headers={"X-Token": b"\x00\x01"},
        cb_kwargs={"page": 2, "listing_url": "https://x.test/"},
        meta={"patroli_ad": {"native_id": "123", "fingerprint": "ab"}, "retry_times": 1},
    )
    data = serializer.dumps(request.to_dict())
    assert not data.startswith(b"\x80")  # not a pickle
    back = serializer.loads(data)
    assert back["body"] == b"q=kamboja\xff"
    assert back["headers"][b"X-Token"] == [b"\x00\x01"]
    assert back["cb_kwargs"] == {"page": 2, "listing_url": "https://x.test/"}
    assert back["meta"]["patroli_ad"] == {"native_id": "123", "fingerprint": "ab"}
    with pytest.raises(TypeError, match="object"):
        serializer.dumps({"meta": {"callback_state": object()}})


# --- the duplicate filter ---------------------------------------------------------------------


def test_the_seen_set_is_exact_for_fifty_thousand_distinct_urls(link: Link, prefix: str) -> None:
    """No Bloom filter: every unseen URL is queued, every repeat is refused."""
    keys = RunKeys(prefix, "src", "r1")
    dupefilter = FrontierDupeFilter(link, keys.seen)
    fingerprints = [
        dupefilter.request_fingerprint(Request(f"https://example.test/iklan/{i}"))
        for i in range(50_000)
    ]
    assert len(set(fingerprints)) == 50_000
    with link.redis.pipeline(transaction=False) as pipe:
        for fp in fingerprints:
            pipe.sadd(keys.seen, fp)
        added = pipe.execute()
    assert sum(added) == 50_000  # every one new
    again = Request("https://example.test/iklan/49999")
    assert dupefilter.request_seen(again)
    assert not dupefilter.request_seen(Request("https://example.test/iklan/50000"))


def test_marking_and_queueing_are_one_step_and_a_failure_is_forgotten(
    link: Link, prefix: str
) -> None:
    keys = RunKeys(prefix, "src", "r1")
    dupefilter = FrontierDupeFilter(link, keys.seen)
    request = Request("https://example.test/iklan/7")
    fingerprint = dupefilter.request_fingerprint(request)
    assert push(link, keys, fingerprint, b"first")
    assert not push(link, keys, fingerprint, b"again")  # seen: not queued twice
    assert push(link, keys, fingerprint, b"retry", force=True)  # a retry passes
    assert link.redis.zcard(keys.queue) == 2
    dupefilter.forget(request)  # its fetch failed for good
    assert push(link, keys, fingerprint, b"found again on another listing")


def test_an_ad_whose_listing_changed_is_not_a_duplicate(link: Link, prefix: str) -> None:
    dupefilter = FrontierDupeFilter(link, RunKeys(prefix, "src", "r1").seen)

    def ad(fingerprint: str) -> Request:
        meta = {"patroli_ad": {"native_id": "42", "fingerprint": fingerprint}}
        return Request("https://example.test/iklan/42", meta=meta)

    assert not dupefilter.request_seen(ad("v1"))
    assert dupefilter.request_seen(ad("v1"))
    assert not dupefilter.request_seen(ad("v2"))


def test_each_run_has_its_own_seen_set_that_expires(link: Link, prefix: str) -> None:
    first = opened(link, prefix, "w1")
    dupefilter = FrontierDupeFilter(link, first.keys.seen)
    assert not dupefilter.request_seen(Request("https://example.test/a"))
    first.expire_later()
    assert 0 < link.redis.pttl(first.keys.seen) <= 600_000
    first.close({"status": "ok"})
    second = opened(link, prefix, "w1")
    assert second.run_id != first.run_id
    assert not FrontierDupeFilter(link, second.keys.seen).request_seen(
        Request("https://example.test/a")
    )


# --- leases, lost workers, the run lock -------------------------------------------------------


def test_a_lost_workers_requests_go_back_to_the_queue(link: Link, prefix: str) -> None:
    alive = opened(link, prefix, "alive", lease=30)
    lost = opened(link, prefix, "lost", lease=1)
    keys = alive.keys
    for i in range(3):
        push(link, keys, f"fp{i}", f"request {i}".encode())
    taken_by_lost = [pop(link, keys, "lost") for _ in range(2)]
    taken_by_alive = pop(link, keys, "alive")
    assert taken_by_lost[0]
    assert taken_by_alive
    assert alive.sizes() == (0, 3)
    assert alive.requeue_lost() == (0, 0)  # heartbeat still fresh
    time.sleep(1.3)  # the lost worker's heartbeat lapses (nobody renews it)
    alive.renew()
    assert alive.requeue_lost() == (2, 1)
    assert alive.sizes() == (2, 1)
    assert sorted(link.redis.zrange(keys.queue, 0, -1)) == sorted(t[1] for t in taken_by_lost)
    assert alive.meta()["workers_lost"] == "1"
    assert lost.outcome() is None


def test_one_run_per_source_a_second_crawl_joins_it_and_one_worker_records_it(
    link: Link, prefix: str
) -> None:
    first, was_opened = open_run(link, prefix, "src", worker="a", lease=5, lock_ttl=30, ttl=600)
    second, second_opened = open_run(link, prefix, "src", worker="b", lease=5, lock_ttl=30, ttl=600)
    assert first is not None
    assert second is not None
    assert was_opened
    assert not second_opened
    assert first.run_id == second.run_id
    assert link.redis.get(first.keys.lock) == first.run_id.encode()
    assert first.leave() == 1
    assert second.leave() == 0
    claims = [first.claim_recorder(), second.claim_recorder()]
    assert claims.count(True) == 1
    nothing, _ = open_run(link, prefix, "src", worker="c", lease=5, lock_ttl=30, ttl=600)
    assert nothing is None  # closing: not joinable, and the lock still holds
    first.close({"status": "ok", "notes": [], "stats": {}})
    assert link.redis.get(first.keys.lock) is None
    joined_only, _ = open_run(
        link, prefix, "src", worker="c", lease=5, lock_ttl=30, ttl=600, join_only=True
    )
    assert joined_only is None  # workers only join open runs
    third, third_opened = open_run(link, prefix, "src", worker="c", lease=5, lock_ttl=30, ttl=600)
    assert third is not None
    assert third_opened
    assert third.run_id != first.run_id


def test_resume_takes_the_lapsed_run_again(link: Link, prefix: str) -> None:
    first = opened(link, prefix, "a")
    link.redis.delete(first.keys.lock)  # every worker died; the lock lapsed
    resumed, was_opened = open_run(
        link, prefix, "src", worker="b", lease=5, lock_ttl=30, ttl=600, resume=True
    )
    assert resumed is not None
    assert not was_opened
    assert resumed.run_id == first.run_id


def test_stats_of_several_workers_make_one_run() -> None:
    total = aggregate_stats(
        [
            {
                "item_scraped_count": 30,
                "response_received_count": 40,
                "patroli/incremental/known": 9,
                "start_time": "2026-12-01T02:00:05+00:00",
                "finish_time": "2026-12-01T02:10:00+00:00",
                "patroli/degraded_urls": ["https://x.test/1"],
                "finish_reason": "finished",
            },
            {
                "item_scraped_count": 12,
                "response_received_count": 15,
                "patroli/incremental/known": 9,
                "start_time": "2026-12-01T02:00:01+00:00",
                "finish_time": "2026-12-01T02:12:00+00:00",
                "patroli/degraded_urls": ["https://x.test/2", "https://x.test/1"],
            },
        ]
    )
    assert total["item_scraped_count"] == 42
    assert total["response_received_count"] == 55
    assert total["patroli/incremental/known"] == 9  # the same store, not twice the ads
    assert total["start_time"] == "2026-12-01T02:00:01+00:00"
    assert total["elapsed_time_seconds"] == 719.0
    assert total["patroli/degraded_urls"] == ["https://x.test/1", "https://x.test/2"]
    assert total[WORKERS_STAT] == 2


# --- outages and connections ------------------------------------------------------------------


def test_an_unreachable_redis_is_asked_again_with_backoff_not_spun_on(
    own_redis: RedisProcess,
) -> None:
    now = [1000.0]
    link = Link(own_redis.url, max_outage=100, clock=lambda: now[0])
    attempts = []

    def ping() -> bool:
        attempts.append(now[0])
        return bool(link.redis.ping())

    assert link.call(ping)
    own_redis.stop()
    with pytest.raises(FrontierDown):
        link.call(ping)
    for _ in range(600):  # ten simulated minutes, asked every second
        now[0] += 1
        with contextlib.suppress(FrontierDown):
            link.call(ping)
    gaps = [b - a for a, b in itertools.pairwise(attempts[1:])]
    assert gaps[:5] == [1, 2, 4, 8, 16]
    assert max(gaps) == BACKOFF_MAX
    assert len(attempts) < 30  # not 600
    assert link.gave_up()
    own_redis.start()
    now[0] += BACKOFF_MAX
    assert link.call(ping)
    assert link.up


def test_a_worker_holds_a_few_pooled_connections_however_busy(redis_server: RedisProcess) -> None:
    url = redis_server.url.replace("/0", "/1")  # a client of its own in this process
    shared = client(url)
    assert client(url) is shared
    watcher = redis.Redis.from_url(url)
    before = len(watcher.client_list())
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(200):
                client(url).incr("storm")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert int(watcher.get("storm") or 0) == 64 * 200
    assert len(watcher.client_list()) - before <= 8  # MAX_CONNECTIONS, not 64
    watcher.delete("storm")
    watcher.close()


# --- one politeness budget per host -----------------------------------------------------------


def test_a_hosts_budget_is_shared_by_every_worker(link: Link, prefix: str) -> None:
    slots, next_key = host_keys(prefix, "pasar.test")
    acquire = link.script(scripts.ACQUIRE_HOST)
    granted = [acquire(keys=[slots, next_key], args=[f"w{i}", 3, 0, 30_000]) for i in range(5)]
    assert granted[:3] == [0, 0, 0]
    assert all(wait > 0 for wait in granted[3:])
    link.redis.zrem(slots, "w0")  # a response came back
    assert acquire(keys=[slots, next_key], args=["w5", 3, 0, 30_000]) == 0
    # A delay between starts, whoever starts them:
    _, delayed = host_keys(prefix, "slow.test")
    slots2 = host_keys(prefix, "slow.test")[0]
    assert acquire(keys=[slots2, delayed], args=["a", 10, 500, 30_000]) == 0
    wait = acquire(keys=[slots2, delayed], args=["b", 10, 500, 30_000])
    assert 400 <= wait <= 500
