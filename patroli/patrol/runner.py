"""Run a patrol: one Scrapy crawler per source, all in one process, and a summary per source.

Used by ``patroli crawl``, ``patroli worker`` and ``patroli demo``. Each crawl monitors, records and alerts on its own
run when it closes (``crawler.extensions.runrecorder``); the summary is that recorded outcome. What
a run's status means is in ``crawler.runs``. When every crawl has ended, ``capture_after_patrol``
makes the capture records of newly flagged ads (``patroli.evidence.capture``): after the crawls,
never alongside them, so that rendering pages never slows a crawl down.

With a ``frontier`` (a Redis URL, ``crawler.frontier``) each source's crawl works on the source's
shared run instead: it opens the run (taking the source's run lock in Redis) or joins the one that
is open, and the run ends for every worker when its frontier is drained.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import AsyncCrawlerProcess, Crawler
from scrapy.settings import Settings

from crawler.frontier import frontier_settings
from crawler.frontier.connection import FrontierDown, Link, redacted
from crawler.frontier.runs import FrontierRun, new_worker_id, open_run
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
    frontier: str = "",
    join_only: bool = False,
) -> list[SourceRun]:
    """Crawl ``sources`` concurrently through the full pipeline; block until all are done.

    With ``jobs_dir`` each source keeps its request queue in ``jobs_dir/<source>`` (Scrapy's
    JOBDIR); ``resume`` continues an interrupted run from there instead of starting afresh. Either
    way listings are walked again and stored, unchanged ads are skipped (crawler/incremental.py), so
    a crawl killed at any moment and resumed ends with the same ads as one that was not.

    With ``frontier`` each source's crawl works on the source's run in Redis (``join_only``: only
    on a run that is already open; sources without one are left out).
    """
    settings = settings or project_settings()
    worker = new_worker_id()
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
        if frontier:
            run = join_frontier_run(crawler_settings, frontier, source, worker, resume, join_only)
            if run is None:
                continue
            crawler_settings.update(
                frontier_settings(
                    crawler_settings,
                    url=frontier,
                    source=source.name,
                    run_id=run.run_id,
                    worker=worker,
                ),
                priority="cmdline",
            )
        elif jobs_dir is not None:
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


def join_frontier_run(
    settings: Settings, url: str, source: SourceConfig, worker: str, resume: bool, join_only: bool
) -> FrontierRun | None:
    """The source's run to work on: opened now, or the one open already; waits for Redis (with
    backoff, up to ``PATROLI_FRONTIER_MAX_OUTAGE``) when it is away."""
    from patroli.config.table import (
        PATROLI_FRONTIER_LEASE,
        PATROLI_FRONTIER_LOCK_TTL,
        PATROLI_FRONTIER_MAX_OUTAGE,
        PATROLI_FRONTIER_PREFIX,
        PATROLI_FRONTIER_TTL,
    )

    link = Link(url, PATROLI_FRONTIER_MAX_OUTAGE.from_settings(settings))
    while True:
        try:
            run, opened = open_run(
                link,
                PATROLI_FRONTIER_PREFIX.from_settings(settings),
                source.name,
                worker=worker,
                lease=PATROLI_FRONTIER_LEASE.from_settings(settings),
                lock_ttl=PATROLI_FRONTIER_LOCK_TTL.from_settings(settings),
                ttl=PATROLI_FRONTIER_TTL.from_settings(settings),
                resume=resume,
                join_only=join_only,
            )
            break
        except FrontierDown:
            if link.gave_up():
                logger.error("%s: frontier %s unreachable; not crawled", source.name, redacted(url))
                return None
            time.sleep(max(0.2, link.retry_at - link.clock()))
    if run is None:
        logger.info("%s: no open run on the frontier to join", source.name)
    else:
        logger.info(
            "%s: %s run %s on frontier %s",
            source.name,
            "opened" if opened else "joined",
            run.run_id,
            redacted(url),
        )
    return run


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
