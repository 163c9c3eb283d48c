"""Run a patrol: one Scrapy crawler per source, all in one process, and a summary per source.

Used by ``patroli crawl`` and ``patroli demo``. A run is *degraded* when a source answered pages
without the content its spider expects (layout change), the model was unavailable, or writes
failed; it is *failed* when the source produced nothing at all because of errors.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import AsyncCrawlerProcess, Crawler
from scrapy.settings import Settings

from crawler.keywords import load_keywords
from crawler.sources import SourceConfig
from crawler.spiders import SPIDER_BY_KIND

logger = logging.getLogger(__name__)

EventCallback = Callable[[str, str], None]  # (source name, event: "page" | "item" | "error")


@dataclass(slots=True)
class SourceRun:
    source: str
    kind: str
    started_at: str = ""
    finished_at: str = ""
    pages: int = 0
    items: int = 0
    new: int = 0
    updated: int = 0
    flagged: int = 0
    dropped: int = 0
    unchanged: int = 0  # stored ads seen again without downloading them
    errors: int = 0
    degraded_pages: int = 0
    degraded_urls: list[str] = field(default_factory=list)
    finish_reason: str = ""
    status: str = "ok"
    notes: list[str] = field(default_factory=list)
    run_id: str = ""
    stats: dict[str, Any] = field(default_factory=dict)


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    if overrides:
        settings.update(overrides, priority="cmdline")
    return settings


def summarize(source: SourceConfig, crawler: Crawler) -> SourceRun:
    stats: dict[str, Any] = dict(crawler.stats.get_stats()) if crawler.stats else {}

    def count(key: str) -> int:
        return int(stats.get(key) or 0)

    run = SourceRun(
        run_id=uuid.uuid4().hex[:16],
        source=source.name,
        kind=source.kind,
        started_at=_iso(stats.get("start_time")),
        finished_at=_iso(stats.get("finish_time")),
        pages=count("response_received_count"),
        items=count("item_scraped_count"),
        new=count("patroli/store/new"),
        updated=count("patroli/store/updated"),
        flagged=count("patroli/classify/flagged"),
        dropped=count("item_dropped_count"),
        unchanged=count("patroli/incremental/skipped") + count("patroli/incremental/not_modified"),
        errors=count("log_count/ERROR"),
        degraded_pages=count("patroli/layout_changed"),
        degraded_urls=list(stats.get("patroli/degraded_urls") or []),
        finish_reason=str(stats.get("finish_reason") or ""),
        stats={k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in stats.items()},
    )
    if run.degraded_pages:
        run.notes.append(
            f"{run.degraded_pages} page(s) without the expected content (layout changed?)"
        )
    if stats.get("patroli/classify/model_unavailable"):
        run.notes.append("risk model unavailable: ads stored unscored")
    if count("patroli/store/failed"):
        run.notes.append(f"{count('patroli/store/failed')} ad(s) could not be stored")
    failed_pages = count("patroli/listing_failed") + count("patroli/detail_failed")
    if failed_pages:
        run.notes.append(f"{failed_pages} page(s) failed after retries (HTTP errors or timeouts)")
    if count("patroli/store/spool_pending"):
        run.notes.append(
            f"{count('patroli/store/spool_pending')} ad(s) spooled while the store was unreachable; "
            "they are written when it is back (next crawl start)"
        )
    if count("patroli/telegram/no_public_preview"):
        run.notes.append(
            f"{count('patroli/telegram/no_public_preview')} channel(s) without a public preview"
        )
    # Failed: nothing came in because requests or callbacks broke (a layout change is "degraded").
    ignored = count(
        "downloader/exception_type_count/scrapy.exceptions.IgnoreRequest"
    )  # skipped on purpose
    broken = (
        count("retry/max_reached")
        + count("downloader/exception_count")
        - ignored
        + sum(int(v) for k, v in stats.items() if k.startswith("spider_exceptions/"))
    )
    seen = (
        run.items + count("patroli/incremental/skipped") + count("patroli/incremental/not_modified")
    )
    if run.finish_reason not in ("finished", "") or (seen == 0 and broken):
        run.status = "failed"
        reason = (
            run.finish_reason if run.finish_reason not in ("finished", "") else "nothing came in"
        )
        run.notes.append(f"failed: {reason or 'did not start'}")
    elif run.notes:
        run.status = "degraded"
    return run


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return str(value or "")


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
    return [summarize(source, crawler) for source, crawler in started]


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
