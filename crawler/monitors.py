"""The monitors: checks of a finished run that tell an operator, the same morning, that a source broke.

A source that silently returns nothing while the nightly run looks green is the worst failure a
patrol can have. When a crawl closes, ``crawler.extensions.runrecorder`` runs these checks against the
source's recent healthy runs (Spidermon's shape: one small declarative class per monitor, setting
names and stats keys as module constants):

- ``items`` (:class:`ItemsMonitor`): nothing came in (no ads, none recognised unchanged);
- ``volume`` (:class:`VolumeMonitor`): ads seen fell by ``PATROLI_MONITOR_DROP_RATIO`` (default 50%)
  or more against the median of the last ``PATROLI_MONITOR_HISTORY`` ok runs;
- ``coverage`` (:class:`CoverageMonitor`): the share of ads with a date, or with a contact, fell by
  the drop ratio against history;
- ``errors`` (:class:`ErrorRateMonitor`): more than ``PATROLI_MONITOR_MAX_ERROR_RATE`` (default 20%)
  of the pages failed.

(Pages without the expected content already make a run *degraded*, with the URLs; when no ad at all
comes in, ``items`` fails too and alerts — but the run stays *degraded*, exit 3: the layout change
explains the missing ads. Only checks the layout change does not explain make it *failed*.) A failed check marks the run failed with the reason, and a
``monitor_failed`` alert goes out. ``PATROLI_MONITORS_ENABLED = False`` switches the checks off.
"""

from __future__ import annotations

import statistics
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from crawler.runs import SourceRun
from patroli.config.table import (
    PATROLI_MONITOR_DROP_RATIO,
    PATROLI_MONITOR_HISTORY,
    PATROLI_MONITOR_MAX_ERROR_RATE,
    PATROLI_MONITORS_ENABLED,
)

# Settings the monitors read (defined, with their defaults, in patroli/config/table.py).
MONITORS_ENABLED = PATROLI_MONITORS_ENABLED.name
MONITOR_DROP_RATIO = PATROLI_MONITOR_DROP_RATIO.name
MONITOR_MAX_ERROR_RATE = PATROLI_MONITOR_MAX_ERROR_RATE.name
MONITOR_HISTORY = PATROLI_MONITOR_HISTORY.name

# Stats keys the monitors read.
INCREMENTAL_SKIPPED = "patroli/incremental/skipped"  # stored ads seen again, page not downloaded
INCREMENTAL_NOT_MODIFIED = "patroli/incremental/not_modified"  # pages that answered 304
INCREMENTAL_KNOWN = "patroli/incremental/known"  # stored ads of the source when the run began
WITH_DATE = "patroli/extract/with_date"
WITH_CONTACT = "patroli/extract/with_contact"
LISTING_FAILED = "patroli/listing_failed"
DETAIL_FAILED = "patroli/detail_failed"
RETRY_MAX_REACHED = "retry/max_reached"
LAYOUT_CHANGED = "patroli/layout_changed"

MIN_ITEMS_FOR_COVERAGE = 5  # below this a share says nothing


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


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What a check needs of one run, the current one or a recorded one."""

    items: int
    pages: int
    stats: Mapping[str, Any]

    @classmethod
    def of(cls, run: SourceRun) -> RunFacts:
        return cls(run.items, run.pages, run.stats)

    @classmethod
    def of_record(cls, record: Mapping[str, Any]) -> RunFacts:
        return cls(
            int(record.get("items") or 0),
            int(record.get("pages") or 0),
            record.get("stats") or {},
        )

    def count(self, key: str) -> int:
        return int(self.stats.get(key, 0) or 0)

    @property
    def seen(self) -> int:
        """Ads the source showed: scraped, or recognised unchanged without downloading them."""
        return self.items + self.count(INCREMENTAL_SKIPPED) + self.count(INCREMENTAL_NOT_MODIFIED)

    def share(self, key: str) -> float | None:
        return self.count(key) / self.items if self.items else None


class Monitor(ABC):
    """One check of a finished run against the source's recent healthy runs (newest first)."""

    name: ClassVar[str]

    @abstractmethod
    def check(
        self, run: RunFacts, healthy: Sequence[RunFacts], settings: MonitorSettings
    ) -> CheckResult | None:
        """The result, or ``None`` when the check cannot judge this run (no baseline yet)."""

    def passed(self) -> CheckResult:
        return CheckResult(self.name, True)

    def failed(self, message: str) -> CheckResult:
        return CheckResult(self.name, False, message)


class ItemsMonitor(Monitor):
    """Fails when no ad came in at all: none scraped and none recognised unchanged. No settings."""

    name = "items"

    def check(
        self, run: RunFacts, healthy: Sequence[RunFacts], settings: MonitorSettings
    ) -> CheckResult:
        if run.seen:
            return self.passed()
        return self.failed("no ads at all: nothing listed, or nothing readable")


class VolumeMonitor(Monitor):
    """Fails when ads seen fell by ``PATROLI_MONITOR_DROP_RATIO`` or more against the median of the
    recent healthy runs (``PATROLI_MONITOR_HISTORY``); skipped while the source has none."""

    name = "volume"

    def check(
        self, run: RunFacts, healthy: Sequence[RunFacts], settings: MonitorSettings
    ) -> CheckResult | None:
        if not healthy:
            return None
        median = statistics.median(h.seen for h in healthy)
        if median > 0 and run.seen <= median * (1 - settings.drop_ratio):
            return self.failed(f"{run.seen} ads seen against a recent median of {median:g}")
        return self.passed()


@dataclass(frozen=True, slots=True)
class CoverageMonitor(Monitor):
    """Fails when the share of ads counted in ``stat_name`` fell by ``PATROLI_MONITOR_DROP_RATIO``
    against the median share of the recent healthy runs; skipped without a baseline or with fewer
    than five ads."""

    name = "coverage"
    stat_name: str
    label: str  # what the counted ads have, for the message

    def check(
        self, run: RunFacts, healthy: Sequence[RunFacts], settings: MonitorSettings
    ) -> CheckResult | None:
        now = run.share(self.stat_name)
        past = [s for h in healthy if (s := h.share(self.stat_name)) is not None]
        if now is None or not past or run.items < MIN_ITEMS_FOR_COVERAGE:
            return None
        usual = statistics.median(past)
        if usual > 0 and now <= usual * (1 - settings.drop_ratio):
            return self.failed(f"only {now:.0%} of ads have {self.label} (usually {usual:.0%})")
        return self.passed()


class ErrorRateMonitor(Monitor):
    """Fails when more than ``PATROLI_MONITOR_MAX_ERROR_RATE`` of the pages failed after retries."""

    name = "errors"
    failure_stats: ClassVar[tuple[str, ...]] = (LISTING_FAILED, DETAIL_FAILED, RETRY_MAX_REACHED)

    def check(
        self, run: RunFacts, healthy: Sequence[RunFacts], settings: MonitorSettings
    ) -> CheckResult:
        pages = max(run.pages, 1)
        rate = sum(run.count(key) for key in self.failure_stats) / pages
        if rate > settings.max_error_rate:
            return self.failed(f"{rate:.0%} of {pages} pages failed")
        return self.passed()


MONITORS: tuple[Monitor, ...] = (
    ItemsMonitor(),
    VolumeMonitor(),
    CoverageMonitor(WITH_DATE, "a date"),
    CoverageMonitor(WITH_CONTACT, "a contact"),
    ErrorRateMonitor(),
)


def healthy_runs(history: Sequence[Mapping[str, Any]], settings: MonitorSettings) -> list[RunFacts]:
    """The baseline: the recent ok runs, newest first."""
    return [RunFacts.of_record(h) for h in history if _is_baseline(h)][: settings.history]


def _is_baseline(record: Mapping[str, Any]) -> bool:
    # A source's first crawl backfills everything it can see (nothing is known yet, Telegram pages
    # all the way back): it is no baseline for the nightly runs after it.
    known = int((record.get("stats") or {}).get(INCREMENTAL_KNOWN, 1) or 0)
    return record.get("status") == "ok" and known > 0


def run_checks(
    run: SourceRun,
    history: Sequence[Mapping[str, Any]],
    settings: MonitorSettings,
    monitors: Sequence[Monitor] = MONITORS,
) -> list[CheckResult]:
    """The checks for one finished run; ``history`` is the source's earlier run records, newest first."""
    facts, healthy = RunFacts.of(run), healthy_runs(history, settings)
    results = (monitor.check(facts, healthy, settings) for monitor in monitors)
    return [result for result in results if result is not None]


# Checks that count ads: when the source's layout changed, that change is why they fail.
EXPLAINED_BY_LAYOUT_CHANGE = frozenset({"items", "volume", "coverage"})


def apply_checks(run: SourceRun, results: Sequence[CheckResult]) -> list[CheckResult]:
    """Note each failed check (with the reason) and mark the run failed; return the failures
    (each is alerted). A run whose pages changed layout stays *degraded* (exit 3) when only the
    checks that count ads failed: the layout change explains them and names the pages."""
    failures = [r for r in results if not r.ok]
    for failure in failures:
        run.notes.append(f"monitor {failure.check} failed: {failure.message}")
    explained = run.degraded_pages > 0 and all(
        f.check in EXPLAINED_BY_LAYOUT_CHANGE for f in failures
    )
    if failures and not explained:
        run.status = "failed"
    return failures
