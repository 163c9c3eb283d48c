"""Bar charts as plain SVG geometry, computed here and drawn by the templates (no JavaScript)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    series: str
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]  # x position, text (categories along the bottom)
    maximum: int


def grouped_bars(
    rows: Sequence[Mapping[str, Any]],
    key: str,
    series: Sequence[str],
    *,
    width: int = 720,
    height: int = 200,
    max_groups: int = 31,
) -> Chart:
    """One group of bars per row (e.g. per day), one bar per series (crawled, flagged, confirmed)."""
    rows = list(rows)[-max_groups:]
    top = max([int(r.get(s) or 0) for r in rows for s in series] or [0]) or 1
    plot_height = height - 24
    group = width / max(len(rows), 1)
    bar = max(min(group / (len(series) + 1), 28), 2)
    bars, labels = [], []
    every = max(1, len(rows) // 8)
    for i, row in enumerate(rows):
        x0 = i * group + (group - bar * len(series)) / 2
        for j, name in enumerate(series):
            value = int(row.get(name) or 0)
            h = plot_height * value / top
            bars.append(
                Bar(
                    round(x0 + j * bar, 1),
                    round(plot_height - h, 1),
                    round(bar - 1, 1),
                    round(h, 1),
                    value,
                    name,
                    str(row.get(key, "")),
                )
            )
        if i % every == 0:
            labels.append((round(i * group + group / 2, 1), str(row.get(key, ""))[-5:]))
    return Chart(width, height, bars, labels, top)


def ranked(counts: Mapping[str, Mapping[str, Any]], limit: int = 12) -> list[dict[str, Any]]:
    """Rows for horizontal bars: key, ads, flagged, confirmed and percentages of the largest."""
    items = list(counts.items())[:limit]
    top = max([int(v.get("ads") or 0) for _, v in items] or [0]) or 1
    return [
        {
            "key": k,
            **v,
            "pct": round(100 * int(v.get("ads") or 0) / top, 1),
            "flagged_pct": round(100 * int(v.get("flagged") or 0) / top, 1),
            "confirmed_pct": round(100 * int(v.get("confirmed") or 0) / top, 1),
        }
        for k, v in items
    ]
