"""The downloader middlewares on their own, built by ``from_crawler`` on a test crawler with the
project's settings: retries that back off (and honour ``Retry-After``), and the incremental
middleware over a real SQLite store. The same behaviour over real HTTP is in test_spiders_http.py
and test_incremental.py."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from twisted.internet.error import ConnectionRefusedError as TxConnectionRefused

from crawler.incremental import IncrementalMiddleware, fingerprint
from crawler.items import make_ad_id
from crawler.middlewares import BackoffRetryMiddleware, retry_after_seconds
from patroli.storage import open_store
from tests.helpers.components import build, crawler_with, stats

# --- retries that back off ---------------------------------------------------------------------


def retrying(**settings: Any) -> BackoffRetryMiddleware:
    return build(BackoffRetryMiddleware, crawler_with(**settings))


def answer(request: Request, status: int, **headers: str) -> Response:
    return Response(request.url, status=status, headers=headers, request=request)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after_seconds(b"120") == 120.0
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= retry_after_seconds(in_a_minute.encode()) <= 60  # type: ignore[operator]
    an_hour_ago = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert retry_after_seconds(an_hour_ago.encode()) == 0.0
    assert retry_after_seconds(b"soon") is None
    assert retry_after_seconds(None) is None


def test_the_wait_doubles_per_attempt_up_to_the_cap() -> None:
    middleware = retrying(PATROLI_RETRY_BACKOFF_BASE=0.5, PATROLI_RETRY_BACKOFF_MAX=3.0)
    waits = [
        middleware.delay_for(Request("http://demo.test/", meta={"retry_times": n}))
        for n in range(5)
    ]
    assert waits == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_retry_after_on_429_and_503_asks_for_longer_but_never_past_the_cap() -> None:
    middleware = retrying(PATROLI_RETRY_BACKOFF_BASE=0.5, PATROLI_RETRY_BACKOFF_MAX=30.0)
    request = Request("http://demo.test/")
    assert middleware.delay_for(request, answer(request, 429, **{"Retry-After": "7"})) == 7.0
    assert middleware.delay_for(request, answer(request, 503, **{"Retry-After": "3600"})) == 30.0
    # a Retry-After shorter than the backoff does not shorten it, and other codes ignore it
    assert middleware.delay_for(request, answer(request, 503, **{"Retry-After": "0"})) == 0.5
    assert middleware.delay_for(request, answer(request, 500, **{"Retry-After": "7"})) == 0.5


def test_a_retryable_answer_is_retried_after_the_wait_and_counted() -> None:
    middleware = retrying(PATROLI_RETRY_BACKOFF_BASE=0.05)
    request = Request("http://demo.test/lowongan")
    started = time.monotonic()
    retry = asyncio.run(middleware.process_response(request, answer(request, 503)))
    waited = time.monotonic() - started
    assert isinstance(retry, Request)
    assert retry.url == request.url
    assert retry.meta["retry_times"] == 1
    assert waited >= 0.05
    counted = stats(middleware.crawler)
    assert counted["patroli/retry/backoff_ms"] == 50
    assert counted["retry/count"] == 1


def test_retries_give_up_after_retry_times_and_hand_back_the_answer() -> None:
    middleware = retrying(PATROLI_RETRY_BACKOFF_BASE=0.01, RETRY_TIMES=2)
    request: Request | Response = Request("http://demo.test/x")
    seen = []
    for _ in range(4):
        assert isinstance(request, Request)
        seen.append(request)
        request = asyncio.run(middleware.process_response(request, answer(request, 500)))
        if isinstance(request, Response):
            break
    assert isinstance(request, Response)
    assert request.status == 500
    assert len(seen) == 3  # the first request and two retries
    counted = stats(middleware.crawler)
    assert counted["retry/max_reached"] == 1
    assert counted["patroli/retry/backoff_ms"] == 10 + 20


def test_good_answers_and_dont_retry_pass_straight_through() -> None:
    middleware = retrying()
    request = Request("http://demo.test/")
    ok = answer(request, 200)
    assert asyncio.run(middleware.process_response(request, ok)) is ok
    marked = Request("http://demo.test/", meta={"dont_retry": True})
    failed = answer(marked, 503)
    assert asyncio.run(middleware.process_response(marked, failed)) is failed
    assert "patroli/retry/backoff_ms" not in stats(middleware.crawler)


def test_connection_errors_are_retried_with_backoff_and_other_errors_are_not() -> None:
    middleware = retrying(PATROLI_RETRY_BACKOFF_BASE=0.02)
    request = Request("http://demo.test/")
    retry = asyncio.run(middleware.process_exception(request, TxConnectionRefused()))
    assert isinstance(retry, Request)
    assert retry.meta["retry_times"] == 1
    assert asyncio.run(middleware.process_exception(request, ValueError("a bug"))) is None
    assert stats(middleware.crawler)["patroli/retry/backoff_ms"] == 20


# --- incremental --------------------------------------------------------------------------------


def known_record(native_id: str, **extra: Any) -> dict[str, Any]:
    ad_id = make_ad_id("demo_unit", native_id)
    return {
        "ad_id": ad_id,
        "source": "demo_unit",
        "source_kind": "classifieds",
        "native_id": native_id,
        "url": f"http://demo.test/ad/{native_id}",
        "title": f"Loker {native_id}",
        "text": "Loker pabrik Taiwan",
        "crawled_at": "2026-11-01T00:00:00+00:00",
        "content_hash": f"h{native_id}",
        "html": "<p>v1</p>",
        "extra": extra,
    }


def detail(native_id: str, card: str = "", **meta: Any) -> Request:
    ad = {"native_id": native_id, "fingerprint": fingerprint(card) if card else ""}
    return Request(f"http://demo.test/ad/{native_id}", meta={"patroli_ad": ad, **meta})


@pytest.fixture
def incremental(store_url: str) -> IncrementalMiddleware:
    """The middleware of a crawl of source ``demo_unit`` whose store knows three of its ads."""
    with open_store(store_url) as store:
        store.upsert_ads(
            [
                known_record("1", fingerprint=fingerprint("card one")),
                known_record("2", fingerprint=fingerprint("card two"), etag='"v2"'),
                known_record("3", fingerprint=fingerprint("card three")),
            ]
        )
    middleware = build(IncrementalMiddleware, crawler_with(PATROLI_STORE_URL=store_url))
    assert middleware.crawler.spider is not None
    asyncio.run(middleware.spider_opened(middleware.crawler.spider))
    return middleware


def test_incremental_loads_what_the_store_knows(incremental: IncrementalMiddleware) -> None:
    assert stats(incremental.crawler)["patroli/incremental/known"] == 3
    assert incremental.known("1")
    assert not incremental.known("9")
    assert incremental.crawler.spider.incremental is incremental  # type: ignore[union-attr]


def test_an_unchanged_ad_is_not_downloaded(incremental: IncrementalMiddleware) -> None:
    with pytest.raises(IgnoreRequest, match="unchanged"):
        incremental.process_request(detail("1", "card one"))
    assert stats(incremental.crawler)["patroli/incremental/skipped"] == 1


def test_a_changed_or_new_ad_is_downloaded_with_its_etag_if_known(
    incremental: IncrementalMiddleware,
) -> None:
    changed = detail("2", "card two, gaji naik")
    assert incremental.process_request(changed) is None
    assert changed.headers.get("If-None-Match") == b'"v2"'
    new = detail("9", "card nine")
    assert incremental.process_request(new) is None
    assert new.headers.get("If-None-Match") is None
    listing = Request("http://demo.test/lowongan?page=2")  # not an ad: never touched
    assert incremental.process_request(listing) is None


def test_a_304_counts_as_unchanged(incremental: IncrementalMiddleware) -> None:
    request = detail("2", "card two, gaji naik")
    incremental.process_request(request)
    with pytest.raises(IgnoreRequest, match="not modified"):
        incremental.process_response(request, answer(request, 304))
    ok = answer(request, 200)
    assert incremental.process_response(request, ok) is ok
    assert stats(incremental.crawler)["patroli/incremental/not_modified"] == 1


def test_an_ad_is_requested_once_per_run_but_retries_pass(
    incremental: IncrementalMiddleware,
) -> None:
    assert incremental.process_request(detail("9")) is None
    assert incremental.process_request(detail("9", retry_times=1)) is None
    with pytest.raises(IgnoreRequest, match="already requested"):
        incremental.process_request(detail("9"))
    assert stats(incremental.crawler)["patroli/incremental/duplicate_requests"] == 1


def test_at_the_end_unchanged_ads_are_touched_and_unseen_ones_marked_gone(
    incremental: IncrementalMiddleware, store_url: str
) -> None:
    spider = incremental.crawler.spider
    with pytest.raises(IgnoreRequest):
        incremental.process_request(detail("1", "card one"))  # unchanged
    incremental.process_request(detail("2", "card two, gaji naik"))  # changed: downloaded
    with open_store(store_url) as store:  # stored again by the store pipeline: seen this run
        store.touch_ads([make_ad_id("demo_unit", "2")], datetime.now(UTC).isoformat())
    asyncio.run(incremental.spider_closed(spider, "finished"))  # type: ignore[arg-type]
    with open_store(store_url) as store:
        one, two, three = (store.get_ad(make_ad_id("demo_unit", n)) for n in "123")
    assert one["last_seen"] > one["first_seen"]
    assert not one.get("gone_at")
    assert not two.get("gone_at")
    assert three["gone_at"]  # listed nowhere in a complete run: gone, and kept
    counted = stats(incremental.crawler)
    assert (counted["patroli/incremental/touched"], counted["patroli/incremental/gone"]) == (1, 1)


@pytest.mark.parametrize(("reason", "complete"), [("shutdown", True), ("finished", False)])
def test_nothing_is_marked_gone_after_a_partial_run(
    incremental: IncrementalMiddleware, store_url: str, reason: str, complete: bool
) -> None:
    spider = incremental.crawler.spider
    spider.complete = complete  # type: ignore[union-attr]
    asyncio.run(incremental.spider_closed(spider, reason))  # type: ignore[arg-type]
    with open_store(store_url) as store:
        assert not [h for h in store.search("", limit=10).hits if h.get("gone_at")]
    assert "patroli/incremental/gone" not in stats(incremental.crawler)


def test_incremental_can_be_switched_off() -> None:
    with pytest.raises(NotConfigured, match="PATROLI_INCREMENTAL_ENABLED"):
        build(IncrementalMiddleware, crawler_with(PATROLI_INCREMENTAL_ENABLED=False))
