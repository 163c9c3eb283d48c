"""The store contract: every backend passes these — SQLite, OpenSearch and Elasticsearch (real nodes).

Upserts never undo a review, evidence is kept, the query syntax and facets mean the same everywhere,
reviews conflict instead of overwriting, the audit log only grows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from patroli.cases.items import resolve
from patroli.storage import AdNotFound, ReviewConflict, Store, StoreError
from tests.helpers.flyerkit import blank_png, flyer_facts, image_facts, with_images
from tests.helpers.records import record


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
    store.upsert_ads(
        [
            record("a1"),
            record(
                "a2",
                title="ART Jakarta",
                text="Dicari ART untuk keluarga di Jakarta Selatan, gaji 3 jt",
                phones=["+6281355570112"],
                telegram=[],
                countries=[],
                risk=0.05,
                flagged=False,
            ),
            record(
                "a3",
                title="PRT Arab",
                text="PRT ke Riyadh pakai visa ziarah, tanpa biaya",
                countries=["SA"],
                risk=0.9,
                phones=["+6281255512345"],
            ),
        ]
    )
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


def test_genre_risky_and_language_are_stored_and_filtered(store: Store) -> None:
    """The two-question model's fields: a report of an illegal offer is risky but not flagged, a
    post in a language the model does not score has no risk; each is found by its filter."""
    store.upsert_ads(
        [
            record("ad1", genre="ad", risky=True, flagged=True, lang="id"),
            record(
                "rep1",
                title="Polda ungkap TPPO",
                text="Korban dijanjikan kerja admin di Kamboja, gaji 1.000 USD",
                genre="report",
                risky=True,
                flagged=False,
                lang="id",
                risk=0.9,
            ),
            record(
                "rep2",
                title="Repatriasi",
                text="KBRI memulangkan 20 WNI",
                genre="report",
                risky=False,
                flagged=False,
                lang="id",
                risk=0.01,
            ),
            record(
                "ru1",
                title="Новости",
                text="Сводка новостей за день",
                genre=None,
                risky=False,
                flagged=False,
                lang="ru",
                risk=None,
                reasons=["Bahasa ru tidak didukung: tidak dinilai"],
            ),
        ]
    )
    assert {h["ad_id"] for h in store.search("genre:report risky:true").hits} == {"rep1"}
    assert {h["ad_id"] for h in store.search("genre:report").hits} == {"rep1", "rep2"}
    assert {h["ad_id"] for h in store.search("risky:true -genre:ad").hits} == {"rep1"}
    assert {h["ad_id"] for h in store.search("lang:ru").hits} == {"ru1"}
    assert {h["ad_id"] for h in store.search("lang:RU").hits} == {"ru1"}
    assert {h["ad_id"] for h in store.search("flagged:true").hits} == {"ad1"}
    unscored = store.get_ad("ru1")
    assert unscored["risk"] is None
    assert unscored["lang"] == "ru"
    assert unscored["risky"] is False
    report = store.get_ad("rep1")
    assert (report["genre"], report["risky"], report["flagged"]) == ("report", True, False)
    # A re-crawl of the same content (a new model's scores) updates the fields too.
    store.upsert_ads(
        [
            record(
                "rep2",
                title="Repatriasi",
                text="KBRI memulangkan 20 WNI",
                genre="report",
                risky=True,
                flagged=False,
                lang="id",
                risk=0.5,
            )
        ]
    )
    assert store.get_ad("rep2")["risky"] is True


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
    store.upsert_ads(
        [
            record("a1"),
            record(
                "a2",
                title="Operator Myawaddy",
                text="operator data Myawaddy",
                phones=["+6281255512345"],
                telegram=[],
            ),
            record("a3", title="Admin", text="admin lain", phones=[], telegram=["@rekrut_kh"]),
            record(
                "a4",
                title="Loker admin Kamboja",
                text="Dicari admin CS di Phnom Penh gaji USD tiket gratis",
                phones=["+6281355500000"],
                telegram=[],
            ),
            record(
                "a5",
                title="Kasir Bandung",
                text="kasir minimarket Bandung",
                phones=["+6281355599999"],
                telegram=[],
            ),
        ]
    )
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
    store.upsert_ads(
        [
            record("a1", native_id="n1", extra={"fingerprint": "f1", "etag": '"e1"'}),
            record("a2", native_id="n2"),
        ]
    )
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
    store.record_run(
        {
            "run_id": "r1",
            "source": "demo_telegram",
            "started_at": "2026-11-01T00:00:00+00:00",
            "finished_at": "2026-11-01T00:01:00+00:00",
            "status": "ok",
            "pages": 3,
            "items": 40,
            "new": 40,
            "flagged": 12,
            "errors": 0,
            "degraded_pages": 0,
            "notes": [],
            "stats": {"x": 1},
        }
    )
    store.record_run(
        {
            "run_id": "r2",
            "source": "demo_feed",
            "started_at": "2026-11-02T00:00:00+00:00",
            "status": "degraded",
            "notes": ["layout changed"],
        }
    )
    assert [r["run_id"] for r in store.list_runs()] == ["r2", "r1"]
    assert store.list_runs(source="demo_telegram")[0]["stats"] == {"x": 1}
    saved = store.save_search("inv1", "Kamboja", "country:KH flagged:true", "webhook")
    assert [s["name"] for s in store.list_saved_searches("inv1")] == ["Kamboja"]
    store.delete_saved_search(saved["id"])
    assert store.list_saved_searches() == []


def test_api_tokens_are_kept_hashed_listed_and_revoked_once(store: Store) -> None:
    token = {
        "id": "t1",
        "owner": "inv1",
        "name": "notebook",
        "scope": "api",
        "secret_hash": "ab" * 32,
        "created_at": "2026-11-01T00:00:00+00:00",
        "expires_at": "2027-11-01T00:00:00+00:00",
    }
    store.put_token(token)
    store.put_token(
        {
            **token,
            "id": "t2",
            "owner": "adm",
            "scope": "metrics",
            "expires_at": None,
            "created_at": "2026-11-02T00:00:00+00:00",
        }
    )
    with pytest.raises(StoreError, match="exists already"):
        store.put_token({**token, "secret_hash": "cd" * 32})
    got = store.get_token("t1")
    assert got == {**token, "last_used_at": None, "revoked_at": None}
    assert store.get_token("nope") is None
    assert [t["id"] for t in store.list_tokens()] == ["t1", "t2"]
    assert [t["id"] for t in store.list_tokens("adm")] == ["t2"]
    store.touch_token("t1", "2026-11-03T00:00:00+00:00")
    assert store.revoke_token("t1", "2026-11-04T00:00:00+00:00") is True
    assert store.revoke_token("t1", "2026-11-05T00:00:00+00:00") is False  # once
    assert store.revoke_token("nope", "2026-11-05T00:00:00+00:00") is False
    store.touch_token("t1", "2026-11-06T00:00:00+00:00")  # a late use never undoes the revocation
    got = store.get_token("t1")
    assert got is not None
    assert (got["revoked_at"], got["last_used_at"], got["secret_hash"]) == (
        "2026-11-04T00:00:00+00:00",
        "2026-11-06T00:00:00+00:00",
        "ab" * 32,
    )


def test_decision_counts_per_decision_since_a_time(store: Store) -> None:
    assert store.decision_counts() == {}
    store.upsert_ads([record("a1"), record("a2"), record("a3")])
    store.review("a1", "confirmed", reviewer="x")
    store.review("a2", "dismissed", reviewer="x")
    store.review("a1", "escalated", reviewer="y")
    assert store.decision_counts() == {"confirmed": 1, "dismissed": 1, "escalated": 1}
    assert store.decision_counts(since="2000-01-01T00:00:00+00:00") == store.decision_counts()
    assert store.decision_counts(since="2999-01-01T00:00:00+00:00") == {}


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

    threads = [
        threading.Thread(target=decide, args=(s, f"analis{i}"))
        for i, s in enumerate([first, second] * 3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 5 + ["ok"]
    ad = second.get_ad("a1")
    assert (ad["status"], ad["version"]) == ("confirmed", 2)
    assert len(second.review_history("a1")) == 1


# --- images: their text is searched, the same flyer is found across ads ----------------------


def test_image_text_is_searched_with_the_text_and_by_ocr(store: Store) -> None:
    flyer = {
        **flyer_facts("p01"),
        "ocr_text": "Berangkat cepat pakai visa turis\nBiaya proses Rp 7.500.000",
    }
    store.upsert_ads(
        [
            record("a1", text="Info lengkap di gambar", **with_images([flyer])),
            record("a2", text="Visa turis dulu, kerja di Phnom Penh"),
        ]
    )
    assert sorted(h["ad_id"] for h in store.search("turis").hits) == ["a1", "a2"]
    assert [h["ad_id"] for h in store.search("ocr:turis").hits] == ["a1"]
    assert [h["ad_id"] for h in store.search('ocr:"biaya proses"').hits] == ["a1"]
    assert store.search("ocr:Phnom").total == 0  # in a2's text, not in any image
    assert [h["ad_id"] for h in store.search("turis -ocr:turis").hits] == ["a2"]
    ad = store.get_ad("a1")
    assert ad["image_text"].startswith("Berangkat cepat")
    assert ad["images"][0]["phash"] == flyer["phash"]
    assert ad["images"][0]["linkable"] is True


NO_CONTACT = {"phones": [], "telegram": []}  # linked by their images alone


def test_same_flyer_across_reposts_and_never_for_blank_images(store: Store) -> None:
    blank = image_facts(blank_png(), "https://img.example/placeholder.png")
    assert blank["linkable"] is False
    assert blank["low_information"] == "blank"
    store.upsert_ads(
        [
            record("orig", **NO_CONTACT, **with_images([flyer_facts("p01")])),
            record(
                "resized",
                source="demo_pasarloka",
                **NO_CONTACT,
                **with_images([blank, flyer_facts("p01", "resized")]),
            ),
            record(
                "mirrored",
                source="demo_fb_group",
                **NO_CONTACT,
                **with_images([flyer_facts("p01", "mirrored")]),
            ),
            record("cropped", **NO_CONTACT, **with_images([flyer_facts("p01", "cropped")])),
            record("other", **NO_CONTACT, **with_images([flyer_facts("p02"), blank])),
            record("blank_only", **NO_CONTACT, **with_images([blank])),
        ]
    )
    found = store.same_flyer([flyer_facts("p01", "recompressed")])
    assert sorted(r["ad_id"] for r in found) == ["cropped", "mirrored", "orig", "resized"]
    assert all(r["via"] == ["flyer"] and len(r["flyer_distance"]) == 2 for r in found)
    assert [r["flyer_distance"] for r in found] == sorted(r["flyer_distance"] for r in found)
    assert store.same_flyer([blank]) == []  # a placeholder links nothing, though 3 ads show it
    assert [
        r["ad_id"] for r in store.same_flyer([flyer_facts("p01")], exclude="orig", limit=1)
    ] != ["orig"]
    related = {r["ad_id"]: r["via"] for r in store.related("orig")}
    assert related["resized"] == ["flyer"]
    assert related["mirrored"] == ["flyer"]
    assert related.get("other", []) != ["flyer"]
    assert related.get("blank_only", []) != ["flyer"]


def test_concurrent_wrong_passwords_all_count_and_lock(backend: Callable[[], Store]) -> None:
    """60 failures at once from three connections: each counted exactly once (no lost update),
    so the account locks every ``max_failures`` and ends locked."""
    stores = [backend() for _ in range(3)]
    stores[0].put_user({"name": "analis1", "role": "analyst", "password_hash": "$argon2id$x"})
    until = "2999-01-01T00:00:00+00:00"
    barrier = threading.Barrier(60)
    reached: list[int | str | None] = []
    lock = threading.Lock()

    def guess(store: Store) -> None:
        barrier.wait()
        try:
            count: int | str | None = store.count_login_failure(
                "analis1", max_failures=7, lock_until=until
            )
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            count = repr(exc)
        with lock:
            reached.append(count)

    threads = [threading.Thread(target=guess, args=(stores[i % 3],)) for i in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 60 = 8 x 7 + 4: eight failures reached the limit (each locked), four counted since.
    assert sorted(reached) == sorted([*range(1, 8)] * 8 + [1, 2, 3, 4])  # type: ignore[type-var]
    user = stores[1].get_user("analis1")
    assert user is not None
    assert (user["failed_logins"], user["locked_until"]) == (4, until)
    assert stores[2].count_login_failure("nobody", max_failures=7, lock_until=until) is None


# --- cases, takedown requests, holds and captures (CaseStore, EvidenceStore) ----------------------


def test_case_items_notes_and_routing_are_kept_and_audited(store: Store) -> None:
    store.upsert_ads([record("a1"), record("a2", phones=["+6281355570112"])])
    case = store.create_case(
        {
            "title": "Jaringan admin Kamboja",
            "description": "rekrutmen lewat Telegram",
            "assignee": "penyidik1",
            "province": "Nusa Tenggara Barat",
        },
        actor="penyidik1",
    )
    assert (case["status"], case["items"], case["notes"]) == ("open", [], [])
    store.add_case_item(case["id"], "ad", "a1", actor="penyidik1", note="iklan pertama")
    again = store.add_case_item(case["id"], "ad", "a1", actor="penyidik1")
    phone = store.add_case_item(case["id"], "identifier", "phone:0813-5557-0112", actor="penyidik1")
    store.add_case_item(case["id"], "network", "net-7", actor="penyidik1")
    assert phone["value"] == "phone:+6281355570112"
    store.add_case_note(case["id"], "Nomor yang sama di dua situs.", actor="penyidik1")
    changed = store.update_case(
        case["id"],
        {
            "status": "referred",
            "routing": [
                {
                    "kind": "police",
                    "to": "Ditressiber Polda NTB",
                    "reference": "B/123/XI/2026",
                    "by": "penyidik1",
                }
            ],
        },
        actor="penyidik1",
    )
    assert changed["status"] == "referred"
    assert changed["routing"][0]["to"] == "Ditressiber Polda NTB"
    full = store.get_case(case["id"])
    assert [(i["kind"], i["value"]) for i in full["items"]] == [
        ("ad", "a1"),
        ("identifier", "phone:+6281355570112"),
        ("network", "net-7"),
    ]
    assert again["id"] == full["items"][0]["id"]
    assert [n["text"] for n in full["notes"]] == ["Nomor yang sama di dua situs."]
    assert [c["id"] for c in store.cases_holding("ad", "a1")] == [case["id"]]
    assert store.cases_holding("ad", "a2") == []
    store.remove_case_item(case["id"], full["items"][2]["id"], actor="penyidik1")
    assert len(store.get_case(case["id"])["items"]) == 2
    assert [c["title"] for c in store.list_cases(status="referred")] == ["Jaringan admin Kamboja"]
    assert store.list_cases(status="closed") == []
    actions = [e["action"] for e in store.audit_log(target=case["id"])]
    assert actions == [
        "case.item.remove",
        "case.update",
        "case.note",
        "case.item.add",
        "case.item.add",
        "case.item.add",
        "case.create",
    ]
    update = store.audit_log(target=case["id"])[1]
    assert (update["before"]["status"], update["after"]["status"]) == ("open", "referred")


def test_case_refuses_what_it_cannot_hold(store: Store) -> None:
    from patroli.storage import NotFound

    with pytest.raises(ValueError, match="needs a title"):
        store.create_case({"title": "  "}, actor="x")
    case = store.create_case({"title": "Kasus"}, actor="x")
    with pytest.raises(ValueError, match="a case item is one of"):
        store.add_case_item(case["id"], "person", "Budi", actor="x")
    with pytest.raises(ValueError, match="an identifier is"):
        store.add_case_item(case["id"], "identifier", "0812-5551-2345", actor="x")
    with pytest.raises(ValueError, match="a case status is one of"):
        store.update_case(case["id"], {"status": "done"}, actor="x")
    with pytest.raises(ValueError, match="unknown province"):
        store.update_case(case["id"], {"province": "Atlantis"}, actor="x")
    with pytest.raises(NotFound, match="no case with id nope"):
        store.get_case("nope")
    with pytest.raises(NotFound):
        store.add_case_note("nope", "teks", actor="x")


def test_takedown_requests_move_through_their_statuses(store: Store) -> None:
    store.upsert_ads([record("a1"), record("a2")])
    first = store.add_takedown(
        {
            "ad_id": "a1",
            "url": "https://t.me/demo/a1",
            "channel": "saman",
            "platform": "telegram",
            "letter_number": "B-12/KP2MI/XI/2026",
            "agency": "KP2MI",
            "batch_id": "b1",
            "urgent": True,
        },
        actor="ivan",
    )
    second = store.add_takedown(
        {
            "ad_id": "a2",
            "url": "https://t.me/demo/a2",
            "channel": "aduankonten",
            "platform": "telegram",
        },
        actor="ivan",
    )
    assert (first["status"], first["urgent"], second["urgent"]) == ("submitted", True, False)
    checked = store.update_takedown(
        first["id"], {}, actor="patroli", check={"http_status": 200, "outcome": "live"}
    )
    assert checked["status"] == "submitted"
    assert [c["http_status"] for c in checked["checks"]] == [200]
    removed = store.update_takedown(
        first["id"],
        {"status": "removed"},
        actor="patroli",
        check={"http_status": 410, "outcome": "removed"},
    )
    assert removed["status"] == "removed"
    assert removed["removed_at"]
    assert [c["http_status"] for c in removed["checks"]] == [200, 410]
    refused = store.update_takedown(
        second["id"], {"status": "refused", "reason": "tautan tidak valid"}, actor="ivan"
    )
    assert (refused["status"], refused["reason"]) == ("refused", "tautan tidak valid")
    assert [t["ad_id"] for t in store.list_takedowns(status="removed")] == ["a1"]
    assert len(store.list_takedowns()) == 2
    assert [t["id"] for t in store.list_takedowns(ad_id="a2")] == [second["id"]]
    assert [e["action"] for e in store.audit_log(target="a1")] == [
        "takedown.status",
        "takedown.submit",
    ]


def test_hold_capture_and_what_retention_keeps(store: Store) -> None:
    pointer = {
        "file": "warc/2026/11/x.warc.gz",
        "offset": 0,
        "length": 900,
        "record_id": "<urn:uuid:1>",
        "digest": "sha256:ab",
    }
    store.upsert_ads(
        [
            record("a1", warc=pointer),
            record("a2", warc={**pointer, "file": "warc/2026/11/y.warc.gz"}),
            record("a3", flagged=False, warc={**pointer, "file": "warc/2026/11/z.warc.gz"}),
        ]
    )
    evidence = store.get_ad("a1", with_evidence=True)["evidence"][0]
    assert (
        evidence["warc_file"],
        evidence["warc_offset"],
        evidence["warc_length"],
        evidence["warc_record_id"],
        evidence["warc_digest"],
    ) == ("warc/2026/11/x.warc.gz", 0, 900, "<urn:uuid:1>", "sha256:ab")
    assert {a["ad_id"] for a in store.ads_to_capture()} == {"a1", "a2"}
    capture = {
        "captured_at": "2026-11-02T01:00:00+00:00",
        "sha256": "cd",
        "file": "captures/a1.png",
        "tool": "patroli 0.1.0",
    }
    store.record_capture("a1", capture)
    store.record_capture("a1", {**capture, "sha256": "other"})  # a second capture is ignored
    ad = store.get_ad("a1")
    assert (ad["captured_at"], ad["capture"]["sha256"]) == ("2026-11-02T01:00:00+00:00", "cd")
    assert [a["ad_id"] for a in store.ads_to_capture()] == ["a2"]
    assert store.held_evidence() == []
    assert store.set_hold("a1", True, actor="ivan", reason="penyelidikan")["hold"] is True
    case = store.create_case({"title": "Kasus"}, actor="ivan")
    store.add_case_item(case["id"], "ad", "a3", actor="ivan")
    assert store.held_evidence() == [
        {"ad_id": "a1", "warc_file": "warc/2026/11/x.warc.gz"},
        {"ad_id": "a3", "warc_file": "warc/2026/11/z.warc.gz"},
    ]
    store.upsert_ads([record("a1", text="teks baru", content_hash="h2", warc=pointer)])
    again = store.get_ad("a1")
    assert (again["hold"], again["captured_at"]) == (True, "2026-11-02T01:00:00+00:00")
    assert not store.set_hold("a1", False, actor="ivan")["hold"]
    assert [e["action"] for e in store.audit_log(target="a1")] == [
        "ad.release",
        "ad.hold",
        "ad.capture",
    ]
    with pytest.raises(AdNotFound):
        store.set_hold("nope", True, actor="ivan")


def test_a_case_holding_a_network_resolves_its_ads_and_keeps_their_evidence(store: Store) -> None:
    pointer = {
        "file": "warc/2026/11/n.warc.gz",
        "offset": 0,
        "length": 900,
        "record_id": "<urn:uuid:2>",
        "digest": "sha256:ef",
    }
    store.upsert_ads(
        [
            record("a1", warc=pointer),
            record(
                "a2",
                title="Admin chat Phnom Penh",
                text="Butuh CS online, Kamboja, gaji besar. WA 0812-5551-2345",
                warc={**pointer, "file": "warc/2026/11/o.warc.gz"},
            ),
            record(
                "b1",
                title="Perawat lansia Osaka",
                text="Lowongan perawat lansia resmi di Osaka, Jepang, lewat P3MI berizin",
                phones=["+6281355509999"],
                telegram=[],
                bank_accounts=["BRI:002101555123504"],
                warc={**pointer, "file": "warc/2026/11/p.warc.gz"},
            ),
        ]
    )
    network = store.get_ad("a1")["network_id"]
    assert network
    assert store.get_ad("a2")["network_id"] == network  # the shared phone links them
    assert store.get_ad("b1")["network_id"] != network
    case = store.create_case({"title": "Jaringan"}, actor="ivan")
    store.add_case_item(case["id"], "network", network, actor="ivan")
    store.add_case_item(case["id"], "network", "n-gone", actor="ivan")
    resolution = resolve(store, store.get_case(case["id"])["items"])
    assert sorted(resolution.ad_ids) == ["a1", "a2"]
    assert resolution.via["a2"] == [f"network:{network}"]
    assert sorted(resolution.groups[f"network:{network}"]["ad_ids"]) == ["a1", "a2"]
    assert [(i["value"], why.split(":")[0]) for i, why in resolution.unresolved] == [
        ("n-gone", "network n-gone")
    ]
    # Retention keeps the evidence of every ad of the network, and only theirs.
    assert store.held_evidence() == [
        {"ad_id": "a1", "warc_file": "warc/2026/11/n.warc.gz"},
        {"ad_id": "a2", "warc_file": "warc/2026/11/o.warc.gz"},
    ]
    cluster = store.get_ad("b1")["cluster_id"]
    store.add_case_item(case["id"], "cluster", cluster, actor="ivan")
    assert {h["ad_id"] for h in store.held_evidence()} == {"a1", "a2", "b1"}
    bank = store.add_case_item(
        case["id"], "identifier", "bank:bri:0021-01-555123-50-4", actor="ivan"
    )
    assert bank["value"] == "bank:BRI:002101555123504"
    via = resolve(store, store.get_case(case["id"])["items"]).via
    assert via["b1"] == [f"cluster:{cluster}", "bank:BRI:002101555123504"]
    # An ad that the case holds only through an identifier it carries keeps its evidence too.
    store.upsert_ads(
        [
            record(
                "c1",
                title="Transfer biaya proses",
                text="Biaya proses visa kerja ditransfer ke rekening BRI yang tertera, lalu kirim bukti",
                phones=[],
                telegram=[],
                bank_accounts=["BRI:002101555123504"],
                warc={**pointer, "file": "warc/2026/11/q.warc.gz"},
            ),
            record(
                "d1",
                title="Sopir pribadi Jeddah",
                text="Dicari sopir pribadi untuk keluarga di Jeddah, SIM A, pengalaman dua tahun",
                phones=["+6281355500001"],
                telegram=[],
                warc={**pointer, "file": "warc/2026/11/r.warc.gz"},
            ),
        ]
    )
    assert store.get_ad("c1")["cluster_id"] != cluster
    held = {h["ad_id"] for h in store.held_evidence()}
    assert held == {"a1", "a2", "b1", "c1"}
    store.add_case_item(case["id"], "identifier", "phone:0813-5550-0001", actor="ivan")
    assert {h["ad_id"] for h in store.held_evidence()} == {"a1", "a2", "b1", "c1", "d1"}
