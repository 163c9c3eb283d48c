"""Monitors on finished runs, table-driven (as Spidermon tests its monitors): no crawl needed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

from crawler.monitors import (
    DETAIL_FAILED,
    INCREMENTAL_KNOWN,
    INCREMENTAL_NOT_MODIFIED,
    INCREMENTAL_SKIPPED,
    LISTING_FAILED,
    MONITOR_DROP_RATIO,
    MONITOR_MAX_ERROR_RATE,
    RETRY_MAX_REACHED,
    WITH_CONTACT,
    WITH_DATE,
    CoverageMonitor,
    ErrorRateMonitor,
    ItemsMonitor,
    Monitor,
    MonitorSettings,
    RunFacts,
    VolumeMonitor,
    apply_checks,
    healthy_runs,
    run_checks,
)
from crawler.runs import SourceRun, summarize
from crawler.sources import SourceConfig

SETTINGS = MonitorSettings(drop_ratio=0.5, max_error_rate=0.2, history=7)


def run(items: int, pages: int = 10, **stats: int) -> SourceRun:
    base = {"patroli/extract/with_date": items, "patroli/extract/with_contact": items}
    return SourceRun(source="s", kind="feed", items=items, pages=pages, stats={**base, **stats})


def past(items: int, status: str = "ok", **stats: int) -> dict[str, Any]:
    base = {"patroli/extract/with_date": items, "patroli/extract/with_contact": items}
    return {"status": status, "items": items, "stats": {**base, **stats}}


@pytest.mark.parametrize(
    ("current", "history", "failing"),
    [
        (run(100), [past(100)] * 5, set()),
        (run(0), [], {"items"}),
        (
            run(0, **{"patroli/incremental/skipped": 90}),
            [past(95)] * 5,
            set(),
        ),  # all unchanged: fine
        (run(40), [past(100)] * 5, {"volume"}),
        (run(60), [past(100)] * 5, set()),
        (run(40), [past(100, status="failed")] * 5, set()),  # only healthy runs count as normal
        (run(100, pages=10, **{"retry/max_reached": 3}), [past(100)], {"errors"}),
        (run(100, **{"patroli/extract/with_date": 10}), [past(100)] * 3, {"coverage"}),
        (run(100, **{"patroli/extract/with_contact": 20}), [past(100)] * 3, {"coverage"}),
    ],
)
def test_checks(current: SourceRun, history: list[dict[str, Any]], failing: set[str]) -> None:
    results = run_checks(current, history, SETTINGS)
    assert {r.check for r in results if not r.ok} == failing


def test_a_failed_check_marks_the_run_failed_with_the_reason() -> None:
    current = run(0)
    failures = apply_checks(current, run_checks(current, [past(100)], SETTINGS))
    assert [f.check for f in failures] == ["items", "volume"]
    assert current.status == "failed"
    assert current.notes[0].startswith("monitor items failed: no ads")


# --- each monitor on a crawler's stats and settings (Spidermon's make_data way: no crawl) --------

FEED = SourceConfig(name="s", kind="feed", start_urls=("http://127.0.0.1:9/feed.xml",))


def facts(stats: dict[str, Any], **settings: Any) -> tuple[RunFacts, MonitorSettings]:
    """The run a crawler with these stats and settings would summarize, and its monitor settings."""
    crawler = get_crawler(settings_dict=settings)
    assert crawler.stats is not None
    crawler.stats.set_value("start_time", datetime(2026, 12, 1, 2, tzinfo=UTC))
    for key, value in stats.items():
        crawler.stats.set_value(key, value)
    run = summarize(FEED, crawler, "finished")
    return RunFacts.of(run), MonitorSettings.from_settings(crawler.settings)


HEALTHY = [RunFacts.of_record(past(100))] * 5


@pytest.mark.parametrize(
    ("monitor", "stats", "settings", "expected"),
    [
        (ItemsMonitor(), {"item_scraped_count": 3}, {}, True),
        (ItemsMonitor(), {INCREMENTAL_SKIPPED: 90}, {}, True),
        (ItemsMonitor(), {INCREMENTAL_NOT_MODIFIED: 4}, {}, True),
        (ItemsMonitor(), {}, {}, False),
        (VolumeMonitor(), {"item_scraped_count": 70}, {}, True),
        (VolumeMonitor(), {"item_scraped_count": 70}, {MONITOR_DROP_RATIO: 0.25}, False),
        (VolumeMonitor(), {"item_scraped_count": 20, INCREMENTAL_SKIPPED: 60}, {}, True),
        (VolumeMonitor(), {"item_scraped_count": 50}, {}, False),
        (
            CoverageMonitor(WITH_DATE, "a date"),
            {"item_scraped_count": 100, WITH_DATE: 90},
            {},
            True,
        ),
        (
            CoverageMonitor(WITH_DATE, "a date"),
            {"item_scraped_count": 100, WITH_DATE: 40},
            {},
            False,
        ),
        (
            CoverageMonitor(WITH_CONTACT, "a contact"),
            {"item_scraped_count": 100, WITH_CONTACT: 40},
            {MONITOR_DROP_RATIO: 0.7},
            True,
        ),
        (CoverageMonitor(WITH_DATE, "a date"), {"item_scraped_count": 4, WITH_DATE: 0}, {}, None),
        (ErrorRateMonitor(), {"response_received_count": 10, RETRY_MAX_REACHED: 2}, {}, True),
        (
            ErrorRateMonitor(),
            {"response_received_count": 10, RETRY_MAX_REACHED: 2, DETAIL_FAILED: 1},
            {},
            False,
        ),
        (
            ErrorRateMonitor(),
            {"response_received_count": 10, LISTING_FAILED: 4},
            {MONITOR_MAX_ERROR_RATE: 0.5},
            True,
        ),
        (ErrorRateMonitor(), {LISTING_FAILED: 1}, {}, False),  # the only page failed
    ],
)
def test_each_monitor_reads_its_stats_and_settings(
    monitor: Monitor, stats: dict[str, Any], settings: dict[str, Any], expected: bool | None
) -> None:
    current, config = facts(stats, **settings)
    result = monitor.check(current, HEALTHY, config)
    if expected is None:
        assert result is None
        return
    assert result is not None
    assert (result.check, result.ok) == (monitor.name, expected)
    assert bool(result.message) is not expected  # a failure says why; a pass says nothing


def test_history_monitors_wait_for_a_baseline_and_skip_the_first_backfilling_crawl() -> None:
    current, config = facts({"item_scraped_count": 1, WITH_DATE: 0})
    assert VolumeMonitor().check(current, [], config) is None
    assert CoverageMonitor(WITH_DATE, "a date").check(current, [], config) is None
    first_crawl = past(400, **{INCREMENTAL_KNOWN: 0})
    history = [past(10), first_crawl, past(12, status="failed"), past(11)]
    assert [h.items for h in healthy_runs(history, config)] == [10, 11]
    assert len(healthy_runs([past(10)] * 20, MonitorSettings(history=7))) == 7
