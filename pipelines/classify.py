"""ClassifyPipeline: risk, flag and reasons for each ad, scored in micro-batches off the event loop.

Settings: ``PATROLI_CLASSIFY_ENABLED``, ``PATROLI_MODEL_PATH`` (empty: the registry's active model),
``PATROLI_CLASSIFY_BATCH_SIZE``, ``PATROLI_LANGUAGE`` (language of the reasons).

The model is loaded once per crawl. Items wait briefly to be scored together: one vectorized call
for a page's worth of ads costs far less than one call per ad, and it runs in a worker thread so
the crawl keeps downloading meanwhile. If the model cannot be loaded the crawl still stores every
ad (unscored, ``risk`` empty) and the run is marked degraded: evidence is never dropped.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Self

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector

from classifiers.datasets import model_text
from classifiers.registry import ModelError
from classifiers.scoring import RiskModel
from crawler.items import JobAd

logger = logging.getLogger(__name__)

FLUSH_DELAY_SECONDS = 0.05


class ClassifyPipeline:
    def __init__(
        self, stats: StatsCollector, model_path: str, batch_size: int, language: str
    ) -> None:
        self.stats = stats
        self.model_path = model_path
        self.batch_size = batch_size
        self.language = language
        self.model: RiskModel | None = None
        self.pending: list[tuple[JobAd, asyncio.Future[None]]] = []
        self.timer: asyncio.TimerHandle | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("PATROLI_CLASSIFY_ENABLED", True):
            raise NotConfigured("PATROLI_CLASSIFY_ENABLED is off")
        assert crawler.stats is not None  # noqa: S101 - Scrapy sets it before components
        return cls(
            stats=crawler.stats,
            model_path=settings.get("PATROLI_MODEL_PATH", ""),
            batch_size=settings.getint("PATROLI_CLASSIFY_BATCH_SIZE", 64),
            language=settings.get("PATROLI_LANGUAGE", "id"),
        )

    async def open_spider(self) -> None:
        try:
            self.model = await asyncio.to_thread(
                RiskModel.load, Path(self.model_path) if self.model_path else None
            )
        except ModelError as exc:
            self.stats.set_value("patroli/classify/model_unavailable", str(exc))
            logger.error("no risk model, ads are stored unscored: %s", exc)
            return
        self.stats.set_value("patroli/classify/model_version", self.model.version)

    async def process_item(self, item: JobAd) -> JobAd:
        if self.model is None:
            self.stats.inc_value("patroli/classify/unscored")
            return item
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append((item, future))
        if len(self.pending) >= self.batch_size:
            await self.flush()
        elif self.timer is None:
            loop = asyncio.get_running_loop()
            self.timer = loop.call_later(
                FLUSH_DELAY_SECONDS, lambda: loop.create_task(self.flush())
            )
        await future
        return item

    async def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.pending = self.pending, []
        if not batch or self.model is None:
            return
        texts = [model_text(item.title, item.text) for item, _ in batch]
        try:
            scores = await asyncio.to_thread(self.model.score, texts, self.language)
        except Exception as exc:  # a scoring bug must not lose the ads: store them unscored
            logger.exception("scoring failed for %d ads; storing them unscored", len(batch))
            self.stats.inc_value("patroli/classify/failed", len(batch))
            for _, future in batch:
                if not future.done():
                    future.set_result(None)
            self.stats.set_value("patroli/classify/last_error", str(exc)[:200])
            return
        for (item, future), score in zip(batch, scores, strict=True):
            item.risk = round(score.risk, 6)
            item.risk_margin = round(score.margin, 6)
            item.flagged = score.flagged
            item.reasons = score.reasons
            item.reason_codes = score.reason_codes
            item.model_version = self.model.version
            self.stats.inc_value("patroli/classify/scored")
            if score.flagged:
                self.stats.inc_value("patroli/classify/flagged")
            if not future.done():
                future.set_result(None)

    async def close_spider(self) -> None:
        await self.flush()
