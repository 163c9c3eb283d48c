"""StorePipeline: batched, idempotent upserts into the configured store, off the event loop.

Settings: ``PATROLI_STORE_URL``, ``PATROLI_STORE_BATCH_SIZE``. An unreachable store stops the crawl
before the first request (crawling with nowhere to write wastes a night). Stats:
``patroli/store/new``, ``patroli/store/updated``, ``patroli/store/failed``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import datetime
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.statscollectors import StatsCollector

from crawler.items import JobAd
from storage import Store, StoreError, StoreUnavailable, open_store

logger = logging.getLogger(__name__)


_FIELDS = tuple(f.name for f in dataclasses.fields(JobAd))


def ad_to_record(ad: JobAd) -> dict[str, Any]:
    """The store's record shape: plain JSON-ready values, dates as ISO 8601 UTC.

    A shallow copy: the item is finished with once stored (``dataclasses.asdict`` deep-copies
    every list and dict, which showed up in crawl profiles).
    """
    record = {name: getattr(ad, name) for name in _FIELDS}
    for key in ("posted_at", "crawled_at"):
        if isinstance(record[key], datetime):
            record[key] = record[key].isoformat()
    return record


class StorePipeline:
    store: Store

    def __init__(self, store_url: str, batch_size: int, stats: StatsCollector) -> None:
        self.store_url = store_url
        self.batch_size = batch_size
        self.stats = stats
        self.pending: list[dict[str, Any]] = []
        self.flush_lock = asyncio.Lock()  # one batch at a time on one connection
        self.new_ids: list[str] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None  # noqa: S101 - Scrapy sets it before components
        settings = crawler.settings
        return cls(
            store_url=settings.get("PATROLI_STORE_URL", ""),
            batch_size=settings.getint("PATROLI_STORE_BATCH_SIZE", 200),
            stats=crawler.stats,
        )

    async def open_spider(self) -> None:
        try:
            self.store = await asyncio.to_thread(open_store, self.store_url)
        except StoreUnavailable as exc:
            raise CloseSpider(f"store unavailable: {exc}") from exc

    async def process_item(self, item: JobAd) -> JobAd:
        self.pending.append(ad_to_record(item))
        if len(self.pending) >= self.batch_size:
            await self.flush()
        return item

    async def flush(self) -> None:
        async with self.flush_lock:
            batch, self.pending = self.pending, []
            if not batch:
                return
            try:
                result = await asyncio.to_thread(self.store.upsert_ads, batch)
            except StoreError:
                logger.exception("store rejected a batch of %d ads", len(batch))
                self.stats.inc_value("patroli/store/failed", len(batch))
                return
            self.stats.inc_value("patroli/store/new", result.new)
            self.stats.inc_value("patroli/store/updated", result.updated)
            if result.failed:
                self.stats.inc_value("patroli/store/failed", result.failed)
            self.new_ids += result.new_ids

    async def close_spider(self) -> None:
        if not hasattr(self, "store"):
            return  # opening failed: the crawl was stopped before any item came
        await self.flush()
        await asyncio.to_thread(self.store.close)
