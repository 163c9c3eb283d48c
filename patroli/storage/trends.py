"""The dashboard's leads, counted alike on every backend: ads per route (origin province → transit →
destination), per agency, per kind of work and per province, each with flagged and confirmed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

TrendRow = tuple[str | None, Sequence[str], Sequence[str], str | None, str | None, bool, str | None]
UNKNOWN = "?"


def route_key(province: str | None, transit: Sequence[str], destination: str) -> str:
    """ "ID-NB → Nunukan → MY"; an unknown origin is "?", no transit is left out."""
    return " → ".join([province or UNKNOWN, *transit[:2], destination])


def trend_rows(rows: Iterable[TrendRow]) -> dict[str, Any]:
    groups: dict[str, dict[str, dict[str, int]]] = {
        "per_route": {},
        "per_agency": {},
        "per_job_type": {},
        "per_province": {},
    }

    def count(group: str, key: str, flagged: bool, status: str | None) -> None:
        entry = groups[group].setdefault(key, {"ads": 0, "flagged": 0, "confirmed": 0})
        entry["ads"] += 1
        entry["flagged"] += int(flagged)
        entry["confirmed"] += int(status == "confirmed")

    for province, transit, countries, agency, job, flagged, status in rows:
        for destination in countries or ():
            count(
                "per_route", route_key(province, list(transit or ()), destination), flagged, status
            )
        if agency:
            count("per_agency", agency, flagged, status)
        if job:
            count("per_job_type", job, flagged, status)
        if province:
            count("per_province", province, flagged, status)
    return {
        name: dict(sorted(entries.items(), key=lambda kv: (-kv[1]["ads"], kv[0])))
        for name, entries in groups.items()
    }
