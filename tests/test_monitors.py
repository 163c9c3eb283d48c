"""Monitors on finished runs, table-driven (as Spidermon tests its monitors): no crawl needed."""

from __future__ import annotations

from typing import Any

import pytest

from crawler.monitors import MonitorSettings, apply_checks, run_checks
from crawler.runs import SourceRun

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
