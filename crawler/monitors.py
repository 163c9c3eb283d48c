"""Checks after each run that tell an operator, the same morning, that a source broke.

A source that silently returns nothing while the nightly run looks green is the worst failure a
patrol can have. After every run these checks compare it with the source's recent healthy runs:

- ``items``: nothing came in (no ads, none recognised unchanged);
- ``volume``: ads seen fell by ``PATROLI_MONITOR_DROP_RATIO`` (default 50%) or more against the median
  of the last ``PATROLI_MONITOR_HISTORY`` ok runs;
- ``errors``: more than ``PATROLI_MONITOR_MAX_ERROR_RATE`` (default 20%) of the pages failed;
- ``coverage``: the share of ads with a date or with a contact fell by the drop ratio against history.

(Pages without the expected content already make a run *degraded*, with the URLs; when no ad at all
comes in, ``items`` fails too.)

A failed check marks the run failed with the reason; alerts go out (patroli/alerts/).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crawler.runs import SourceRun
from patroli.config.table import (
    PATROLI_MONITOR_DROP_RATIO,
    PATROLI_MONITOR_HISTORY,
    PATROLI_MONITOR_MAX_ERROR_RATE,
)


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    drop_ratio: float = PATROLI_MONITOR_DROP_RATIO.default_value()
    max_error_rate: float = PATROLI_MONITOR_MAX_ERROR_RATE.default_value()
    history: int = PATROLI_MONITOR_HISTORY.default_value()

    @classmethod
    def from_settings(cls, settings: Any) -> MonitorSettings:
        return cls(
            drop_ratio=PATROLI_MONITOR_DROP_RATIO.from_settings(settings),
            max_error_rate=PATROLI_MONITOR_MAX_ERROR_RATE.from_settings(settings),
            history=PATROLI_MONITOR_HISTORY.from_settings(settings),
        )


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: str
    ok: bool
    message: str = ""


def _seen(stats: dict[str, Any], items: int) -> int:
    return (
        items
        + int(stats.get("patroli/incremental/skipped", 0) or 0)
        + int(stats.get("patroli/incremental/not_modified", 0) or 0)
    )


def _share(stats: dict[str, Any], key: str, items: int) -> float | None:
    return (int(stats.get(key, 0) or 0) / items) if items else None


def run_checks(
    run: SourceRun, history: Sequence[dict[str, Any]], settings: MonitorSettings
) -> list[CheckResult]:
    """The checks for one finished run; ``history`` is the source's earlier runs, newest first."""
    results: list[CheckResult] = []
    stats = run.stats
    seen = _seen(stats, run.items)
    # A source's first crawl backfills everything it can see (nothing is known yet, Telegram pages all
    # the way back): it is no baseline for the nightly runs after it.
    healthy = [
        h for h in history
        if h.get("status") == "ok" and int((h.get("stats") or {}).get("patroli/incremental/known", 1) or 0) > 0
    ][: settings.history]  # fmt: skip
    results.append(
        CheckResult(
            "items", seen > 0, "" if seen else "no ads at all: nothing listed, or nothing readable"
        )
    )
    if healthy:
        median = statistics.median(
            _seen(h.get("stats") or {}, int(h.get("items") or 0)) for h in healthy
        )
        dropped = median > 0 and seen <= median * (1 - settings.drop_ratio)
        results.append(CheckResult("volume", not dropped,
                                   f"{seen} ads seen against a recent median of {median:g}" if dropped else ""))  # fmt: skip
        for key, label in (
            ("patroli/extract/with_date", "a date"),
            ("patroli/extract/with_contact", "a contact"),
        ):
            now_share = _share(stats, key, run.items)
            past = [
                s
                for h in healthy
                if (s := _share(h.get("stats") or {}, key, int(h.get("items") or 0))) is not None
            ]
            if now_share is not None and past and run.items >= 5:
                usual = statistics.median(past)
                fell = usual > 0 and now_share <= usual * (1 - settings.drop_ratio)
                results.append(CheckResult("coverage", not fell,
                                           f"only {now_share:.0%} of ads have {label} (usually {usual:.0%})" if fell else ""))  # fmt: skip
    failed_pages = (
        int(stats.get("patroli/listing_failed", 0) or 0)
        + int(stats.get("patroli/detail_failed", 0) or 0)
        + int(stats.get("retry/max_reached", 0) or 0)
    )
    pages = max(run.pages, 1)
    rate = failed_pages / pages
    results.append(CheckResult("errors", rate <= settings.max_error_rate,
                               f"{rate:.0%} of {pages} pages failed" if rate > settings.max_error_rate else ""))  # fmt: skip
    return results


def apply_checks(run: SourceRun, results: Sequence[CheckResult]) -> list[CheckResult]:
    """Mark the run failed for each failed check (with the reason); return the failures."""
    failures = [r for r in results if not r.ok]
    for failure in failures:
        run.notes.append(f"monitor {failure.check} failed: {failure.message}")
    if failures:
        run.status = "failed"
    return failures
