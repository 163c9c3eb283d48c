"""Turn store records into what pages show: reasons in the reader's language, filters, cursors."""

from __future__ import annotations

import json
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
            (code, register_reason_text(code, language) if code.startswith("register:")
             else reason_text(code, language))
            for code in codes
        ]  # fmt: skip
    return [("", str(text)) for text in ad.get("reasons") or []]


def parse_after(raw: str) -> list[Any] | None:
    """A pagination cursor from the query string: a JSON list of at most two scalars."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, list) or not 1 <= len(value) <= 2:
        return None
    if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
        return None
    return value


def dump_after(value: list[Any] | None) -> str:
    return json.dumps(value, separators=(",", ":")) if value else ""


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


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
