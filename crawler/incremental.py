"""Incremental crawling: skip ads that are stored and unchanged, keep ads that disappeared.

``IncrementalMiddleware`` (a downloader middleware) loads what the store knows about the source when
the spider opens, then:

- drops a detail request whose ad is stored with the same *fingerprint* (a hash of what the listing
  says about it, computed by the spider) and counts it as seen (``last_seen`` is updated at the end);
- asks with ``If-None-Match`` when it has the page's ETag, and treats a 304 as unchanged;
- drops a second request for an ad requested recently in this run (the last ``RECENT_IDS``: a
  window, not a set that grows with every ad of a 100k-page crawl; a frontier run's duplicate
  filter covers the whole run);
- when the spider covered its whole listing, marks stored ads the run did not see as gone
  (``gone_at``): a deleted ad is evidence and stays. "Seen" is read back from the store (``last_seen``
  since the run started: stored ads get it when written, unchanged ones are touched in batches of
  ``TOUCH_BATCH`` as the crawl goes), so no set of the run's ads is kept in memory, and a run of
  many workers is judged as one (``mark_unseen_gone``, called by its recorder). A walk disturbed by
  anything (a spider error, an unusable link, a request the crawl scope refused, the depth budget:
  ``crawler/incidents.py``) may have missed part of the listing, so then nothing is marked gone.

Spiders mark detail requests with ``meta["patroli_ad"] = {"native_id": …, "fingerprint": …}`` and
may ask ``spider.incremental.known(native_id)``; they never talk to the store themselves.
Settings: ``PATROLI_INCREMENTAL_ENABLED``, ``PATROLI_STORE_URL``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Hashable
from datetime import UTC, datetime
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response

from crawler.incidents import GONE_WITHHELD, walk_incidents
from patroli.config.table import PATROLI_FRONTIER, PATROLI_INCREMENTAL_ENABLED, PATROLI_STORE_URL
from patroli.storage import CrawlLedger, Record, StoreError, open_store

logger = logging.getLogger(__name__)

RECENT_IDS = 20_000  # how many requested ad ids a crawl remembers to drop repeats
TOUCH_BATCH = 500  # unchanged ads recorded as seen together
STORE_TROUBLE = ("patroli/store/failed", "patroli/store/spool_pending")


class RecentIds:
    """The last ``size`` ids added (oldest forgotten first): bounded memory for "seen lately"."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.ids: dict[Hashable, None] = {}

    def __contains__(self, key: Hashable) -> bool:
        return key in self.ids

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, key: Hashable) -> None:
        self.ids[key] = None
        if len(self.ids) > self.size:
            del self.ids[next(iter(self.ids))]


def mark_unseen_gone(store_url: str, source: str, run_started: datetime, now: str) -> int:
    """Mark gone the stored ads of ``source`` that the run did not see (``last_seen`` before it
    started). Call only for a run that covered the whole listing and stored all it saw."""
    ledger: CrawlLedger = open_store(store_url)
    with ledger:
        known = ledger.known_ads(source)
        gone = [
            record["ad_id"]
            for record in known.values()
            if not record.get("gone_at") and _before(record.get("last_seen"), run_started)
        ]
        return ledger.mark_gone(gone, now) if gone else 0


def _before(value: Any, moment: datetime) -> bool:
    if not value:
        return True
    seen = datetime.fromisoformat(str(value))
    return (seen if seen.tzinfo else seen.replace(tzinfo=UTC)) < moment


def fingerprint(*parts: str | None) -> str:
    """A short, stable hash of what a listing says about an ad (not its relative date)."""
    text = "\x1f".join(" ".join((p or "").split()) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class IncrementalMiddleware:
    def __init__(self, crawler: Crawler, store_url: str) -> None:
        self.crawler = crawler
        self.store_url = store_url
        self.known_by_native: dict[str, Record] = {}
        self.requested = RecentIds(RECENT_IDS)  # native ids requested lately in this run
        self.to_touch: list[str] = []  # ad ids seen without downloading, not yet recorded
        self.touching: set[asyncio.Task[None]] = set()
        self.started = datetime.now(UTC)
        self.distributed = bool(PATROLI_FRONTIER.from_settings(crawler.settings))
        self.settled = threading.Event()  # set when everything seen is recorded (at close)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not PATROLI_INCREMENTAL_ENABLED.from_settings(crawler.settings):
            raise NotConfigured("PATROLI_INCREMENTAL_ENABLED is off")
        middleware = cls(crawler, PATROLI_STORE_URL.from_settings(crawler.settings))
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    # --- what spiders may ask -------------------------------------------------------------

    def known(self, native_id: str) -> bool:
        return native_id in self.known_by_native

    # --- signals --------------------------------------------------------------------------

    async def spider_opened(self, spider: Spider) -> None:
        spider.incremental = self  # type: ignore[attr-defined]
        self.started = datetime.now(UTC)
        source = getattr(getattr(spider, "source", None), "name", "")
        if not source:
            return
        try:
            self.known_by_native = await asyncio.to_thread(self._load, source)
        except (
            StoreError
        ) as exc:  # the store pipeline stops the crawl; here we just crawl everything
            logger.warning("incremental crawl off for %s: %s", source, exc)
        self.stat("known", len(self.known_by_native))

    def _load(self, source: str) -> dict[str, Record]:
        ledger: CrawlLedger = open_store(self.store_url)
        with ledger:
            return ledger.known_ads(source)

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        try:
            await self.touch_pending()
            if self.distributed:
                return  # the run's recorder judges what is gone, once all workers are done
            stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
            complete = getattr(spider, "listing_complete", lambda: False)()
            if reason != "finished" or not complete or any(stats.get(k) for k in STORE_TROUBLE):
                return
            if incidents := walk_incidents(stats):
                assert self.crawler.stats is not None  # noqa: S101 - set before components
                self.crawler.stats.set_value(GONE_WITHHELD, 1)
                logger.warning(
                    "%s: the listing walk was disturbed (%s): no ad is marked gone this run",
                    getattr(spider, "name", ""),
                    "; ".join(incidents),
                )
                return
            source = getattr(getattr(spider, "source", None), "name", "")
            now = datetime.now(UTC).isoformat()
            try:
                marked = await asyncio.to_thread(
                    mark_unseen_gone, self.store_url, source, self.started, now
                )
            except StoreError as exc:
                logger.error("could not mark gone ads of %s: %s", source, exc)
                return
            if marked:
                self.stat("gone", marked)
        finally:
            self.settled.set()

    def touch_soon(self, ad_id: str) -> None:
        """Record an unchanged ad as seen (in batches, off the event loop)."""
        self.to_touch.append(ad_id)
        if len(self.to_touch) >= TOUCH_BATCH:
            task = asyncio.get_running_loop().create_task(self.touch_pending())
            self.touching.add(task)
            task.add_done_callback(self.touching.discard)

    async def touch_pending(self) -> None:
        batch, self.to_touch = self.to_touch, []
        if batch:
            now = datetime.now(UTC).isoformat()
            try:
                touched = await asyncio.to_thread(self._touch, batch, now)
            except StoreError as exc:
                logger.error("could not record %d sightings: %s", len(batch), exc)
            else:
                self.stat("touched", touched)
        while self.touching - {asyncio.current_task()}:
            await asyncio.gather(*(self.touching - {asyncio.current_task()}))

    def _touch(self, ad_ids: list[str], now: str) -> int:
        ledger: CrawlLedger = open_store(self.store_url)
        with ledger:
            return ledger.touch_ads(ad_ids, now)

    # --- downloader middleware --------------------------------------------------------------

    def process_request(self, request: Request) -> None:
        ad = request.meta.get("patroli_ad")
        if not ad:
            return
        native_id = ad["native_id"]
        if request.meta.get("retry_times") or request.meta.get("redirect_times"):
            return  # the same request again (a retry or a redirect), not a second one
        if native_id in self.requested:
            self.stat("duplicate_requests")
            raise IgnoreRequest(f"ad {native_id} already requested in this run")
        self.requested.add(native_id)
        known = self.known_by_native.get(native_id)
        if known is None:
            return
        if ad.get("fingerprint") and ad["fingerprint"] == known.get("fingerprint"):
            self.touch_soon(known["ad_id"])
            self.stat("skipped")
            raise IgnoreRequest(f"ad {native_id} is stored and unchanged")
        if known.get("etag"):
            request.headers.setdefault("If-None-Match", known["etag"])

    def process_response(self, request: Request, response: Response) -> Response:
        ad = request.meta.get("patroli_ad")
        if ad and response.status == 304 and ad["native_id"] in self.known_by_native:
            self.touch_soon(self.known_by_native[ad["native_id"]]["ad_id"])
            self.stat("not_modified")
            raise IgnoreRequest(f"ad {ad['native_id']} not modified")
        return response

    def stat(self, key: str, count: int = 1) -> None:
        assert self.crawler.stats is not None  # noqa: S101 - set before components
        self.crawler.stats.inc_value(f"patroli/incremental/{key}", count)
