"""Flyers end to end, over real HTTP: `patroli crawl` fetches the demo sites' images through the
images pipeline, reads them with Tesseract and links reposts.

- a flyer-only illegal Telegram post (no caption) is flagged because of its image text, and a
  reason's cue is in that text (not flagged on its caption alone);
- its reposts on the classifieds site and in the Facebook-group feed (resized, mirrored) are
  linked to it as the same flyer; the grey placeholder shown by every classifieds ad links nothing;
- the lawful flyers (a G-to-G programme, a local shop) are not flagged;
- a decompression bomb, an SVG with a script, a 50 MB image and an HTML page served as image/jpeg
  are refused, each with its counted reason, and the crawl goes on.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from classifiers.datasets import model_text
from classifiers.registry import active_version, find_model
from classifiers.scoring import score_with
from patroli.demosites.process import DemoSitesProcess
from patroli.storage import Store, open_store
from patroli.web.highlight import cue_spans
from tests.helpers.cli import crawl
from tests.helpers.demotruth import ad_id_of

pytestmark = pytest.mark.crawl

SOURCES = ("demo_telegram", "demo_pasarloka", "demo_fb_group", "demo_kerjanusa")


@pytest.fixture(scope="module")
def patrolled(
    demo_sites: DemoSitesProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    store_url = f"sqlite:///{tmp_path_factory.mktemp('flyers') / 'patroli.db'}"
    result, runs = crawl(demo_sites.url, store_url, *SOURCES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {r["source"]: r["status"] for r in runs} == dict.fromkeys(SOURCES, "ok")
    store = open_store(store_url)
    yield store
    store.close()


def flyer_ad(store: Store, source: str, record_id: str) -> dict[str, Any]:
    return store.get_ad(ad_id_of(source, record_id))


def test_a_flyer_only_illegal_post_is_flagged_because_of_its_image_text(patrolled: Store) -> None:
    ad = flyer_ad(patrolled, "demo_telegram", "t0901")  # flyer p01, no caption at all
    assert ad["text"] == ""
    assert ad["images"][0]["ocr"] == "done"
    assert "KAMBOJA" in ad["image_text"]
    assert "visa turis" in ad["image_text"]
    assert ad["flagged"] is True
    cited = {code for _, _, code in cue_spans(ad["image_text"], ad["reason_codes"])}
    assert {"indicator:visit_visa_work", "indicator:worker_pays_fees"} <= cited
    # The same ad without its image text is not flagged: the image decided it.
    model = str(find_model(active_version()))
    (without,) = score_with(model, [model_text(ad["title"], ad["text"])], "id")
    assert without.flagged is False
    # Extraction read the flyer too: the WhatsApp number, the country and the fee.
    assert "+6281255507301" in ad["phones"]
    assert "KH" in ad["countries"]
    assert any(fee["amount"] == 7_500_000 for fee in ad["fees"])


def test_its_reposts_on_other_sources_are_the_same_flyer(patrolled: Store) -> None:
    origin = ad_id_of("demo_telegram", "t0901")
    related = {r["ad_id"]: r for r in patrolled.related(origin, limit=50)}
    for source, record_id in (("demo_pasarloka", "c0901"), ("demo_fb_group", "f0901")):
        repost = ad_id_of(source, record_id)
        assert "flyer" in related[repost]["via"], (source, related.get(repost))
    mirrored = flyer_ad(patrolled, "demo_fb_group", "f0901")  # mirrored and re-watermarked
    assert mirrored["flagged"] is True
    assert "KAMBOJA" in mirrored["image_text"]
    found = {
        r["ad_id"]
        for r in patrolled.same_flyer(flyer_ad(patrolled, "demo_telegram", "t0901")["images"])
    }
    other_flyers = {ad_id_of("demo_telegram", t) for t in ("t0902", "t0903", "t0904", "t0905")}
    assert found >= {ad_id_of("demo_pasarloka", "c0901"), ad_id_of("demo_fb_group", "f0901")}
    assert not found & other_flyers


def test_lawful_flyers_are_not_flagged_and_placeholders_link_nothing(patrolled: Store) -> None:
    for source, record_id in (
        ("demo_telegram", "t0904"),
        ("demo_kerjanusa", "j0901"),
        ("demo_telegram", "t0905"),
        ("demo_pasarloka", "c0904"),
    ):
        ad = flyer_ad(patrolled, source, record_id)
        assert ad["image_text"]
        assert ad["flagged"] is False, (record_id, ad["risk"], ad["reasons"])
    plain = flyer_ad(patrolled, "demo_pasarloka", "c0005")  # only the grey "no photo" image
    assert plain["images"]
    assert plain["images"][0]["low_information"] == "blank"
    assert plain["image_keys"] == []
    assert not [r for r in patrolled.related(plain["ad_id"], limit=50) if "flyer" in r["via"]]
    assert patrolled.search("ocr:nunukan").total >= 2  # the Malaysia flyer, on two sources


@pytest.fixture
def hostile_sites(fresh_demo_sites: DemoSitesProcess) -> DemoSitesProcess:
    fresh_demo_sites.set_fault("pasarloka", "hostile")
    return fresh_demo_sites


def test_hostile_images_are_refused_with_a_reason_and_the_crawl_goes_on(
    hostile_sites: DemoSitesProcess, tmp_path: Path
) -> None:
    store_url = f"sqlite:///{tmp_path / 'hostile.db'}"
    result, runs = crawl(
        hostile_sites.url,
        store_url,
        "demo_pasarloka",
        env={"PATROLI_IMAGES_DIR": str(tmp_path / "images")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (run,) = runs
    stats = run["stats"]
    for reason in ("decompression_bomb", "svg", "too_large", "not_an_image"):
        assert stats.get(f"patroli/images/refused/{reason}") == 1, (reason, stats)
    assert run["status"] == "ok"
    assert any("4 image(s) refused" in note for note in run["notes"]), run["notes"]
    with open_store(store_url) as store:
        assert store.count("source:demo_pasarloka") == run["items"] > 100  # every ad kept
        hostile = [
            h
            for h in store.search("source:demo_pasarloka", limit=500).hits
            if any(i.get("refused") for i in h["images"])
        ]
    assert sorted(i["refused"] for h in hostile for i in h["images"] if i.get("refused")) == [
        "decompression_bomb",
        "not_an_image",
        "svg",
        "too_large",
    ]
    kept = list((tmp_path / "images").rglob("*.*"))
    assert not [p for p in kept if p.suffix in (".svg", ".html")]
    assert all(p.stat().st_size < 8 * 1024 * 1024 for p in kept)


def test_without_tesseract_the_crawl_says_so_once_and_keeps_fingerprinting(
    demo_sites: DemoSitesProcess, tmp_path: Path
) -> None:
    store_url = f"sqlite:///{tmp_path / 'no-ocr.db'}"
    no_tesseract = str(Path(sys.executable).parent)  # the venv only: no tesseract on the PATH
    result, runs = crawl(
        demo_sites.url,
        store_url,
        "demo_fb_group",
        env={"PATH": no_tesseract, "PATROLI_IMAGES_DIR": str(tmp_path / "images")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.count("Tesseract is not installed") == 1, result.stderr
    (run,) = runs
    assert run["status"] == "ok"
    assert "not installed" in run["stats"]["patroli/images/ocr"]
    with open_store(store_url) as store:
        flyer = store.get_ad(ad_id_of("demo_fb_group", "f0901"))
    assert flyer["images"][0]["ocr"] == "unavailable"
    assert flyer["image_text"] == ""
    assert flyer["image_keys"]  # still linkable: the hashes need no Tesseract
