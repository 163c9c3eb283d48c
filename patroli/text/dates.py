"""Dates as sites print them ("2 hari yang lalu", "Kemarin 21:30", "27 Agt") -> tz-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import dateparser

# Indonesian sites print local time; WIB is where most of them, and their readers, are.
SITE_TIMEZONE = "Asia/Jakarta"
_LANGUAGES = ["id", "en"]


def parse_site_date(
    text: str, now: datetime | None = None, timezone: str = SITE_TIMEZONE
) -> datetime | None:
    """Parse an Indonesian or English, relative or absolute date; ``None`` when there is none.

    Relative dates are resolved against ``now`` (default: the current time) in the site's time zone,
    and dates without a year are taken from the past, as a listing never shows future posts.
    """
    text = " ".join(text.split())
    if not text:
        return None
    # Listings repeat the same few strings ("2 hari yang lalu"), and dateparser costs ~10 ms a call:
    # parse each string once per minute of the clock.
    base = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    return _parse_cached(text, base, timezone)


@lru_cache(maxsize=4096)
def _parse_cached(text: str, base: datetime, timezone: str) -> datetime | None:
    local_base = base.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    parsed = dateparser.parse(
        text,
        languages=_LANGUAGES,
        settings={
            "RELATIVE_BASE": local_base,
            "TIMEZONE": timezone,
            "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DATES_FROM": "past",
        },
    )
    return parsed.astimezone(UTC) if parsed else None


def parse_iso_date(text: str | None) -> datetime | None:
    """Parse an ISO 8601 timestamp (``<time datetime>``, JSON-LD); naive values are taken as UTC."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return parse_site_date(text)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def parse_feed_date(text: str | None) -> datetime | None:
    """Parse an RSS (RFC 2822) or Atom (ISO 8601) date."""
    if not text:
        return None
    try:
        value = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return parse_iso_date(text)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
