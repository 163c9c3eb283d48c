"""The store contract: every backend passes these — SQLite, OpenSearch and Elasticsearch (real nodes).

Upserts never undo a review, evidence is kept, the query syntax and facets mean the same everywhere,
reviews conflict instead of overwriting, the audit log only grows.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import pytest

from patroli.storage import AdNotFound, ReviewConflict, Store, open_store
from tests.helpers.engines import open_engine_store
from tests.helpers.records import record

BACKENDS = ["sqlite", "opensearch", "elasticsearch"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, store_url: str) -> Iterator[Callable[[], Store]]:
    """Opens stores on one fresh, empty location of a backend (engines: a unique index prefix);
    each call is another connection, as another analyst's would be."""
    opened: list[Store] = []
    engine = (
        None if request.param == "sqlite" else request.getfixturevalue("engines")[request.param]
    )
    prefix = f"t{uuid.uuid4().hex[:10]}"

    def open_one() -> Store:
        store = open_store(store_url) if engine is None else open_engine_store(engine, prefix)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()
    if engine is not None:
        engine.drop_prefix(prefix)


@pytest.fixture
def store(backend: Callable[[], Store]) -> Store:
    """A fresh, empty store of each backend."""
    return backend()


def test_new_then_updated(store: Store) -> None:
    first = store.upsert_ads([record("a1"), record("a2")])
    assert (first.new, first.updated, sorted(first.new_ids)) == (2, 0, ["a1", "a2"])
    second = store.upsert_ads([record("a1", crawled_at="2026-11-02T00:00:00+00:00")])
    assert (second.new, second.updated) == (0, 1)
    assert store.count() == 2


def test_recrawl_keeps_first_seen_and_review_and_updates_content(store: Store) -> None:
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


def test_search_text_phrase_filters_and_ranges(store: Store) -> None:
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
    # Words and entity filters together (on SQLite the text match drives, the entities are looked up).
    assert {h["ad_id"] for h in store.search('"visa ziarah" country:SA').hits} == {"a3"}
    assert {h["ad_id"] for h in store.search("ziarah -country:SA").hits} == set()
    assert {h["ad_id"] for h in store.search("ziarah phone:0812-5551-2345").hits} == {"a3"}
    assert store.search("riyadh country:SA handle:@rekrut_kh").total == 1
    assert {h["ad_id"] for h in store.search("risk>=0.8 -ziarah").hits} == {"a1"}
    assert {h["ad_id"] for h in store.search("flagged:false").hits} == {"a2"}
    assert [h["ad_id"] for h in store.search("", sort="risk").hits] == ["a1", "a3", "a2"]
    hit = store.search("jakarta").hits[0]
    assert "\x02" in hit["highlight"]
    assert "\x03" in hit["highlight"]


def test_facets_count_the_filtered_set(store: Store) -> None:
    store.upsert_ads([record("a1"), record("a2", countries=["SA"], source="demo_feed")])
    facets = store.search("", facets=True).facets
    assert facets["source"] == {"demo_telegram": 1, "demo_feed": 1}
    assert facets["country"] == {"KH": 1, "SA": 1}
    assert facets["status"] == {"new": 2}


def test_review_conflict_when_version_is_stale(store: Store) -> None:
    store.upsert_ads([record("a1")])
    store.review("a1", "escalated", reviewer="analis1", expected_version=1)
    with pytest.raises(ReviewConflict, match="reviewed by someone else"):
        store.review("a1", "dismissed", reviewer="analis2", expected_version=1)
    assert store.get_ad("a1")["status"] == "escalated"
    assert [r["decision"] for r in store.review_history("a1")] == ["escalated"]


def test_unknown_ad_and_bad_decision(store: Store) -> None:
    with pytest.raises(AdNotFound):
        store.get_ad("nope")
    store.upsert_ads([record("a1")])
    with pytest.raises(ValueError, match="decision must be one of"):
        store.review("a1", "maybe", reviewer="x")


def test_hostile_query_text_is_just_text(store: Store) -> None:
    store.upsert_ads([record("a1")])
    assert store.search('"; DROP TABLE ads; --').total == 0
    assert store.search("NEAR(admin OR *)").total == 0
    assert store.count() == 1


def test_deep_pagination_visits_every_ad_once(store: Store) -> None:
    store.upsert_ads(
        [
            record(f"a{i:03d}", risk=round((i % 7) / 7, 3), text=f"iklan kerja nomor {i}")
            for i in range(53)
        ]
    )
    for sort in ("risk", "date", "uncertainty", "relevance"):
        seen: list[str] = []
        after = None
        while True:
            page = store.search("kerja", limit=10, sort=sort, after=after)  # type: ignore[arg-type]
            seen += [h["ad_id"] for h in page.hits]
            if page.next_after is None:
                break
            after = page.next_after
        assert sorted(seen) == sorted(f"a{i:03d}" for i in range(53)), sort
        assert len(seen) == len(set(seen)), sort


def test_related_ads_by_shared_contact_then_text(store: Store) -> None:
    store.upsert_ads([
        record("a1"),
        record("a2", title="Operator Myawaddy", text="operator data Myawaddy", phones=["+6281255512345"], telegram=[]),
        record("a3", title="Admin", text="admin lain", phones=[], telegram=["@rekrut_kh"]),
        record("a4", title="Loker admin Kamboja", text="Dicari admin CS di Phnom Penh gaji USD tiket gratis",
               phones=["+6281355500000"], telegram=[]),
        record("a5", title="Kasir Bandung", text="kasir minimarket Bandung", phones=["+6281355599999"], telegram=[]),
    ])  # fmt: skip
    related = store.related("a1")
    assert [r["ad_id"] for r in related[:2]] == ["a2", "a3"] or [
        r["ad_id"] for r in related[:2]
    ] == ["a3", "a2"]
    by_id = {r["ad_id"]: r for r in related}
    assert by_id["a2"]["via"] == ["phone:+6281255512345"]
    assert by_id["a3"]["via"] == ["handle:@rekrut_kh"]
    assert by_id["a4"]["via"] == ["text"]
    assert "a5" not in by_id


def test_incremental_bookkeeping_keeps_gone_ads(store: Store) -> None:
    store.upsert_ads([record("a1", native_id="n1", extra={"fingerprint": "f1", "etag": '"e1"'}),
                      record("a2", native_id="n2")])  # fmt: skip
    known = store.known_ads("demo_telegram")
    assert set(known) == {"n1", "n2"}
    assert (known["n1"]["ad_id"], known["n1"]["content_hash"]) == ("a1", "h1")
    assert (known["n1"]["fingerprint"], known["n1"]["etag"]) == ("f1", '"e1"')
    assert (known["n2"]["fingerprint"], known["n2"]["etag"]) == (None, None)
    assert store.touch_ads(["a1"], "2026-11-09T00:00:00+00:00") == 1
    assert store.mark_gone(["a2"], "2026-11-09T00:00:00+00:00") == 1
    assert store.get_ad("a1")["last_seen"] == "2026-11-09T00:00:00+00:00"
    gone = store.get_ad("a2")
    assert gone["gone_at"] == "2026-11-09T00:00:00+00:00"
    assert store.count() == 2
    store.upsert_ads([record("a2", native_id="n2", crawled_at="2026-11-10T00:00:00+00:00")])
    assert store.get_ad("a2")["gone_at"] is None


def test_review_is_audited_and_the_audit_log_only_grows(store: Store) -> None:
    store.upsert_ads([record("a1")])
    store.review("a1", "confirmed", reviewer="analis1", note="jelas")
    store.append_audit("admin", "user.add", "analis2", None, {"role": "analyst"})
    log = store.audit_log()
    assert [(e["actor"], e["action"], e["target"]) for e in log] == [
        ("admin", "user.add", "analis2"),
        ("analis1", "review", "a1"),
    ]
    assert (log[1]["before"], log[1]["after"], log[1]["detail"]) == ("new", "confirmed", "jelas")
    assert [e["action"] for e in store.audit_log(target="a1")] == ["review"]


def test_users_runs_saved_searches(store: Store) -> None:
    store.put_user({"name": "analis1", "role": "analyst", "password_hash": "$argon2id$x"})
    store.put_user(
        {"name": "admin", "role": "admin", "password_hash": "$argon2id$y", "failed_logins": 2}
    )
    assert [u["name"] for u in store.list_users()] == ["admin", "analis1"]
    user = store.get_user("admin")
    assert user is not None
    assert (user["role"], user["active"], user["failed_logins"]) == ("admin", True, 2)
    assert store.get_user("nobody") is None
    store.record_run({"run_id": "r1", "source": "demo_telegram", "started_at": "2026-11-01T00:00:00+00:00",
                      "finished_at": "2026-11-01T00:01:00+00:00", "status": "ok", "pages": 3, "items": 40,
                      "new": 40, "flagged": 12, "errors": 0, "degraded_pages": 0, "notes": [], "stats": {"x": 1}})  # fmt: skip
    store.record_run({"run_id": "r2", "source": "demo_feed", "started_at": "2026-11-02T00:00:00+00:00", "status": "degraded",
                      "notes": ["layout changed"]})  # fmt: skip
    assert [r["run_id"] for r in store.list_runs()] == ["r2", "r1"]
    assert store.list_runs(source="demo_telegram")[0]["stats"] == {"x": 1}
    saved = store.save_search("inv1", "Kamboja", "country:KH flagged:true", "webhook")
    assert [s["name"] for s in store.list_saved_searches("inv1")] == ["Kamboja"]
    store.delete_saved_search(saved["id"])
    assert store.list_saved_searches() == []


def test_stats_and_labelled_ads(store: Store) -> None:
    store.upsert_ads(
        [record("a1"), record("a2", flagged=False, risk=0.1, countries=["SA"]), record("a3")]
    )
    store.review("a1", "confirmed", reviewer="x")
    store.review("a2", "dismissed", reviewer="x")
    stats = store.stats(days=3650)
    assert sum(d["crawled"] for d in stats["per_day"]) == 3
    assert sum(d["confirmed"] for d in stats["per_day"]) == 1
    assert stats["per_source"]["demo_telegram"] == {"ads": 3, "flagged": 2, "confirmed": 1}
    assert stats["per_country"]["KH"]["ads"] == 2
    assert stats["backlog"]["count"] == 1
    assert {(a["ad_id"], a["status"]) for a in store.labelled_ads()} == {
        ("a1", "confirmed"),
        ("a2", "dismissed"),
    }


def test_concurrent_analysts_exactly_one_wins(backend: Callable[[], Store]) -> None:
    first, second = backend(), backend()  # two analysts, two connections
    first.upsert_ads([record("a1")])
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def decide(store: Store, who: str) -> None:
        barrier.wait()
        try:
            store.review("a1", "confirmed", reviewer=who, expected_version=1)
            outcomes.append("ok")
        except ReviewConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=decide, args=(s, f"analis{i}"))
               for i, s in enumerate([first, second] * 3)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 5 + ["ok"]
    ad = second.get_ad("a1")
    assert (ad["status"], ad["version"]) == ("confirmed", 2)
    assert len(second.review_history("a1")) == 1
