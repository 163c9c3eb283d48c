"""The embedded SQLite store: upserts that never undo a review, evidence kept, search, conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from storage import AdNotFound, ReviewConflict, open_store
from storage.sqlite import SQLiteStore


def record(ad_id: str, **overrides: Any) -> dict[str, Any]:
    base = {
        "ad_id": ad_id, "source": "demo_telegram", "source_kind": "telegram_channel", "native_id": ad_id,
        "url": f"https://t.me/demo/{ad_id}", "title": "Loker admin Kamboja",
        "text": "Dicari admin CS di Phnom Penh, gaji 1.500 USD, tiket gratis. WA 0812-5551-2345",
        "crawled_at": "2026-11-01T00:00:00+00:00", "content_hash": "h1", "phones": ["+6281255512345"],
        "telegram": ["@rekrut_kh"], "countries": ["KH"], "risk": 0.97, "flagged": True,
        "reasons": ["Pekerjaan kantor di Kamboja"], "model_version": "m1", "html": "<div>v1</div>",
    }  # fmt: skip
    return {**base, **overrides}


@pytest.fixture
def store(store_url: str) -> SQLiteStore:
    opened = open_store(store_url)
    assert isinstance(opened, SQLiteStore)
    return opened


def test_new_then_updated(store: SQLiteStore) -> None:
    first = store.upsert_ads([record("a1"), record("a2")])
    assert (first.new, first.updated, sorted(first.new_ids)) == (2, 0, ["a1", "a2"])
    second = store.upsert_ads([record("a1", crawled_at="2026-11-02T00:00:00+00:00")])
    assert (second.new, second.updated) == (0, 1)
    assert store.count() == 2


def test_recrawl_keeps_first_seen_and_review_and_updates_content(store: SQLiteStore) -> None:
    store.upsert_ads([record("a1")])
    store.review("a1", "confirmed", reviewer="analis1", note="modus Kamboja")
    store.upsert_ads(
        [
            record(
                "a1",
                crawled_at="2026-11-05T00:00:00+00:00",
                content_hash="h2",
                text="Teks baru: admin Kamboja",
                risk=0.5,
                flagged=False,
                html="<div>v2</div>",
            )
        ]
    )
    ad = store.get_ad("a1", with_evidence=True)
    assert ad["first_seen"] == "2026-11-01T00:00:00+00:00"
    assert ad["last_seen"] == "2026-11-05T00:00:00+00:00"
    assert ad["text"] == "Teks baru: admin Kamboja"
    assert (ad["status"], ad["reviewed_by"], ad["review_note"], ad["version"]) == (
        "confirmed",
        "analis1",
        "modus Kamboja",
        2,
    )
    assert [e["html"] for e in ad["evidence"]] == ["<div>v1</div>", "<div>v2</div>"]


def test_search_text_phrase_filters_and_ranges(store: SQLiteStore) -> None:
    store.upsert_ads([
        record("a1"),
        record("a2", title="ART Jakarta", text="Dicari ART untuk keluarga di Jakarta Selatan, gaji 3 jt",
               phones=["+6281355570112"], telegram=[], countries=[], risk=0.05, flagged=False),
        record("a3", title="PRT Arab", text="PRT ke Riyadh pakai visa ziarah, tanpa biaya", countries=["SA"], risk=0.9,
               phones=["+6281255512345"]),
    ])  # fmt: skip
    assert {h["ad_id"] for h in store.search("kamboja").hits} == {"a1"}
    assert {h["ad_id"] for h in store.search('"visa ziarah"').hits} == {"a3"}
    assert {h["ad_id"] for h in store.search("phone:0812-5551-2345").hits} == {"a1", "a3"}
    assert {h["ad_id"] for h in store.search("handle:@REKRUT_KH").hits} == {"a1", "a3"}
    assert {h["ad_id"] for h in store.search("country:SA").hits} == {"a3"}
    assert {h["ad_id"] for h in store.search("risk>=0.8 -ziarah").hits} == {"a1"}
    assert {h["ad_id"] for h in store.search("flagged:false").hits} == {"a2"}
    assert [h["ad_id"] for h in store.search("", sort="risk").hits] == ["a1", "a3", "a2"]
    hit = store.search("jakarta").hits[0]
    assert "\x02" in hit["highlight"]
    assert "\x03" in hit["highlight"]


def test_facets_count_the_filtered_set(store: SQLiteStore) -> None:
    store.upsert_ads([record("a1"), record("a2", countries=["SA"], source="demo_feed")])
    facets = store.search("", facets=True).facets
    assert facets["source"] == {"demo_telegram": 1, "demo_feed": 1}
    assert facets["country"] == {"KH": 1, "SA": 1}
    assert facets["status"] == {"new": 2}


def test_review_conflict_when_version_is_stale(store: SQLiteStore) -> None:
    store.upsert_ads([record("a1")])
    store.review("a1", "escalated", reviewer="analis1", expected_version=1)
    with pytest.raises(ReviewConflict, match="reviewed by someone else"):
        store.review("a1", "dismissed", reviewer="analis2", expected_version=1)
    assert store.get_ad("a1")["status"] == "escalated"
    assert [r["decision"] for r in store.review_history("a1")] == ["escalated"]


def test_unknown_ad_and_bad_decision(store: SQLiteStore) -> None:
    with pytest.raises(AdNotFound):
        store.get_ad("nope")
    store.upsert_ads([record("a1")])
    with pytest.raises(ValueError, match="decision must be one of"):
        store.review("a1", "maybe", reviewer="x")


def test_hostile_query_text_is_just_text(store: SQLiteStore) -> None:
    store.upsert_ads([record("a1")])
    assert store.search('"; DROP TABLE ads; --').total == 0
    assert store.search("NEAR(admin OR *)").total == 0
    assert store.count() == 1
