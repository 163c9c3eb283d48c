"""The investigators' query syntax."""

from __future__ import annotations

import pytest

from patroli.storage.query import Filter, QuerySyntaxError, Range, parse_query, restrict_to_source


def test_words_phrases_and_exclusions() -> None:
    q = parse_query('kamboja "visa ziarah" -judi')
    assert q.terms == ["kamboja", "visa ziarah"]
    assert q.excluded == ["judi"]


def test_filters_are_normalized() -> None:
    q = parse_query(
        "phone:0812-5551-2345 handle:@Admin_X country:kh status:new flagged:yes source:demo_telegram"
    )
    assert Filter("phone", ("+6281255512345",)) in q.filters
    assert Filter("handle", ("@admin_x",)) in q.filters
    assert Filter("country", ("KH",)) in q.filters
    assert Filter("status", ("new",)) in q.filters
    assert Filter("flagged", ("1",)) in q.filters
    assert Filter("source", ("demo_telegram",)) in q.filters


def test_repeated_filter_means_any_of_and_minus_negates() -> None:
    q = parse_query("country:KH country:MM -status:dismissed")
    assert Filter("country", ("KH", "MM")) in q.filters
    assert Filter("status", ("dismissed",), negate=True) in q.filters


def test_ranges() -> None:
    q = parse_query("risk>=0.8 posted>=2026-11-01 seen<2026-11-28T00:00:00+07:00")
    assert Range("risk", ">=", 0.8) in q.ranges
    assert Range("posted_at", ">=", "2026-11-01T00:00:00+00:00") in q.ranges
    assert Range("last_seen", "<", "2026-11-27T17:00:00+00:00") in q.ranges


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("colour:red", "unknown filter colour"),
        ("phone:abc", "not a phone number"),
        ("country:Kamboja", "two-letter ISO code"),
        ("risk>=high", "risk needs a number"),
        ("posted>=kemarin", "not a date"),
        ("source>=x", "only risk, posted, seen and first"),
    ],
)
def test_errors_say_which_part_and_why(query: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError, match=message):
        parse_query(query)


@pytest.mark.parametrize(
    ("saved", "narrowed"),
    [
        ("kamboja", "kamboja source:tg"),
        ('"visa ziarah" -judi country:KH', '"visa ziarah" -judi country:KH source:tg'),
        ("source:tg kamboja", "kamboja source:tg"),
        ("source:fb source:tg kamboja", "kamboja source:tg"),  # not widened to fb
        ("-source:fb kamboja", "-source:fb kamboja source:tg"),
        ("source:fb kamboja", None),  # asks for another source only
    ],
)
def test_a_saved_search_is_narrowed_to_one_source(saved: str, narrowed: str | None) -> None:
    assert restrict_to_source(saved, "tg") == narrowed
    if narrowed is not None:
        sources = [
            f.values for f in parse_query(narrowed).filters if f.field == "source" and not f.negate
        ]
        assert sources == [("tg",)]
