"""StorePipeline: batched, idempotent upserts into the configured store, off the event loop.

Settings: ``PATROLI_STORE_URL``, ``PATROLI_STORE_BATCH_SIZE``, ``PATROLI_SPOOL_DIR``,
``PATROLI_SPOOL_RETRY_SECONDS``. An unreachable store stops the crawl before the first request
(crawling with nowhere to write wastes a night); a store that goes away mid-crawl gets the batches
spooled on local disk (``storage.spool``) and replayed, in order, when it is back or at the next
start. After each batch it sends ``crawler.signals.ads_stored`` (a frontier worker acknowledges
its requests on it), and it writes its partial batch when the crawl goes idle. Stats: ``patroli/store/new``, ``patroli/store/updated``, ``patroli/store/failed``,
``patroli/store/spooled``, ``patroli/store/replayed``, ``patroli/store/spool_pending``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from datetime import datetime
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.signalmanager import SignalManager
from scrapy.statscollectors import StatsCollector

from crawler.items import JobAd
from crawler.signals import ads_stored
from patroli.config.table import (
    PATROLI_SPOOL_DIR,
    PATROLI_SPOOL_RETRY_SECONDS,
    PATROLI_STORE_BATCH_SIZE,
    PATROLI_STORE_URL,
)
from patroli.storage import AdStore, StoreError, StoreUnavailable, open_store
from patroli.storage.spool import Outcome, Spool, SpoolingWriter, spool_dir_for

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
    store: AdStore
    writer: SpoolingWriter

    def __init__(
        self,
        store_url: str,
        batch_size: int,
        stats: StatsCollector,
        spool_dir: str = "",
        spool_retry_seconds: float = PATROLI_SPOOL_RETRY_SECONDS.default_value(),
        signal_manager: SignalManager | None = None,
    ) -> None:
        self.signals = signal_manager
        self.idle_flush: asyncio.Task[None] | None = None
        self.store_url = store_url
        self.batch_size = batch_size
        self.stats = stats
        self.spool_dir = spool_dir
        self.spool_retry_seconds = spool_retry_seconds
        self.pending: list[dict[str, Any]] = []
        self.flush_lock = asyncio.Lock()  # one batch at a time on one connection

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None  # noqa: S101 - Scrapy sets it before components
        settings = crawler.settings
        pipeline = cls(
            store_url=PATROLI_STORE_URL.from_settings(settings),
            batch_size=PATROLI_STORE_BATCH_SIZE.from_settings(settings),
            stats=crawler.stats,
            spool_dir=PATROLI_SPOOL_DIR.from_settings(settings),
            spool_retry_seconds=PATROLI_SPOOL_RETRY_SECONDS.from_settings(settings),
            signal_manager=crawler.signals,
        )
        crawler.signals.connect(pipeline.spider_idle, signal=signals.spider_idle)
        return pipeline

    def spider_idle(self) -> None:
        """Nothing left to crawl for now: write the partial batch instead of holding it."""
        if hasattr(self, "writer") and (self.idle_flush is None or self.idle_flush.done()):
            self.idle_flush = asyncio.get_running_loop().create_task(self.flush())

    async def open_spider(self) -> None:
        try:
            self.store = await asyncio.to_thread(open_store, self.store_url)
        except StoreUnavailable as exc:
            raise CloseSpider(f"store unavailable: {exc}") from exc
        spool = Spool(spool_dir_for(self.store_url, self.spool_dir or None), self.store_url)
        self.writer = SpoolingWriter(self.store, spool, self.spool_retry_seconds)
        # What a previous run spooled goes first, in order.
        self._count(await asyncio.to_thread(self.writer.drain))

    async def process_item(self, item: JobAd) -> JobAd:
        self.pending.append(ad_to_record(item))
        if len(self.pending) >= self.batch_size:
            await self.flush()
        return item

    async def flush(self) -> None:
        async with self.flush_lock:
            began = time.monotonic()
            batch, self.pending = self.pending, []
            try:
                if batch:
                    outcome = await asyncio.to_thread(self.writer.write, batch)
                    self._count(outcome)
            except StoreError:
                logger.exception("store rejected a batch of %d ads", len(batch))
                self.stats.inc_value("patroli/store/failed", len(batch))
            finally:
                if self.signals is not None:
                    self.signals.send_catch_log(signal=ads_stored, began=began, count=len(batch))

    def _count(self, outcome: Outcome) -> None:
        result = outcome.written
        self.stats.inc_value("patroli/store/new", result.new)
        self.stats.inc_value("patroli/store/updated", result.updated)
        if result.failed:
            self.stats.inc_value("patroli/store/failed", result.failed)
            logger.error(
                "store rejected %d ads: %s", result.failed, ", ".join(result.failed_ids[:20])
            )
        if outcome.spooled:
            self.stats.inc_value("patroli/store/spooled", outcome.spooled)
        if outcome.replayed:
            self.stats.inc_value("patroli/store/replayed", outcome.replayed)

    async def close_spider(self) -> None:
        if not hasattr(self, "store"):
            return  # opening failed: the crawl was stopped before any item came
        await self.flush()
        if hasattr(self, "writer"):
            self._count(await asyncio.to_thread(self.writer.drain))
            pending = await asyncio.to_thread(self.writer.spool.pending_ads)
            if pending:
                self.stats.set_value("patroli/store/spool_pending", pending)
                logger.warning(
                    "%d ads wait in the spool %s; they are written when the store is back "
                    "(next crawl start)",
                    pending,
                    self.writer.spool.directory,
                )
        await asyncio.to_thread(self.store.close)
