"""From a flagged demo ad to a referral: capture at first sight after the patrol, a case built from
a recruiter network (with one of its template clusters, an identifier and two ads), its bundle exported, checked offline (with patroli and with sha256sum alone),
tampered with and caught; the PDF report rendered to PNG pages; a SAMAN batch and aduankonten
reports from confirmed ads; the tracker moving a request to removed when the demo site takes the ad
down. Real crawls of the demo sites, the real command, Debian's chromium, poppler's tools.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib.image
import pytest

from patroli.demosites.process import DemoSitesProcess
from patroli.demosites.server import DemoSites
from patroli.storage import open_store
from tests.helpers.cli import crawl, run_patroli
from tests.helpers.demotruth import KNOWN_ILLEGAL, ad_id_of, truth
from tests.helpers.networktruth import network_truth

pytestmark = [pytest.mark.crawl, pytest.mark.browser]

CASE_TITLE = "Jaringan perekrut admin Kamboja lintas situs"
SHARED_PHONE = "phone:0812-5553-7781"  # one recruiter on the classifieds and the job board


class Patrol:
    def __init__(self, sites: DemoSitesProcess, directory: Path) -> None:
        self.sites = sites
        self.directory = directory
        self.evidence = directory / "evidence"
        self.store_url = f"sqlite:///{directory / 'patroli.db'}"
        self.env = {"PATROLI_EVIDENCE_DIR": str(self.evidence)}

    def patroli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_patroli(*args, "--store", self.store_url, env=self.env)


@pytest.fixture(scope="module")
def patrol(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Patrol]:
    directory = tmp_path_factory.mktemp("case")
    with DemoSitesProcess(port=0) as sites:  # its own: the takedown test switches faults on
        patrol = Patrol(sites, directory)
        # Telegram with the capture step after the crawl; the others without (they are many pages).
        first, _ = crawl(
            sites.url,
            patrol.store_url,
            "demo_telegram",
            env={**patrol.env, "PATROLI_CAPTURE_ENABLED": "1"},
            summary=directory / "t.json",
        )
        assert first.returncode == 0, first.stderr[-3000:]
        patrol.capture_output = first.stderr  # type: ignore[attr-defined]
        second, _ = crawl(
            sites.url,
            patrol.store_url,
            "demo_pasarloka",
            "demo_kerjanusa",
            "demo_fb_group",
            env=patrol.env,
            summary=directory / "pk.json",
        )
        assert second.returncode == 0, second.stderr[-3000:]
        yield patrol


def png_is_not_blank(path: Path) -> bool:
    pixels = matplotlib.image.imread(str(path))
    return bool(pixels.std() > 0.01) and bool((pixels[..., :3] < 0.5).mean() > 0.002)


def test_flagged_ads_get_a_capture_record_after_the_patrol(patrol: Patrol) -> None:
    assert "capture records:" in patrol.capture_output  # type: ignore[attr-defined]
    with open_store(patrol.store_url) as store:
        flagged = store.search("flagged:true source:demo_telegram", limit=500).hits
        assert flagged
        for hit in flagged:
            capture = store.get_ad(hit["ad_id"])["capture"]
            assert capture["kind"] == "capture record (not a forensic acquisition)"
            png = patrol.evidence / capture["file"]
            assert hashlib.sha256(png.read_bytes()).hexdigest() == capture["sha256"]
            assert capture["captured_at_wib"].endswith(" WIB")
            assert capture["captured_at_utc"].endswith(" UTC")
            assert (capture["tool"], capture["tool_version"]) == ("patroli", "0.1.0")
            assert capture["renderer"].startswith("Chromium ")
            assert capture["from"] == "WARC record"
            assert (
                capture["warc_record_id"]
                == store.get_ad(hit["ad_id"], with_evidence=True)["evidence"][-1]["warc_record_id"]
            )
        assert (
            store.search("flagged:false source:demo_telegram", limit=1).hits[0].get("capture")
            is None
        )
        assert png_is_not_blank(patrol.evidence / capture["file"])
    # Rendered from the archive alone: the page's outside resources were refused, none fetched.
    assert any("telegram.org" in url for url in capture["resources_refused"])


@pytest.fixture(scope="module")
def exported(patrol: Patrol) -> dict[str, Any]:
    created = patrol.patroli(
        "case",
        "create",
        CASE_TITLE,
        "--province",
        "Jawa Barat",
        "--assignee",
        "ivan",
        "--description",
        "Nomor yang sama di situs iklan dan papan lowongan.",
        "--by",
        "ivan",
    )
    assert created.returncode == 0, created.stderr
    case_id = created.stdout.strip()
    ad_one = ad_id_of("demo_pasarloka", KNOWN_ILLEGAL["demo_pasarloka"][1])
    ad_two = ad_id_of("demo_kerjanusa", KNOWN_ILLEGAL["demo_kerjanusa"][0])
    # The network of the demo's "Asia CS" recruiters (admin-chat jobs in Cambodia and Thailand),
    # found from one of its Telegram posts as an investigator finds it from an ad's page.
    with open_store(patrol.store_url) as store:
        lead = ad_id_of("demo_telegram", "t0127")
        network_id = store.get_ad(lead)["network_id"]
        network = {a["ad_id"] for a in store.get_network(network_id)["ads"]}
        cluster_id = store.get_ad(ad_id_of("demo_telegram", "t0129"))["cluster_id"]
    for args in (
        ("network", network_id),
        ("cluster", cluster_id),
        ("ad", ad_one, ad_two),
        ("identifier", SHARED_PHONE),
    ):
        added = patrol.patroli("case", "add", case_id, *args, "--by", "ivan")
        assert added.returncode == 0, added.stderr
    assert (
        patrol.patroli(
            "case", "note", case_id, "Diteruskan setelah verifikasi BP3MI.", "--by", "ivan"
        ).returncode
        == 0
    )
    assert (
        patrol.patroli(
            "case",
            "route",
            case_id,
            "police",
            "Ditressiber Polda Jabar",
            "--reference",
            "B/77/XII/2026",
            "--by",
            "ivan",
        ).returncode
        == 0
    )
    reviewed = patrol.patroli(
        "review",
        ad_one,
        "--decision",
        "confirmed",
        "--note",
        "modus admin Kamboja",
        "--reviewer",
        "ana",
    )
    assert reviewed.returncode == 0, reviewed.stderr
    bundle = patrol.directory / "bundle"
    result = patrol.patroli("case", "export", case_id, "-o", str(bundle), "--by", "ivan")
    assert result.returncode == 0, result.stderr
    zipped = patrol.directory / "bundle.zip"
    assert (
        patrol.patroli("case", "export", case_id, "-o", str(zipped), "--by", "ivan").returncode == 0
    )
    return {
        "case_id": case_id,
        "bundle": bundle,
        "zip": zipped,
        "ad_one": ad_one,
        "ad_two": ad_two,
        "export_stdout": result.stdout,
        "network_id": network_id,
        "network": network,
        "cluster_id": cluster_id,
    }


def test_the_bundle_holds_every_part_and_checks_out_offline(
    patrol: Patrol, exported: dict[str, Any]
) -> None:
    bundle: Path = exported["bundle"]
    with open_store(patrol.store_url) as store:
        linked = {h["ad_id"] for h in store.search(SHARED_PHONE, limit=100).hits}
        case = store.get_case(exported["case_id"])
    assert len(linked) >= 2
    # The network: the demo's Asia CS recruiters, on Telegram, the classifieds and the Facebook group
    # (its hotline number, shared with unrelated ads, is generic and links nothing).
    network: set[str] = exported["network"]
    assert network == set(network_truth()["networks"]["N1_asia_cs"])
    ads = {p.stem for p in (bundle / "ads").glob("*.json")}
    assert ads == network | linked | {exported["ad_one"], exported["ad_two"]}
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["problems"] == []
    shown = json.loads(patrol.patroli("case", "show", exported["case_id"]).stdout)
    assert set(shown["ads"]) == ads
    assert shown["unresolved"] == []
    kept = json.loads((bundle / "networks" / f"{exported['network_id']}.json").read_text())
    assert set(kept["ad_ids"]) == network
    assert {i["kind"] for i in kept["identifiers"]} >= {"phone"}
    t0129 = json.loads((bundle / "ads" / f"{ad_id_of('demo_telegram', 't0129')}.json").read_text())
    assert t0129["via"] == [
        f"network:{exported['network_id']}",
        f"cluster:{exported['cluster_id']}",
    ]
    assert (bundle / "clusters" / f"{exported['cluster_id']}.json").is_file()
    listed = {e["path"] for e in manifest["files"]}
    assert {
        "report/laporan.pdf",
        "report/laporan.html",
        "audit.json",
        "decisions.json",
        "case.json",
        "README.txt",
    } <= listed
    # Every ad's archived page rendered; ads read from one page (a channel, a group feed) share it.
    page_of = {a: json.loads((bundle / "ads" / f"{a}.json").read_text())["page_image"] for a in ads}
    assert set(page_of.values()) == {p for p in listed if p.startswith("pages/")}
    assert all(page_of.values())
    assert [p for p in listed if p.startswith("warc/")]
    one = json.loads((bundle / "ads" / f"{exported['ad_one']}.json").read_text())
    assert [d["decision"] for d in one["decisions"]] == ["confirmed"]
    assert one["evidence"][-1]["warc_digest"].startswith("sha256:")
    assert "html" not in one["evidence"][-1]
    audit = json.loads((bundle / "audit.json").read_text())
    assert {"case.create", "case.item.add", "case.note", "case.update", "review"} <= {
        e["action"] for e in audit
    }
    assert case["routing"][0]["to"] == "Ditressiber Polda Jabar"
    # The export is audited with the SHA-256 of SHA256SUMS: the store vouches for this bundle.
    sums_digest = hashlib.sha256((bundle / "SHA256SUMS").read_bytes()).hexdigest()
    exports = store_exports(patrol, exported["case_id"])
    assert len(exports) == 2  # the folder and the ZIP
    assert sums_digest in {e["after"]["sha256sums"] for e in exports}
    records = {
        e["warc_record_id"]
        for a in ads
        for e in json.loads((bundle / "ads" / f"{a}.json").read_text())["evidence"]
    }
    assert len(records) >= len(set(page_of.values()))
    # With patroli, a folder and a ZIP:
    for target in (bundle, exported["zip"]):
        checked = run_patroli("case", "verify", str(target), "--json")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        report = json.loads(checked.stdout)
        assert report["ok"] is True
        # A request and a response record per page; ads read from one page share them.
        assert report["warc_records"] >= 2 * len(records)
    # Without patroli: plain files and sha256sum, as the README says.
    readme = (bundle / "README.txt").read_text()
    assert "sha256sum -c SHA256SUMS" in readme
    plain = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=bundle, capture_output=True, text=True, check=False
    )
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert plain.stdout.count(": OK") == len((bundle / "SHA256SUMS").read_text().splitlines())


def store_exports(patrol: Patrol, case_id: str) -> list[dict[str, Any]]:
    with open_store(patrol.store_url) as store:
        return [e for e in store.audit_log(target=case_id) if e["action"] == "case.export"]


def test_the_pdf_report_renders_to_pages_with_the_case_and_its_ads(
    patrol: Patrol, exported: dict[str, Any], tmp_path: Path
) -> None:
    pdf = exported["bundle"] / "report" / "laporan.pdf"
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    assert png_is_not_blank(pages[0])  # the summary: dense text
    # No empty page; a page holding the rest of a tall, pale channel screenshot has little ink.
    assert all(matplotlib.image.imread(str(page)).std() > 0.005 for page in pages)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    assert CASE_TITLE in flat
    with open_store(patrol.store_url) as store:
        ad = store.get_ad(exported["ad_one"])
    assert " ".join(ad["text"].split()[:6]) in flat
    assert "Linimasa" in flat
    assert "Identitas perekrut" in flat
    assert f"Jaringan {exported['network_id']}" in flat
    assert "+6281255537781" in flat.replace(" ", "") or "6281255537781" in flat.replace(" ", "")
    assert "bukan akuisisi forensik" in flat


def test_a_flipped_byte_in_a_warc_record_and_in_the_report_is_named(
    exported: dict[str, Any], tmp_path: Path
) -> None:
    tampered = tmp_path / "tampered"
    shutil.copytree(exported["bundle"], tampered)
    warc = next((tampered / "warc").glob("*.warc.gz"))
    for path in (warc, tampered / "report" / "laporan.html"):
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x20
        path.write_bytes(bytes(data))
    checked = run_patroli("case", "verify", str(tampered), "--json")
    assert checked.returncode == 4
    failed = json.loads(checked.stdout)["failed"]
    assert set(failed) == {f"warc/{warc.name}", "report/laporan.html"}
    assert any("SHA256SUMS" in problem for problem in failed["report/laporan.html"])
    human = run_patroli("case", "verify", str(tampered))
    assert f"FAILED warc/{warc.name}" in human.stdout
    assert "FAILED report/laporan.html" in human.stdout
    plain = subprocess.run(
        ["sha256sum", "--quiet", "-c", "SHA256SUMS"],
        cwd=tampered,
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.returncode == 1
    assert "laporan.html: FAILED" in plain.stdout


def test_takedown_batches_and_the_tracker_moving_a_taken_down_ad_to_removed(
    patrol: Patrol, exported: dict[str, Any]
) -> None:
    removed_ids = DemoSites().removed_ids()
    taken_down = next(i for i in KNOWN_ILLEGAL["demo_pasarloka"] if i in removed_ids)
    staying = next(i for i in KNOWN_ILLEGAL["demo_kerjanusa"] if i not in removed_ids)
    ads = [ad_id_of("demo_pasarloka", taken_down), ad_id_of("demo_kerjanusa", staying)]
    for ad_id in ads:
        assert (
            patrol.patroli(
                "review", ad_id, "--decision", "confirmed", "--reviewer", "ana"
            ).returncode
            == 0
        )
    unconfirmed = ad_id_of("demo_pasarloka", KNOWN_ILLEGAL["demo_pasarloka"][-1])
    batch = patrol.directory / "saman"
    made = patrol.patroli(
        "takedown",
        "export",
        "saman",
        *ads,
        unconfirmed,
        "-o",
        str(batch),
        "--letter",
        "B-101/KP2MI/XII/2026",
        "--urgent",
        "--by",
        "ivan",
    )
    assert made.returncode == 0, made.stderr
    assert unconfirmed in made.stdout  # left out: not confirmed by an analyst
    saman = json.loads((batch / "saman.json").read_text())
    assert saman["letter_number"] == "B-101/KP2MI/XII/2026"
    assert [item["ad_id"] for item in saman["items"]] == ads
    known = truth()
    for item in saman["items"]:
        for field in (
            "url",
            "content_id",
            "platform",
            "screenshot",
            "legal_analysis",
            "requesting_agency",
            "letter_number",
        ):
            assert item[field], (field, item)
        shot = batch / item["screenshot"]
        assert hashlib.sha256(shot.read_bytes()).hexdigest() == item["screenshot_sha256"]
        assert png_is_not_blank(shot)
        assert "UU No. 18 Tahun 2017" in item["legal_analysis"]
        assert item["url"].startswith(patrol.sites.url)
        assert item["content_id"] == known[item["ad_id"]]["id"].lstrip("c")
    assert (
        (batch / "saman.csv")
        .read_text()
        .splitlines()[0]
        .startswith("no,url,content_id,platform,screenshot")
    )
    single = patrol.directory / "aduan"
    assert (
        patrol.patroli(
            "takedown", "export", "aduankonten", ads[1], "-o", str(single), "--no-record"
        ).returncode
        == 0
    )
    report = json.loads(next((single / "aduankonten").glob("*.json")).read_text())
    assert {"url", "platform", "screenshot", "reason"} <= set(report)
    assert report["reason"].startswith("Iklan lowongan kerja luar negeri nonprosedural")

    first = json.loads(patrol.patroli("takedown", "recheck", "--json").stdout)
    assert {r["ad_id"]: r["status"] for r in first} == dict.fromkeys(ads, "live")
    assert all(r["clock"]["deadline_hours"] == 4 for r in first)  # urgent: the 4-hour clock
    patrol.sites.set_fault("pasarloka", "removed")  # moderators take the ad down: its page 404s
    try:
        second = json.loads(patrol.patroli("takedown", "recheck", "--json").stdout)
    finally:
        patrol.sites.set_fault("pasarloka", "ok")
    status = {r["ad_id"]: r for r in second}
    assert status[ads[0]]["status"] == "removed"
    assert status[ads[0]]["checks"][-1]["http_status"] == 404
    assert status[ads[0]]["removed_at"]
    assert status[ads[1]]["status"] == "live"
    listed = json.loads(patrol.patroli("takedown", "list", "--json").stdout)
    refused_id = next(r["id"] for r in listed if r["ad_id"] == ads[1])
    assert (
        patrol.patroli(
            "takedown", "status", refused_id, "refused", "--reason", "tautan tidak valid"
        ).returncode
        == 0
    )
    month = datetime.now(UTC).strftime("%Y-%m")
    counts = json.loads(patrol.patroli("takedown", "report", "--month", month, "--json").stdout)[
        "platforms"
    ]
    assert sum(row["submitted"] for row in counts.values()) == 2
    assert sum(row["removed"] for row in counts.values()) == 1
    assert sum(row["found"] for row in counts.values()) > 10
    assert counts["Telegram"]["found"] > 0
