"""ClassifyPipeline: risk, flag and reasons for each ad, scored in batches in worker processes.

Settings: ``PATROLI_CLASSIFY_ENABLED``, ``PATROLI_MODEL_PATH`` (empty: the registry's active model),
``PATROLI_CLASSIFY_BATCH_SIZE``, ``PATROLI_LANGUAGE`` (language of the reasons), ``PATROLI_WORKERS``,
``PATROLI_BATCH_DELAY``.

The model is resolved once per crawl and loaded once per worker process. Items that arrive together
are scored together: one vectorized call for a page's worth of ads costs far less than one call per
ad, and it runs outside the crawl's event loop (``pipelines.offload``). If the model cannot be loaded
the crawl still stores every ad (unscored, ``risk`` empty) and the run is marked degraded: evidence is
never dropped for want of a score.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Self

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector

from classifiers.datasets import model_text
from crawler.items import JobAd
from patroli.config.table import (
    PATROLI_BATCH_DELAY,
    PATROLI_CLASSIFY_BATCH_SIZE,
    PATROLI_CLASSIFY_ENABLED,
    PATROLI_LANGUAGE,
    PATROLI_MODEL_PATH,
    PATROLI_WORKERS,
)
from pipelines.offload import MicroBatcher, OffloadingPipeline, WorkerPool, run_in

logger = logging.getLogger(__name__)


def resolve_model(model_path: str) -> tuple[str, str]:
    """In a worker: the model's directory (the registry's active model when none is given) and
    version, loading it and scoring once so that first-use costs are paid before the crawl."""
    from classifiers.registry import active_version, find_model
    from classifiers.scoring import describe_model

    model_dir = model_path or str(find_model(active_version()))
    version, _ = describe_model(model_dir)
    return model_dir, version


@dataclass(frozen=True, slots=True)
class Scored:
    """A score as it travels back from a worker: plain values. (Unpickling the model's own
    ``Score`` would import its module, and with it scikit-learn, into the crawl process.)"""

    risk: float | None  # None: a language the model does not score
    flagged: bool  # risky and an ad
    margin: float | None
    reasons: list[str]
    reason_codes: list[str]
    risky: bool = False
    genre: str | None = None
    lang: str = ""


def score_batch(model_dir: str, texts: list[str], language: str) -> list[Scored]:
    """In a worker: scores of ``texts`` (scikit-learn is imported there, not in the crawl)."""
    from classifiers.scoring import score_with

    return [
        Scored(
            s.risk,
            s.flagged,
            s.margin,
            list(s.reasons),
            list(s.reason_codes),
            s.risky,
            s.genre,
            s.lang,
        )
        for s in score_with(model_dir, texts, language)
    ]


class ClassifyPipeline(OffloadingPipeline):
    def __init__(
        self,
        stats: StatsCollector,
        model_path: str,
        batch_size: int,
        language: str,
        workers: int,
        batch_delay: float = PATROLI_BATCH_DELAY.default_value(),
    ) -> None:
        self.stats = stats
        self.model_path = model_path
        self.batch_size = batch_size
        self.language = language
        self.workers = workers
        self.batch_delay = batch_delay
        self.model_dir = ""
        self.version = ""
        self.executor: Executor | None = None
        self.batcher: MicroBatcher[str, Scored] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not PATROLI_CLASSIFY_ENABLED.from_settings(settings):
            raise NotConfigured("PATROLI_CLASSIFY_ENABLED is off")
        assert crawler.stats is not None  # noqa: S101 - Scrapy sets it before components
        pipeline = cls(
            stats=crawler.stats,
            model_path=PATROLI_MODEL_PATH.from_settings(settings),
            batch_size=PATROLI_CLASSIFY_BATCH_SIZE.from_settings(settings),
            language=PATROLI_LANGUAGE.from_settings(settings),
            workers=PATROLI_WORKERS.from_settings(settings),
            batch_delay=PATROLI_BATCH_DELAY.from_settings(settings),
        )
        # The extract step scores in the same worker call when it can (``pipelines.extract.extract_and_score``).
        crawler.patroli_classify = pipeline  # type: ignore[attr-defined]
        return pipeline

    def score_in_place(self, item: JobAd, score: Scored) -> None:
        item.risk = None if score.risk is None else round(score.risk, 6)
        item.risk_margin = None if score.margin is None else round(score.margin, 6)
        item.flagged = score.flagged
        item.risky = score.risky
        item.genre = score.genre
        item.lang = score.lang
        item.reasons = score.reasons
        item.reason_codes = score.reason_codes
        item.model_version = self.version

    async def open_spider(self) -> None:
        executor = self.executor = WorkerPool.acquire(self.workers)
        try:
            # Resolve "the active model" once, so every worker scores with the same file. In a
            # worker: scikit-learn and skops cost seconds to import, which the crawl's event loop
            # (shared by every source of a patrol) must not wait for (bench/crawl_overhead.py).
            self.model_dir, self.version = await run_in(executor, resolve_model, self.model_path)
        except Exception as exc:  # ModelError, or a worker that could not start: store unscored
            from classifiers.registry import ModelError

            if not isinstance(exc, ModelError):
                logger.exception("the scoring worker failed to start")
            self.stats.set_value("patroli/classify/model_unavailable", str(exc))
            logger.error("no risk model, ads are stored unscored: %s", exc)
            return
        self.stats.set_value("patroli/classify/model_version", self.version)
        model_dir, language = self.model_dir, self.language

        async def process(texts: list[str]) -> list[Scored]:
            return await run_in(executor, score_batch, model_dir, texts, language)

        key = ("classify", model_dir, language)
        self.batcher = MicroBatcher.shared(key, process, self.batch_size, self.batch_delay)

    async def process_item(self, item: JobAd) -> JobAd:
        if self.batcher is None:
            self.stats.inc_value("patroli/classify/unscored")
            return item
        if item.model_version != self.version:  # not scored yet by the extract step's worker call
            try:
                score = await self.batcher.submit(
                    model_text(item.title, item.text, item.image_text)
                )
            except Exception as exc:  # noqa: BLE001 - a scoring bug must not lose the ad: store it unscored
                logger.error("scoring failed for %s (%s); stored unscored", item.url, exc)
                self.stats.inc_value("patroli/classify/failed")
                return item
            self.score_in_place(item, score)
        if item.risk is None:
            self.stats.inc_value(f"patroli/classify/unsupported_language/{item.lang}")
        else:
            self.stats.inc_value("patroli/classify/scored")
        if item.flagged:
            self.stats.inc_value("patroli/classify/flagged")
        return item
