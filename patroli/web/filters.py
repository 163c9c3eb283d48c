"""Jinja filters for the templates: dates, risk, query strings, highlights."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from patroli.web.highlight import render_highlight


def when(value: Any, with_time: bool = True) -> str:
    """ISO 8601 UTC -> '2026-11-28 04:00 UTC' (or the day only)."""
    if not value:
        return "–"
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)[:32]
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d")


def risk(value: Any) -> str:
    return "–" if value is None else f"{float(value):.2f}"


def risk_class(value: Any) -> str:
    if value is None:
        return "risk-none"
    v = float(value)
    return "risk-high" if v >= 0.8 else "risk-mid" if v >= 0.5 else "risk-low"


def qs(params: dict[str, Any], **changes: Any) -> str:
    """A query string from ``params`` with ``changes`` applied (None removes a key)."""
    merged = {**params, **changes}
    return urllib.parse.urlencode(
        {k: v for k, v in merged.items() if v not in (None, "")}, doseq=True
    )


def quote(value: Any) -> str:
    return urllib.parse.quote(str(value), safe="")


def http_url(value: Any) -> str:
    """The URL if it is http(s), else '' (a crawled ``javascript:`` URL never becomes a link)."""
    text = str(value or "").strip()
    scheme = urllib.parse.urlsplit(text).scheme.lower()
    return text if scheme in ("http", "https") else ""


def search_highlight(value: Any) -> Markup:
    return render_highlight(value)


def install(env: Environment) -> None:
    env.filters.update(
        when=when,
        risk=risk,
        risk_class=risk_class,
        quote=quote,
        http_url=http_url,
        search_highlight=search_highlight,
    )
    env.globals["qs"] = qs
