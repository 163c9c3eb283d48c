"""Run a patrol: one Scrapy crawler per source, all in one process, and a summary per source.

Used by ``patroli crawl`` and ``patroli demo``. Each crawl monitors, records and alerts on its own
run when it closes (``crawler.extensions.runrecorder``); the summary is that recorded outcome. What
a run's status means is in ``crawler.runs``. When every crawl has ended, ``capture_after_patrol``
makes the capture records of newly flagged ads (``patroli.evidence.capture``): after the crawls,
never alongside them, so that rendering pages never slows a crawl down.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import AsyncCrawlerProcess, Crawler
from scrapy.settings import Settings

from crawler.keywords import load_keywords
from crawler.runs import SourceRun, recorded_outcome
from crawler.sources import SourceConfig
from crawler.spiders import SPIDER_BY_KIND
from patroli.config.table import (
    PATROLI_CAPTURE_ENABLED,
    PATROLI_CHROMIUM,
    PATROLI_EVIDENCE_DIR,
    PATROLI_STORE_URL,
)
from patroli.evidence.capture import CaptureReport, capture_pending
from patroli.storage import StoreError, open_store

logger = logging.getLogger(__name__)

EventCallback = Callable[[str, str], None]  # (source name, event: "page" | "item" | "error")


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    if overrides:
        settings.update(overrides, priority="cmdline")
    return settings


def run_patrol(
    sources: Sequence[SourceConfig],
    *,
    settings: Settings | None = None,
    keywords: Sequence[str] = (),
    on_event: EventCallback | None = None,
    jobs_dir: Path | None = None,
    resume: bool = False,
) -> list[SourceRun]:
    """Crawl ``sources`` concurrently through the full pipeline; block until all are done.

    With ``jobs_dir`` each source keeps its request queue in ``jobs_dir/<source>`` (Scrapy's
    JOBDIR); ``resume`` continues an interrupted run from there instead of starting afresh. Either
    way listings are walked again and stored, unchanged ads are skipped (crawler/incremental.py), so
    a crawl killed at any moment and resumed ends with the same ads as one that was not.
    """
    settings = settings or project_settings()
    process = AsyncCrawlerProcess(settings)
    started: list[tuple[SourceConfig, Crawler]] = []
    for source in sources:
        spider_cls = SPIDER_BY_KIND.get(source.kind)
        if spider_cls is None:
            logger.error("%s: no spider for source kind %r yet; skipped", source.name, source.kind)
            continue
        if source.robots_txt and not source.robots_txt.get("obey", True):
            logger.warning(
                "%s: robots.txt is not obeyed for this source: %s",
                source.name,
                source.robots_txt.get("reason"),
            )
        crawler_settings = settings.copy()
        crawler_settings.update(source.scrapy_settings(), priority="spider")
        if jobs_dir is not None:
            jobdir = jobs_dir / source.name
            if not resume and jobdir.exists():
                shutil.rmtree(jobdir)
            crawler_settings.set("JOBDIR", str(jobdir), priority="cmdline")
        crawler = Crawler(spider_cls, crawler_settings)
        if on_event is not None:
            _connect_events(crawler, source.name, on_event)
        kwargs: dict[str, Any] = {"source": source}
        if source.search_urls and not source.keywords:
            # Search-capable sources search for the patrol keyword list unless told otherwise.
            kwargs["keywords"] = list(keywords) or load_keywords()
        process.crawl(crawler, **kwargs)
        started.append((source, crawler))
    if started:
        process.start()
    return [recorded_outcome(source, crawler) for source, crawler in started]


def _connect_events(crawler: Crawler, name: str, on_event: EventCallback) -> None:
    def page(**_: Any) -> None:
        on_event(name, "page")

    def item(**_: Any) -> None:
        on_event(name, "item")

    def error(**_: Any) -> None:
        on_event(name, "error")

    crawler.signals.connect(page, signal=signals.response_received, weak=False)
    crawler.signals.connect(item, signal=signals.item_scraped, weak=False)
    crawler.signals.connect(error, signal=signals.spider_error, weak=False)


def capture_after_patrol(settings: Settings) -> CaptureReport | None:
    """Capture records for the ads the patrol flagged (None when ``PATROLI_CAPTURE_ENABLED`` is
    off). A store or browser problem is reported, never raised: the patrol itself is done."""
    if not PATROLI_CAPTURE_ENABLED.from_env():
        return None
    evidence_dir = Path(PATROLI_EVIDENCE_DIR.from_settings(settings))
    try:
        with open_store(PATROLI_STORE_URL.from_settings(settings)) as store:
            return capture_pending(store, evidence_dir, PATROLI_CHROMIUM.from_env())
    except StoreError as exc:
        logger.error("no capture records: %s", exc)
        return CaptureReport(unavailable=f"store: {exc}")
