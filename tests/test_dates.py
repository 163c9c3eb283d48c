"""Indonesian relative and absolute dates become tz-aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from patroli.text.dates import parse_feed_date, parse_iso_date, parse_site_date

# 10:00 WIB on 28 Nov 2026 = 03:00 UTC
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 hari yang lalu", datetime(2026, 11, 26, 3, 0, tzinfo=UTC)),
        ("3 jam yang lalu", datetime(2026, 11, 28, 0, 0, tzinfo=UTC)),
        ("Kemarin", datetime(2026, 11, 27, 3, 0, tzinfo=UTC)),
        ("Hari ini 09:15", datetime(2026, 11, 28, 2, 15, tzinfo=UTC)),
        ("1 minggu yang lalu", datetime(2026, 11, 21, 3, 0, tzinfo=UTC)),
        ("12 Nov", datetime(2026, 11, 11, 17, 0, tzinfo=UTC)),
        ("27 Agt", datetime(2026, 8, 26, 17, 0, tzinfo=UTC)),
        ("03 Okt 2026", datetime(2026, 10, 2, 17, 0, tzinfo=UTC)),
    ],
)
def test_site_dates_in_indonesian(text: str, expected: datetime) -> None:
    parsed = parse_site_date(text, now=NOW)
    assert parsed == expected
    assert parsed is not None
    assert parsed.tzinfo is not None


@pytest.mark.parametrize("text", ["", "   ", "bukan tanggal sama sekali xyz"])
def test_no_date_gives_none(text: str) -> None:
    assert parse_site_date(text, now=NOW) is None


def test_iso_and_feed_dates_are_utc() -> None:
    assert parse_iso_date("2026-09-19T11:35:22+00:00") == datetime(
        2026, 9, 19, 11, 35, 22, tzinfo=UTC
    )
    assert parse_iso_date("2026-09-19") == datetime(2026, 9, 19, tzinfo=UTC)
    assert parse_feed_date("Sat, 28 Nov 2026 10:00:00 +0700") == datetime(
        2026, 11, 28, 3, 0, tzinfo=UTC
    )
    assert parse_feed_date(None) is None
