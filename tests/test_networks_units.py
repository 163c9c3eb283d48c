"""The pieces of issue 15 one by one: template shingles, leads extraction (bank accounts, agencies,
licences, provinces, routes, kinds of work), the register importer (CSV, XLSX, HTML list with detail
pages, field mapping, bad rows), the register check (a name alone never lowers risk), the register
pipeline step, and an old SQLite file migrated in place."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from scrapy.utils.test import get_crawler

from crawler.items import JobAd
from patroli.agencies.check import RegisterSnapshot, apply_check, check
from patroli.agencies.importer import RegisterFileError, load_mapping, read_register
from patroli.demosites.data import DATA_DIR, DEMO_REGISTER
from patroli.storage import open_store
from patroli.storage.linking.signatures import signature, similarity
from patroli.text.agencies import agency_key, extract_agency_names, extract_licence_numbers
from patroli.text.banks import extract_bank_accounts, normalize_bank_account
from patroli.text.jobs import job_type
from patroli.text.regions import extract_province, extract_transit
from patroli.text.templates import shingles, template_parts
from pipelines.register import RegisterCheckPipeline

REGISTER_DIR = DATA_DIR / "register"


def test_shingles_keep_digits_contacts_and_emoji() -> None:
    found = shingles("Gaji 1.200 USD 🔥 WA 0812-5551-2345")
    assert "1 . 200" in found
    assert "5551 - 2345" in found
    assert any("🔥" in s for s in found)
    a = signature(
        "Dicari admin CS Kamboja gaji 1.200 USD, mess gratis, tiket ditanggung. WA 0812-5551-2345"
    )
    b = signature(
        "Dicari admin CS Kamboja gaji 1.300 USD, mess gratis, tiket ditanggung. WA 0813-5552-9999"
    )
    c = signature("Lowongan operator pabrik di Cikarang, gaji UMK, BPJS, lembur dibayar.")
    assert a is not None
    assert b is not None
    assert c is not None
    assert similarity(a, b) > similarity(a, c)
    parts = template_parts(["WA 0812-5551-2345 sekarang", "WA 0813-5552-9999 sekarang"])
    assert [text for text, varies in parts if varies] == ["0812-5551-2345"]


def test_bank_accounts_are_read_next_to_a_bank_never_from_phones_or_prices() -> None:
    text = (
        "Transfer biaya ke rekening BRI 0021-01-555123-50-4 a.n. Siti, konfirmasi WA 0812-5551-2345"
    )
    assert extract_bank_accounts(text) == ["BRI:002101555123504"]
    assert extract_bank_accounts("no rek BCA: 8720555123") == ["BCA:8720555123"]
    assert extract_bank_accounts("BNI a.n. Budi 0812 5551 2345") == []
    assert extract_bank_accounts("gaji Rp 15.000.000, bonus BCA 10 juta") == []
    assert normalize_bank_account("bca:8720-555-123") == "BCA:8720555123"
    with pytest.raises(ValueError, match="BANK:NUMBER"):
        normalize_bank_account("12345")


def test_agency_names_licences_provinces_routes_and_work() -> None:
    text = (
        "PT. SINAR JAYA ABADI MEMBUKA LOWONGAN ke Taiwan. Izin P3MI No. KEP.555/P3MI/2025. "
        "Khusus warga Lombok, berangkat lewat Nunukan lalu transit Bangkok."
    )
    assert extract_agency_names(text) == ["PT SINAR JAYA ABADI"]
    assert (
        agency_key("PT. Sinar Jaya Abadi")
        == agency_key("PT SINAR JAYA ABADI")
        == "SINAR JAYA ABADI"
    )
    assert extract_licence_numbers(text) == ["KEP.555/P3MI/2025"]
    assert extract_licence_numbers("nomor izin belum ada") == []
    # the form of the ministry's decision numbers (e.g. "3/20888/PK.02.02/VIII/2020")
    assert extract_licence_numbers("SIP3MI Nomor 3/20888/PK.02.02/VIII/2020 berlaku") == [
        "3/20888/PK.02.02/VIII/2020"
    ]
    assert extract_province("Kota Medan, Sumatera Utara") == "ID-SU"
    assert extract_province("", text) == "ID-NB"
    assert extract_province("Riyadh", "kerja di Riyadh") is None
    assert extract_transit(text) == ["Nunukan", "TH"]
    assert job_type("DICARI ART / PRT UTK KELUARGA") == "domestic"
    assert job_type("ABK kapal ikan Korea") == "fishing"
    assert job_type("Admin chat Kamboja") == "office_online"


def test_register_files_of_every_format_read_alike(tmp_path: Path) -> None:
    csv_entries = read_register(REGISTER_DIR / "p3mi_licences.csv").entries
    html = read_register(REGISTER_DIR / "p3mi_list.html")
    assert [e["licence_number"] for e in html.entries] == [
        e["licence_number"] for e in csv_entries[:2]
    ] + ["KEP.5553/DEMO/2024"]
    assert html.entries[0]["phones"] == ["+6281255581010", "+622155581010"]  # from the detail page
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Nama P3MI", "Nomor SK Izin", "Masa Berlaku", "Keterangan Status"])
    sheet.append(["PT Contoh Demo Jaya", "KEP.5590/DEMO/2026", date(2030, 1, 31), "Aktif"])
    sheet.append(["", "", "", ""])
    path = tmp_path / "p3mi.xlsx"
    book.save(path)
    mapping = load_mapping(
        _mapping_file(tmp_path, "licence_number: Nomor SK Izin\nvalid_until: [Masa Berlaku]\n")
    )
    entries = read_register(path, mapping=mapping).entries
    assert [(e["name"], e["licence_number"], e["valid_until"], e["status"]) for e in entries] == [
        ("PT Contoh Demo Jaya", "KEP.5590/DEMO/2026", "2030-01-31", "aktif")
    ]
    meta = read_register(path, mapping=mapping).meta
    assert (meta["rows"], meta["parser_version"], len(meta["sha256"])) == (1, "1", 64)


def _mapping_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_register_files_and_rows_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "kosong.csv"
    bad.write_text("Kolom A,Kolom B\n1,2\n", encoding="utf-8")
    with pytest.raises(RegisterFileError, match="no column for the agency's name"):
        read_register(bad)
    rows = tmp_path / "rows.csv"
    rows.write_text("Nama Perusahaan,No Izin\nPT Satu Demo,KEP.1/DEMO\n,\n ,  \n", encoding="utf-8")
    rows.write_text(
        "Nama Perusahaan,No Izin,Kota\nPT Satu Demo,KEP.1/DEMO,Bandung\n,,Garut\n", encoding="utf-8"
    )
    result = read_register(rows)
    assert [e["name"] for e in result.entries] == ["PT Satu Demo"]
    assert result.problems == [f"{rows}:3: no agency name and no licence number"]
    with pytest.raises(RegisterFileError, match="unknown register field"):
        load_mapping(_mapping_file(tmp_path, "nama: Nama\n"))
    with pytest.raises(RegisterFileError, match="import CSV, XLSX or an HTML list"):
        read_register(_mapping_file(tmp_path, "x: y\n"))


def snapshot() -> RegisterSnapshot:
    licences, sanctions, orders = (
        read_register(path, kind).entries for kind, path in DEMO_REGISTER
    )
    return RegisterSnapshot(licences, sanctions, orders, {"import_id": "imp1", "source": "demo"})


def ad(**fields: object) -> dict[str, object]:
    return {
        "agency_names": ["PT Bina Tenaga Demo Sejahtera"],
        "licence_numbers": [],
        "phones": [],
        "whatsapp": [],
        "telegram": [],
        "emails": [],
        "countries": ["TW"],
        "text": "",
        **fields,
    }


def codes(result_codes: list[str]) -> list[str]:
    return [c.split("|")[0] for c in result_codes]


def test_a_name_alone_never_lowers_risk_and_other_contacts_are_impersonation() -> None:
    register = snapshot()
    assert check(ad(), register).codes == []  # the name and nothing to compare: no finding
    matching = check(
        ad(phones=["+6281255581010"], emails=["rekrutmen@binatenaga.example"]), register
    )
    assert codes(matching.codes) == ["register:licensed_match"]
    assert matching.agency_id == "KEP.5551/DEMO/2026"
    other = check(ad(phones=["+6281255581010"], whatsapp=["+6289655589090"]), register)
    assert codes(other.codes) == ["register:impersonation"]
    assert codes(check(ad(phones=["+6281255581010"], countries=["JP"]), register).codes) == [
        "register:licensed_match",
        "register:no_job_order",
    ]
    unknown = check(ad(agency_names=[], licence_numbers=["KEP.5559/DEMO/2025"]), register)
    assert codes(unknown.codes) == ["register:licence_unknown"]
    branch = ad(
        agency_names=["PT Anugerah Samudra Demo"],
        phones=["+6281355582021"],
        text="PT Anugerah Samudra Demo cabang Lombok",
        countries=["KR"],
    )
    assert codes(check(branch, register, today=date(2026, 12, 1)).codes) == [
        "register:licence_expired"
    ]
    assert codes(check(branch, register, today=date(2025, 6, 1)).codes) == [
        "register:licensed_match"
    ]
    revoked = ad(agency_names=["PT Cahaya Timur Demo"], phones=["+6281355583030"])
    assert codes(check(revoked, register).codes) == ["register:licence_revoked"]


def test_the_check_moves_the_models_risk_at_its_own_threshold() -> None:
    register = snapshot()
    scored: dict[str, object] = {
        **ad(phones=["+6281255581010"]),
        "risk": 0.7,
        "risk_margin": 0.1,
        "flagged": True,
        "reason_codes": ["indicator:no_licence", "term:gaji"],
        "reasons": ["tanpa izin", "«gaji»"],
    }
    apply_check(scored, check(scored, register), register, "en")
    assert not scored["flagged"]
    assert float(scored["risk"]) < 0.6  # type: ignore[arg-type]
    assert scored["risk_margin"] == pytest.approx(float(scored["risk"]) - 0.6, abs=1e-5)  # type: ignore[arg-type]
    assert "indicator:no_licence" not in scored["reason_codes"]  # type: ignore[operator]
    assert scored["reasons"][-1].startswith("Lowers risk: names a licensed P3MI (PT Bina")  # type: ignore[index]
    assert scored["register_import"] == "imp1"


def test_a_raised_report_is_risky_but_only_an_ad_is_flagged() -> None:
    register = snapshot()
    for genre, flagged in (("report", False), ("ad", True), (None, True)):
        scored: dict[str, object] = {
            **ad(agency_names=["PT Cahaya Timur Demo"], phones=["+6281355583030"]),
            "risk": 0.55,
            "risk_margin": -0.05,
            "flagged": False,
            "genre": genre,
            "reason_codes": [],
            "reasons": [],
        }
        apply_check(scored, check(scored, register), register, "en")
        assert scored["risky"] is True, genre  # the revoked licence raised it over 0.6
        assert scored["flagged"] is flagged, genre


def test_the_register_step_of_the_crawl(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    with open_store(url) as store:
        for kind, path in DEMO_REGISTER:
            result = read_register(path, kind)
            store.record_register_import(result.meta, result.entries)
    crawler = get_crawler(settings_dict={"PATROLI_STORE_URL": url})
    pipeline = RegisterCheckPipeline.from_crawler(crawler)
    import asyncio

    asyncio.run(pipeline.open_spider())
    item = JobAd(
        source="demo",
        native_id="1",
        url="https://example.test/1",
        text="x",
        agency_names=["PT Bina Tenaga Demo Sejahtera"],
        whatsapp=["+6289655589090"],
    )
    item.risk, item.risk_margin, item.flagged = 0.3, -0.3, False
    pipeline.process_item(item)
    assert item.flagged
    assert item.reason_codes[0].startswith("register:impersonation")
    assert item.agency_id == "KEP.5551/DEMO/2026"
    assert crawler.stats is not None
    assert crawler.stats.get_value("patroli/register/impersonation") == 1


def test_an_old_sqlite_file_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE ads (seq INTEGER PRIMARY KEY, ad_id TEXT NOT NULL UNIQUE, title TEXT, "
        "text TEXT, status TEXT NOT NULL DEFAULT 'new', version INTEGER NOT NULL DEFAULT 1)"
    )
    old.execute(
        "INSERT INTO ads(ad_id, title, text) VALUES ('old1', 'Loker lama', 'Teks iklan lama')"
    )
    old.commit()
    old.close()
    with open_store(f"sqlite:///{path}") as store:
        ad_ = store.get_ad("old1")
        assert (ad_["title"], ad_["cluster_id"]) == ("Loker lama", None)
        assert store.relink()["linked"] == 1
        assert store.get_ad("old1")["cluster_id"].startswith("c-")


def test_a_schema_3_file_gets_its_link_identifiers_from_its_links(tmp_path: Path) -> None:
    """Files linked before link_identifiers existed keep joining networks by their contacts."""
    url = f"sqlite:///{tmp_path / 'v3.db'}"
    text = "Kerja kebun sawit di Sabah lewat Nunukan, cukup KTP, berangkat minggu depan. WA {}"
    with open_store(url) as store:
        store.upsert_ads(
            [
                {
                    "ad_id": "s1",
                    "source": "demo",
                    "native_id": "1",
                    "url": "https://x.test/1",
                    "title": "",
                    "text": text.format("0819-5559-0001"),
                    "phones": ["+6281955590001"],
                    "crawled_at": "2026-11-20T00:00:00+00:00",
                    "content_hash": "h1",
                }
            ]
        )
        network = store.get_ad("s1")["network_id"]
    with sqlite3.connect(tmp_path / "v3.db") as conn:  # as schema 3 left it
        conn.execute("DELETE FROM link_identifiers")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with open_store(url) as store:
        store.upsert_ads(
            [
                {
                    "ad_id": "s2",
                    "source": "demo",
                    "native_id": "2",
                    "url": "https://x.test/2",
                    "title": "",
                    "text": "Lowongan ABK kapal Korea tanpa pengalaman. WA 0819-5559-0001",
                    "phones": ["+6281955590001"],
                    "crawled_at": "2026-11-20T00:00:00+00:00",
                    "content_hash": "h2",
                }
            ]
        )
        assert store.get_ad("s2")["network_id"] == network
    with sqlite3.connect(tmp_path / "v3.db") as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            "4",
        )
