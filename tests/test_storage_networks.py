"""The network roles of the store contract, on every backend (SQLite, OpenSearch, Elasticsearch):
template clusters and recruiter networks kept up to date by upserts, surviving a reopen, split when
an ad changes or leaves, guarded against generic identifiers; cluster review decided once and
audited per ad; the agency register's imports kept as history; the leads' trends and filters."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from patroli.cases.items import resolve
from patroli.demosites.flyers import stock_photo
from patroli.storage import Store
from patroli.storage.linking.linker import BUCKET_CAP
from tests.helpers.flyerkit import blank_png, flyer_facts, image_facts, with_images
from tests.helpers.records import record

TEMPLATE = (
    "DIBUTUHKAN SEGERA admin chat / CS online penempatan Phnom Penh Kamboja. Gaji 1.200 USD + bonus, "
    "mess dan makan gratis, tiket ditanggung perusahaan. Syarat: usia 18-35, bisa mengetik, tanpa "
    "ijazah. Interview via zoom, lolos langsung berangkat. {extra} Hubungi WA {phone} ({name})"
)
OTHER = (
    "Lowongan operator produksi PT Cahaya Plastindo Utama di Cikarang, gaji sesuai UMK, BPJS, "
    "uang makan dan lembur. Lamaran dikirim ke rekrutmen@cahaya.example, tidak dipungut biaya."
)
NOW = datetime.now(UTC).replace(microsecond=0)


def ad(ad_id: str, text: str, phones: list[str], **extra: Any) -> dict[str, Any]:
    digest = hashlib.sha256(text.encode()).hexdigest()  # an engine's document id holds 512 bytes
    return record(
        ad_id,
        title="",
        text=text,
        phones=phones,
        telegram=[],
        content_hash=digest,
        crawled_at=NOW.isoformat(),
        **extra,
    )


def posting(ad_id: str, phone: str, *, name: str = "Kak Sinta", extra: str = "") -> dict[str, Any]:
    e164 = "+62" + phone.lstrip("0").replace("-", "")
    return ad(ad_id, TEMPLATE.format(phone=phone, name=name, extra=extra), [e164])


def clusters(store: Store, *ad_ids: str) -> list[str]:
    return [store.get_ad(a)["cluster_id"] for a in ad_ids]


def networks(store: Store, *ad_ids: str) -> list[str]:
    return [store.get_ad(a)["network_id"] for a in ad_ids]


def test_reposts_with_other_contacts_amounts_and_emoji_are_one_cluster(store: Store) -> None:
    store.upsert_ads(
        [
            posting("a1", "0812-5551-2345"),
            posting("a2", "0813-5552-7781", name="Bu Rina", extra="🔥🔥 Gaji 1.500 USD!"),
            posting("a3", "0857-5553-1200", extra="Berangkat 12 Desember."),
            ad("b1", OTHER, []),
        ]
    )
    c1, c2, c3, other = clusters(store, "a1", "a2", "a3", "b1")
    assert c1 == c2 == c3
    assert other
    assert other != c1
    cluster = store.get_cluster(c1)
    assert cluster["size"] == 3
    assert {m["ad_id"] for m in cluster["members"]} == {"a1", "a2", "a3"}
    varying = "".join(text for text, varies in cluster["template"] if varies)
    constant = "".join(text for text, varies in cluster["template"] if not varies)
    assert "5551" in varying  # the contact is marked as the varying part
    assert "Phnom Penh" in constant
    assert store.count(f"cluster:{c1}") == 3


def test_a_shared_number_links_templates_into_one_network_and_a_new_number_splits_it(
    backend: Callable[[], Store],
) -> None:
    store = backend()
    store.upsert_ads(
        [
            posting("a1", "0812-5551-2345"),
            posting("a2", "0813-5552-7781"),
            ad("b1", OTHER + " Info WA 0813-5552-7781", ["+6281355527781"]),
            ad(
                "z1",
                "Kerja kebun sawit di Sabah Malaysia lewat Nunukan, cukup KTP. WA 0819-5559-0001",
                ["+6281955590001"],
            ),
        ]
    )
    n_a1, n_a2, n_b1, n_z1 = networks(store, "a1", "a2", "b1", "z1")
    assert n_a1 == n_a2 == n_b1  # a1-a2 by template, a2-b1 by the shared number
    assert n_z1 != n_a1
    network = store.get_network(n_a1)
    assert network["size"] == 3
    assert {i["key"] for i in network["identifiers"]} >= {"phone:+6281355527781"}
    assert ("b1", "phone:+6281355527781") in network["edges"]
    assert store.count(f"network:{n_a1}") == 3
    # b1 changes its number: nothing links it to the recruiter any more.
    store.upsert_ads([ad("b1", OTHER + " Info WA 0811-5550-4444", ["+6281155504444"])])
    n_a1, n_b1 = networks(store, "a1", "b1")
    assert n_a1 != n_b1
    assert store.get_network(n_a1)["size"] == 2
    # Reopened (another process, a restart): the state is in the store, and a new repost joins.
    again = backend()
    again.upsert_ads([posting("a4", "0838-5554-1111", extra="Kuota 5 orang.")])
    assert clusters(again, "a4") == clusters(again, "a1")
    assert networks(again, "a4") == networks(again, "a1")
    assert again.unlink_ads(["a2"]) == 1
    assert again.get_ad("a2")["cluster_id"] == ""
    assert again.get_cluster(clusters(again, "a1")[0])["size"] == 2


def test_a_generic_number_does_not_merge_networks(
    backend: Callable[[], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATROLI_NETWORK_GENERIC_CLUSTERS", "2")
    store = backend()
    hotline = "Pengaduan Kemnaker: WA 0811-5550-1500."
    texts = [
        "Dicari ART untuk keluarga di Riyadh Arab Saudi, gaji 1.500 riyal, visa ziarah. Hub 0812-5556-0001",
        "Kerja pabrik di Taichung Taiwan, potong gaji 8 bulan, proses cepat. Hub 0812-5556-0002",
        "ABK kapal ikan Korea, gaji 1.800 USD, tanpa pengalaman. Hub 0812-5556-0003",
        "Caregiver lansia di Osaka Jepang, magang 3 tahun, biaya 45 juta. Hub 0812-5556-0004",
    ]
    store.upsert_ads(
        [
            ad(
                f"g{i}",
                f"{text} {hotline}",
                ["+62" + text[-12:].lstrip("0").replace("-", ""), "+6281155501500"],
            )
            for i, text in enumerate(texts)
        ]
    )
    ids = networks(store, "g0", "g1", "g2", "g3")
    assert len(set(ids)) == 4, ids
    assert "phone:+6281155501500" in {g["key"] for g in store.generic_identifiers()}
    network = store.get_network(ids[0])
    assert [i["generic"] for i in network["identifiers"] if i["value"] == "+6281155501500"] == [
        True
    ]


SECOND = (
    "Lowongan ABK kapal ikan tujuan Busan Korea Selatan, kontrak dua tahun, gaji 1.800 USD per "
    "bulan, tanpa pengalaman, tanpa sertifikat, paspor diurus agen, potong gaji enam bulan. {extra} "
    "Daftar lewat Telegram, kuota terbatas. Kontak {phone}"
)
SHARED = (
    "Syarat dan dokumen: KTP, KK, akta lahir, surat izin orang tua atau suami, paspor dibuatkan "
    "kantor, medical check up di klinik rekanan, pelatihan bahasa dua minggu di asrama penampungan."
)


def first_kind(ad_id: str, phone: str, extra: str) -> dict[str, Any]:
    text = TEMPLATE.format(phone=phone, name="Kak Sinta", extra=extra) + " " + SHARED
    return ad(ad_id, text, ["+62" + phone.lstrip("0").replace("-", "")])


def second_kind(ad_id: str, phone: str, extra: str) -> dict[str, Any]:
    text = SECOND.format(phone=phone, extra=extra) + " " + SHARED
    return ad(ad_id, text, ["+62" + phone.lstrip("0").replace("-", "")])


def test_a_template_reposted_many_times_stays_one_cluster_with_a_bounded_lsh_index(
    store: Store,
) -> None:
    """A flyer reposted hundreds of times must not make each new repost compare with all earlier
    ones: the LSH index keeps only a few ads of one cluster under one band key. Splits and
    removals still work on the members that are not in the index."""
    reposts = 3 * BUCKET_CAP + 2
    for first in range(0, reposts, 4):  # batches: later reposts meet stored ones
        store.upsert_ads(
            [
                first_kind(f"a{i:02d}", f"0812-5551-{1000 + i}", f"Kuota {i} orang.")
                for i in range(first, min(first + 4, reposts))
            ]
        )
    ids = [f"a{i:02d}" for i in range(reposts)]
    assert len(set(clusters(store, *ids))) == 1
    with store.link_backend() as links:
        by_key = Counter(key for link in links.links_of(ids).values() for key in link.bands)
    assert by_key
    assert max(by_key.values()) == BUCKET_CAP
    # The two kinds share a paragraph, not enough to be one template; an ad holding both bridges
    # them into one cluster (single link).
    kinds = [
        second_kind(f"k{i}", f"0813-5558-{2000 + i}", f"Gel. {i}.") for i in range(BUCKET_CAP + 2)
    ]
    store.upsert_ads(kinds)
    assert clusters(store, "k0") != clusters(store, "a00")
    bridge = (
        TEMPLATE.format(phone="0812-5551-0000", name="Kak Sinta", extra="")
        + " "
        + (SECOND.format(phone="0813-5558-0000", extra="") + " " + SHARED)
    )
    store.upsert_ads([ad("bridge", bridge, [])])
    assert len(set(clusters(store, "bridge", "a00", "k0", f"k{BUCKET_CAP + 1}"))) == 1
    # The bridge leaves: the pieces split apart again, and each is still found by a new repost.
    store.unlink_ads(["bridge"])
    first_piece, second_piece = clusters(store, "a00", "k0")
    assert first_piece != second_piece
    assert set(clusters(store, *ids)) == {first_piece}
    assert set(clusters(store, *(k["ad_id"] for k in kinds))) == {second_piece}
    store.upsert_ads(
        [
            first_kind("a99", "0896-5559-9999", "Promo."),
            second_kind("k99", "0857-5558-9999", "Baru."),
        ]
    )
    assert clusters(store, "a99", "k99") == [first_piece, second_piece]
    # The ads that held the places of the full band keys leave; others take their places.
    with store.link_backend() as links:
        full = {key for key, n in by_key.items() if n == BUCKET_CAP}
        placed = sorted(a for a, link in links.links_of(ids).items() if set(link.bands) & full)
    left = [a for a in ids if a not in placed]
    assert left
    store.unlink_ads(placed)
    with store.link_backend() as links:
        again = Counter(key for link in links.links_of(left).values() for key in link.bands)
    assert {key for key in full if again[key]} == full
    store.upsert_ads([first_kind("a98", "0896-5559-9998", "Gelombang baru.")])
    assert clusters(store, "a98") == clusters(store, left[0])
    assert store.get_cluster(clusters(store, left[0])[0])["size"] == len(left) + 2


def test_ads_showing_the_same_flyer_are_one_network_and_a_blank_image_links_nothing(
    backend: Callable[[], Store],
) -> None:
    """A flyer reposted as another file (recompressed, resized, mirrored) with other captions and
    no contact in the text links its ads like a shared phone does; a placeholder image does not,
    nor do two plain photos as close in their hashes as a flyer and its copy (no text in them)."""
    blank = image_facts(blank_png(), "https://img.example/placeholder.png")

    def flyer(flyer_id: str, variant: str = "original") -> dict[str, Any]:
        """A flyer as the images pipeline stores it with OCR on (the text as read)."""
        return {
            **flyer_facts(flyer_id, variant),
            "ocr": "done",
            "ocr_text": f"LOWONGAN KERJA {flyer_id.upper()} GAJI BESAR BERANGKAT CEPAT",
        }

    store = backend()
    store.upsert_ads(
        [
            ad(
                "f1",
                "Info loker luar negeri, detail di gambar. WA 0812-5557-0001",
                ["+6281255570001"],
                **with_images([flyer("p01")]),
            ),
            ad(
                "f2",
                "Gelombang kedua dibuka, baca flyer ya kak, kuota terbatas sekali",
                [],
                **with_images([blank, flyer("p01", "recompressed")]),
            ),
            ad(
                "g1",
                "Lowongan pabrik di Taichung, potong gaji, proses cepat tanpa kursus",
                [],
                **with_images([flyer("p02"), blank]),
            ),
            ad(
                "b1",
                "Dicari pramusaji restoran di Bandung, gaji UMR dan uang makan harian",
                [],
                **with_images([blank]),
            ),
        ]
    )
    f1, f2, g1, b1 = networks(store, "f1", "f2", "g1", "b1")
    assert f1 == f2
    assert len({f1, g1, b1}) == 3
    assert clusters(store, "f1") != clusters(store, "f2")  # not by text: by the flyer
    flyers = [i for i in store.get_network(f1)["identifiers"] if i["kind"] == "flyer"]
    assert [i["ads"] for i in flyers] == [2]
    # Later, in another batch and another connection: a mirrored repost joins the same family.
    again = backend()
    again.upsert_ads(
        [
            ad(
                "f3",
                "Siapa cepat dia dapat, berangkat bulan depan",
                [],
                **with_images([flyer("p01", "mirrored")]),
            )
        ]
    )
    assert networks(again, "f3") == [f1]
    assert [i["ads"] for i in again.get_network(f1)["identifiers"] if i["kind"] == "flyer"] == [3]
    # f1 leaves: the family key is kept by the others, who stay one network.
    again.unlink_ads(["f1"])
    assert len(set(networks(again, "f2", "f3"))) == 1
    # Two different landscape photos of the demo sites are "the same flyer" by their hashes (as
    # close as a flyer and its cropped copy) but carry no text: they link nothing.
    photos = [
        image_facts(stock_photo(name), f"https://img.example/{name}")
        for name in ("photo-loker_harian_nusantara-1024", "photo-infopmi_resmi_jatim-1037")
    ]
    assert again.same_flyer([photos[0]]) == []  # nothing stored shows it yet
    again.upsert_ads(
        [
            ad(
                "s1",
                "Lowongan content creator di Yogyakarta, kerja dari rumah",
                [],
                **with_images([photos[0]]),
            ),
            ad(
                "s2",
                "Peringatan: jangan berangkat kerja ke Kamboja lewat jalur tidak resmi",
                [],
                **with_images([photos[1]]),
            ),
        ]
    )
    assert [r["ad_id"] for r in again.same_flyer([photos[0]], exclude="s1")] == ["s2"]
    assert len(set(networks(again, "s1", "s2"))) == 2


def test_a_merged_network_id_leads_to_the_network_its_ads_went_into(store: Store) -> None:
    store.upsert_ads(
        [
            posting("a1", "0812-5551-2345"),
            ad(
                "z1",
                "Kerja kebun sawit di Sabah Malaysia lewat Nunukan, cukup KTP. WA 0819-5559-0001",
                ["+6281955590001"],
            ),
        ]
    )
    before = networks(store, "a1", "z1")
    assert before[0] != before[1]
    # An ad printing both numbers joins the two recruiters' networks; one id is absorbed.
    store.upsert_ads(
        [
            ad(
                "b1",
                OTHER + " WA 0812-5551-2345 / 0819-5559-0001",
                ["+6281255512345", "+6281955590001"],
            )
        ]
    )
    (kept,) = set(networks(store, "a1", "z1", "b1"))
    (gone,) = set(before) - {kept}
    network = store.get_network(gone)
    assert network["network_id"] == kept
    assert {a["ad_id"] for a in network["ads"]} == {"a1", "z1", "b1"}
    case = store.create_case({"title": "Jaringan"}, actor="ivan")
    store.add_case_item(case["id"], "network", gone, actor="ivan")
    resolution = resolve(store, store.get_case(case["id"])["items"])
    assert sorted(resolution.ad_ids) == ["a1", "b1", "z1"]
    assert resolution.unresolved == []
    with pytest.raises(KeyError):
        store.get_network("n-never")


def test_cluster_review_decides_every_member_audits_each_and_marks_new_members(
    store: Store,
) -> None:
    store.upsert_ads(
        [
            posting("a1", "0812-5551-2345"),
            posting("a2", "0813-5552-7781"),
            posting("a3", "0857-5553-1200", extra="Kuota 3 orang."),
        ]
    )
    cluster_id = clusters(store, "a1")[0]
    store.review("a3", "escalated", reviewer="analis2")  # a3 moved on since the page was read
    versions = {"a1": 1, "a2": 1, "a3": 1}
    outcome = store.review_cluster(
        cluster_id,
        "confirmed",
        reviewer="analis1",
        note="modus Kamboja",
        expected_versions=versions,
    )
    assert sorted(outcome["decided"]) == ["a1", "a2"]
    assert outcome["skipped"] == ["a3"]
    for ad_id in ("a1", "a2"):
        assert store.get_ad(ad_id)["status"] == "confirmed"
        assert [h["decision"] for h in store.review_history(ad_id)] == ["confirmed"]
        entries = store.audit_log(target=ad_id)
        assert [(e["action"], e["after"]) for e in entries] == [("review", "confirmed")]
        assert cluster_id in entries[0]["detail"]
    assert store.get_ad("a3")["status"] == "escalated"
    assert store.audit_log(target=cluster_id)[0]["action"] == "cluster_review"
    # A new repost of the confirmed template enters the queue marked as like the cluster,
    # even though the model did not flag it.
    store.upsert_ads(
        [
            {
                **posting("a9", "0896-5559-9999", extra="Promo bulan ini."),
                "flagged": False,
                "risk": 0.2,
            }
        ]
    )
    new = store.get_ad("a9")
    assert (new["cluster_id"], new["cluster_status"], new["status"]) == (
        cluster_id,
        "confirmed",
        "new",
    )
    assert "a9" in {h["ad_id"] for h in store.search("attention:true status:new").hits}
    assert "a9" in {h["ad_id"] for h in store.search("like:confirmed").hits}
    assert store.get_cluster(cluster_id)["decision"]["decision"] == "confirmed"


def test_largest_active_networks_and_trends(store: Store) -> None:
    store.upsert_ads(
        [
            {
                **posting("a1", "0812-5551-2345"),
                "province": "ID-NB",
                "transit": ["Nunukan"],
                "countries": ["MY"],
                "job_type": "plantation",
                "agency_id": "demo-1",
            },
            {
                **posting("a2", "0813-5552-7781"),
                "province": "ID-NB",
                "transit": ["Nunukan"],
                "countries": ["MY"],
                "job_type": "plantation",
            },
            ad("b1", OTHER, [], province="ID-JB", countries=[], job_type="factory"),
        ]
    )
    largest = store.largest_networks(limit=5, active_days=30)
    assert [(n["network_id"], n["ads"]) for n in largest] == [(networks(store, "a1")[0], 2)]
    trends = store.trends(days=30)
    assert trends["per_route"]["ID-NB → Nunukan → MY"]["ads"] == 2
    assert trends["per_job_type"]["plantation"]["ads"] == 2
    assert trends["per_agency"] == {"demo-1": {"ads": 1, "flagged": 1, "confirmed": 0}}
    assert trends["per_province"]["ID-JB"]["ads"] == 1
    old = (NOW - timedelta(days=90)).isoformat()
    assert store.largest_networks(limit=5, active_days=1)[0]["ads"] == 2
    assert old < largest[0]["last_seen"]


def test_bank_and_licence_filters(store: Store) -> None:
    store.upsert_ads(
        [
            ad(
                "k1",
                "Transfer biaya ke rekening BRI 0021-01-555123-50-4",
                [],
                bank_accounts=["BRI:002101555123504"],
                licence_numbers=["KEP.555/P3MI/2025"],
            )
        ]
    )
    assert store.count("bank:bri:0021-01-555123-50-4") == 1
    assert store.count("licence:kep.555/p3mi/2025") == 1
    assert store.count("bank:BCA:8720555123") == 0


def test_register_imports_are_history(store: Store) -> None:
    meta = {
        "kind": "licences",
        "source": "demo.csv",
        "imported_at": "2026-11-01T00:00:00+00:00",
        "parser_version": "1",
        "sha256": "aa",
        "rows": 1,
        "published_at": "2026-10-30",
    }
    first = store.record_register_import(meta, [{"name": "PT Satu", "licence_number": "KEP.1"}])
    again = store.record_register_import(meta, [{"name": "PT Satu", "licence_number": "KEP.1"}])
    assert again.get("duplicate")
    assert again["import_id"] == first["import_id"]
    second = store.record_register_import(
        {**meta, "sha256": "bb", "imported_at": "2026-11-02T00:00:00+00:00"},
        [{"name": "PT Dua", "licence_number": "KEP.2"}],
    )
    imports = store.register_imports(kind="licences")
    assert [i["import_id"] for i in imports] == [second["import_id"], first["import_id"]]
    assert [e["name"] for e in store.register_entries(kind="licences")] == ["PT Dua"]
    assert [e["name"] for e in store.register_entries(import_id=first["import_id"])] == ["PT Satu"]
