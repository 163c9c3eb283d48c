"""Incremental crawling: skip ads that are stored and unchanged, keep ads that disappeared.

``IncrementalMiddleware`` (a downloader middleware) loads what the store knows about the source when
the spider opens, then:

- drops a detail request whose ad is stored with the same *fingerprint* (a hash of what the listing
  says about it, computed by the spider) and counts it as seen (``last_seen`` is updated at the end);
- asks with ``If-None-Match`` when it has the page's ETag, and treats a 304 as unchanged;
- drops a second request for an ad already requested in this run (also across a ``--resume``);
- when the spider covered its whole listing, marks stored ads it did not see as gone (``gone_at``):
  a deleted ad is evidence and stays. A walk disturbed by anything (a spider error, an unusable
  link, a request the crawl scope refused, the depth budget: ``crawler/incidents.py``) may have
  missed part of the listing, so then nothing is marked gone.

Spiders mark detail requests with ``meta["patroli_ad"] = {"native_id": …, "fingerprint": …}`` and
may ask ``spider.incremental.known(native_id)``; they never talk to the store themselves.
Settings: ``PATROLI_INCREMENTAL_ENABLED``, ``PATROLI_STORE_URL``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import UTC, datetime
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response

from crawler.incidents import GONE_WITHHELD, walk_incidents
from patroli.config.table import PATROLI_INCREMENTAL_ENABLED, PATROLI_STORE_URL
from patroli.storage import CrawlLedger, Record, StoreError, open_store

logger = logging.getLogger(__name__)


def fingerprint(*parts: str | None) -> str:
    """A short, stable hash of what a listing says about an ad (not its relative date)."""
    text = "\x1f".join(" ".join((p or "").split()) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class IncrementalMiddleware:
    def __init__(self, crawler: Crawler, store_url: str) -> None:
        self.crawler = crawler
        self.store_url = store_url
        self.known_by_native: dict[str, Record] = {}
        self.requested: set[str] = set()  # native ids requested in this run
        self.unchanged: set[str] = set()  # ad ids seen without downloading
        self.scraped: set[str] = set()  # native ids stored in this run

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not PATROLI_INCREMENTAL_ENABLED.from_settings(crawler.settings):
            raise NotConfigured("PATROLI_INCREMENTAL_ENABLED is off")
        middleware = cls(crawler, PATROLI_STORE_URL.from_settings(crawler.settings))
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(middleware.item_scraped, signal=signals.item_scraped)
        return middleware

    # --- what spiders may ask -------------------------------------------------------------

    def known(self, native_id: str) -> bool:
        return native_id in self.known_by_native

    # --- signals --------------------------------------------------------------------------

    async def spider_opened(self, spider: Spider) -> None:
        spider.incremental = self  # type: ignore[attr-defined]
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

    def item_scraped(self, item: Any, spider: Spider) -> None:
        native_id = getattr(item, "native_id", None)
        if native_id:
            self.scraped.add(native_id)

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        now = datetime.now(UTC).isoformat()
        gone: list[str] = []
        stats = self.crawler.stats
        assert stats is not None  # noqa: S101 - set before components
        complete = reason == "finished" and getattr(spider, "listing_complete", lambda: False)()
        incidents = walk_incidents(stats.get_stats())
        if complete and incidents:
            stats.set_value(GONE_WITHHELD, 1)
            logger.warning("%s: the listing walk was disturbed (%s): no ad is marked gone this run",
                           getattr(spider, "name", ""), "; ".join(incidents))  # fmt: skip
        elif complete:
            seen_ids = self.unchanged | {
                self.known_by_native[n]["ad_id"] for n in self.scraped if n in self.known_by_native
            }
            gone = [
                record["ad_id"]
                for record in self.known_by_native.values()
                if record["ad_id"] not in seen_ids and not record.get("gone_at")
            ]
        if not self.unchanged and not gone:
            return
        try:
            touched, marked = await asyncio.to_thread(self._save, sorted(self.unchanged), gone, now)
        except StoreError as exc:
            logger.error("could not record sightings for %s: %s", getattr(spider, "name", ""), exc)
            return
        self.stat("touched", touched)
        self.stat("gone", marked)

    def _save(self, unchanged: list[str], gone: list[str], now: str) -> tuple[int, int]:
        ledger: CrawlLedger = open_store(self.store_url)
        with ledger:
            return ledger.touch_ads(unchanged, now), ledger.mark_gone(gone, now)

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
            self.unchanged.add(known["ad_id"])
            self.stat("skipped")
            raise IgnoreRequest(f"ad {native_id} is stored and unchanged")
        if known.get("etag"):
            request.headers.setdefault("If-None-Match", known["etag"])

    def process_response(self, request: Request, response: Response) -> Response:
        ad = request.meta.get("patroli_ad")
        if ad and response.status == 304 and ad["native_id"] in self.known_by_native:
            self.unchanged.add(self.known_by_native[ad["native_id"]]["ad_id"])
            self.stat("not_modified")
            raise IgnoreRequest(f"ad {ad['native_id']} not modified")
        return response

    def stat(self, key: str, count: int = 1) -> None:
        assert self.crawler.stats is not None  # noqa: S101 - set before components
        self.crawler.stats.inc_value(f"patroli/incremental/{key}", count)
