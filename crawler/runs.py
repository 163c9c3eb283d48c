"""What one crawl of one source did, read from its Scrapy stats: ``summarize(source, crawler)``.

A run is *degraded* when a source answered pages without the content its spider expects (layout
change), the model was unavailable, writes failed, the listing walk met hostile or broken input
(refused requests, unusable links, spider errors: ``crawler.incidents``) or a budget stopped it; it is
*failed* when the source produced nothing at all because of errors, or when a monitor failed
(``crawler.monitors``).

When the crawl closes, ``crawler.extensions.runrecorder`` decides the run's final status and notes
(monitors, alerts), records it in the store and leaves the outcome in the stats (``RUN_STATUS``,
``RUN_NOTES``): :func:`recorded_outcome` reads it back for whoever started the crawl.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler

from crawler.incidents import (
    BUDGET_STOPPED,
    GONE_WITHHELD,
    budget_stop,
    media_refusals,
    walk_incidents,
)
from crawler.sources import SourceConfig
from crawler.walls import DESCRIPTIONS, LAYOUT_CHANGED, NO_PUBLIC_PREVIEW
from patroli.storage.schema import RUN_FIELDS

# Stats keys of the run's outcome, set by the run recorder.
RUN_ID = "patroli/run/id"
RUN_STATUS = "patroli/run/status"
RUN_NOTES = "patroli/run/notes"
RUN_RECORDED = "patroli/run/recorded"  # 1 when the store holds the run
# A frontier run's stats summed over all its workers (crawler.frontier.runs.aggregate_stats), left
# by the run recorder so that whoever started this worker reports the whole run.
RUN_AGGREGATE = "patroli/run/aggregate"

MAX_DEGRADED_URLS_RECORDED = 20
# Requests skipped on purpose (unchanged ads, the crawl scope, the budget): not breakage.
SKIPPED_ON_PURPOSE = (
    "scrapy.exceptions.IgnoreRequest",
    "crawler.scope.OutOfScope",
    "crawler.addresses.AddressRefused",
    "crawler.budget.OverBudget",
)


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
    # Named statuses of what went wrong (crawler/walls.py): layout_changed, soft_block,
    # rate_limited, login_wall, rssbridge_error, no_public_preview.
    conditions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    run_id: str = ""
    stats: dict[str, Any] = field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        """The run as the store keeps it (``Store.record_run``; ``patroli runs`` shows it)."""
        record: dict[str, Any] = {
            k: getattr(self, k) for k in RUN_FIELDS if k not in ("notes", "stats")
        }
        record["notes"] = [
            *self.notes,
            *(f"degraded page: {u}" for u in self.degraded_urls[:MAX_DEGRADED_URLS_RECORDED]),
        ]
        record["stats"] = {k: v for k, v in self.stats.items() if isinstance(v, (int, float, str))}
        return record


def summarize(
    source: SourceConfig,
    crawler: Crawler,
    reason: str = "",
    stats_of_run: Mapping[str, Any] | None = None,
) -> SourceRun:
    """The run from the crawler's stats (or ``stats_of_run``: the stats of all the workers of a
    frontier run); ``reason`` is the finish reason when the stats lack it yet."""
    stats: dict[str, Any] = dict(crawler.stats.get_stats()) if crawler.stats else {}
    if stats_of_run is not None:
        stats = dict(stats_of_run)
    if reason:  # at spider_closed, in case Scrapy's CoreStats has not written them yet
        stats.setdefault("finish_reason", reason)
        stats.setdefault("finish_time", datetime.now(UTC))

    def count(key: str) -> int:
        return int(stats.get(key) or 0)

    run = SourceRun(
        run_id=str(stats.get(RUN_ID) or uuid.uuid4().hex[:16]),
        source=source.name,
        kind=source.kind,
        started_at=_iso(stats.get("start_time")),
        finished_at=_iso(stats.get("finish_time")),
        # Image downloads (the images pipeline) are not pages of the source.
        pages=count("response_received_count") - count("patroli/images/responses"),
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
        run.conditions.append(LAYOUT_CHANGED)
        run.notes.append(
            f"{LAYOUT_CHANGED}: {run.degraded_pages} page(s) without the expected content "
            "(layout changed?)"
        )
    for condition, description in DESCRIPTIONS.items():
        if refused := count(f"patroli/refused/{condition}"):
            run.conditions.append(condition)
            run.notes.append(f"{condition}: {refused} {description}")
    refused_urls = [str(u) for u in stats.get("patroli/refused_urls") or []]
    run.notes.extend(f"refused page: {u}" for u in refused_urls[:MAX_DEGRADED_URLS_RECORDED])
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
    if count("patroli/telegram/paging_bounded"):
        run.notes.append(
            f"{count('patroli/telegram/paging_bounded')} channel(s) not read to the end: "
            "page limit per channel reached (max_pages / PATROLI_TELEGRAM_MAX_PAGES)"
        )
    if count("patroli/partial_ads"):
        run.notes.append(
            f"{count('patroli/partial_ads')} ad(s) kept from their listing card only (partial): "
            "their ad page could not be had"
        )
    run.notes.extend(walk_incidents(stats))
    run.notes.extend(media_refusals(stats))
    if count(GONE_WITHHELD):
        run.notes.append(
            "stored ads missing from the listing were not marked gone: the walk was disturbed"
        )
    budget = budget_stop(run.finish_reason)
    if budget:
        run.notes.append(
            f"stopped early: the {stats.get(BUDGET_STOPPED) or budget} budget of this run was spent "
            "(the source's `budget` in the registry, or PATROLI_BUDGET_*)"
        )
    # Failed: nothing came in because requests or callbacks broke (a layout change is "degraded").
    ignored = sum(count(f"downloader/exception_type_count/{name}") for name in SKIPPED_ON_PURPOSE)
    broken = (
        count("retry/max_reached")
        + count("downloader/exception_count")
        - ignored
        + count("spider_exceptions/count")
    )
    seen = (
        run.items + count("patroli/incremental/skipped") + count("patroli/incremental/not_modified")
    )
    stopped = run.finish_reason not in ("finished", "") and not budget
    # A source refused (blocked, walled, rate-limited) gave nothing real: it could not be fetched.
    refused = sum(count(f"patroli/refused/{c}") for c in DESCRIPTIONS if c != NO_PUBLIC_PREVIEW)
    if not stats.get("start_time"):  # stopped before its spider opened: no run at all
        run.status = "failed"
        run.notes.append("failed: did not start")
    elif stopped or (seen == 0 and (broken or refused)):
        run.status = "failed"
        why = "refused by the platform" if refused and not broken else "nothing came in"
        run.notes.append(f"failed: {run.finish_reason if stopped else why}")
    elif run.notes:
        run.status = "degraded"
    # Refused images are hostile or broken content, not a broken source: noted, status unchanged.
    images_refused = {
        k.rsplit("/", 1)[1]: int(v)
        for k, v in stats.items()
        if k.startswith("patroli/images/refused/") and v
    }
    if images_refused:
        detail = ", ".join(f"{reason} {n}" for reason, n in sorted(images_refused.items()))
        run.notes.append(
            f"{sum(images_refused.values())} image(s) refused ({detail}); the ads were kept"
        )
    return run


def recorded_outcome(source: SourceConfig, crawler: Crawler) -> SourceRun:
    """The run as the recorder left it: counts from the stats, status and notes as recorded (after
    the monitors and alerts). Without a recorder (``EXTENSIONS`` changed) the summary's own."""
    stats = crawler.stats
    aggregate = stats.get_value(RUN_AGGREGATE) if stats else None
    run = summarize(
        source, crawler, stats_of_run=aggregate if isinstance(aggregate, dict) else None
    )
    status = stats.get_value(RUN_STATUS) if stats else None
    if stats and status:
        run.status = str(status)
        run.notes = [str(note) for note in stats.get_value(RUN_NOTES) or []]
    return run


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return str(value or "")
