"""Turn store records into what pages show, and parameters into values: reasons in the reader's
language, the queue's filters, whole numbers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from classifiers.scoring import reason_text
from patroli.agencies.reasons import register_reason_text

_SOURCE_RE = re.compile(r"[\w.-]{1,64}")
_COUNTRY_RE = re.compile(r"[A-Za-z]{2}")


def reasons(ad: Mapping[str, Any], language: str) -> list[tuple[str, str]]:
    """(code, text) per reason, in ``language``; ads scored before reason codes keep their text."""
    codes = ad.get("reason_codes") or []
    if codes:
        return [
            (
                code,
                register_reason_text(code, language)
                if code.startswith("register:")
                else reason_text(code, language),
            )
            for code in codes
        ]
    return [("", str(text)) for text in ad.get("reasons") or []]


def whole_number(raw: str, maximum: int = 2**53) -> int | None:
    """A whole number written with ASCII digits (``str.isdigit`` also accepts ``²`` and ``٣``),
    within ``maximum``; None for anything else."""
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 16:
        return None
    value = int(raw)
    return value if value <= maximum else None


def plausible_id(ad_id: str) -> bool:
    """Whether ``ad_id`` could name an ad at all (bounded, printable); others are not looked up."""
    return 0 < len(ad_id.encode("utf-8", "replace")) <= 256 and ad_id.isprintable()


def _day(raw: str) -> date | None:
    """A day of a date filter; one the day after which cannot be written is no day either."""
    try:
        day = date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    return day if day is None or day < date.max else None


def queue_filters(params: Mapping[str, str]) -> tuple[dict[str, str], str, list[str]]:
    """Clean the queue's filter parameters; return them, the store query and what was ignored."""
    clean: dict[str, str] = {}
    ignored: list[str] = []
    parts = ["attention:true", "status:new"]  # flagged, or like a confirmed cluster
    source = params.get("source", "")
    if source:
        if _SOURCE_RE.fullmatch(source):
            clean["source"] = source
            parts.append(f"source:{source}")
        else:
            ignored.append("source")
    country = params.get("country", "")
    if country:
        if _COUNTRY_RE.fullmatch(country):
            clean["country"] = country.upper()
            parts.append(f"country:{country.upper()}")
        else:
            ignored.append("country")
    since, until = _day(params.get("since", "")), _day(params.get("until", ""))
    if since:
        clean["since"] = since.isoformat()
        parts.append(f"first>={since.isoformat()}")
    elif params.get("since"):
        ignored.append("since")
    if until:
        clean["until"] = until.isoformat()
        parts.append(f"first<{(until + timedelta(days=1)).isoformat()}")
    elif params.get("until"):
        ignored.append("until")
    min_risk = params.get("min_risk", "")
    if min_risk:
        try:
            value = float(min_risk)
        except ValueError:
            value = -1
        if 0 <= value <= 1:
            clean["min_risk"] = f"{value:g}"
            parts.append(f"risk>={value:g}")
        else:
            ignored.append("min_risk")
    sort = params.get("sort", "risk")
    clean["sort"] = sort if sort in ("risk", "uncertainty") else "risk"
    return clean, " ".join(parts), ignored
