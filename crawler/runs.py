"""What one crawl of one source did, read from its Scrapy stats: ``summarize(source, crawler)``.

A run is *degraded* when a source answered pages without the content its spider expects (layout
change), the model was unavailable, or writes failed; it is *failed* when the source produced
nothing at all because of errors.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler

from crawler.sources import SourceConfig


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
