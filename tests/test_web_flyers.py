"""Flyers in the web app, over real HTTP: ad images served safely, the text read in them with the
reasons' cues marked, "ads with this flyer", and the investigators' search by an uploaded image
(role, CSRF, size and type bounds)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from patroli.images.files import ImageFiles
from patroli.storage import Store
from tests.helpers.flyerkit import blank_png, flyer_facts, flyer_jpeg, image_facts, with_images
from tests.helpers.records import record
from tests.helpers.webkit import LiveServer, logged_in, seed_store, web_settings

OCR_TEXT = "LOWONGAN KERJA KAMBOJA\nBerangkat cepat pakai visa turis\nBiaya proses Rp 7.500.000"
CODES = ["indicator:visit_visa_work", "indicator:worker_pays_fees", "indicator:scam_hub_office_job"]


@pytest.fixture(scope="module")
def images_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("images")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, images_dir: Path) -> Iterator[Store]:
    store = seed_store(f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}")
    files = ImageFiles(images_dir)
    flyer = {**flyer_facts("p01"), "ocr": "done", "ocr_text": OCR_TEXT}
    files.put(flyer["sha256"], "jpeg", flyer_jpeg("p01"), flyer)
    repost = flyer_facts("p01", "mirrored")
    files.put(repost["sha256"], "jpeg", flyer_jpeg("p01", "mirrored"), repost)
    blank = image_facts(blank_png(), "https://img.example/placeholder.png")
    no_contact = {"phones": [], "telegram": [], "countries": []}
    store.upsert_ads(
        [
            record(
                "flyer0000000000000000001",
                text="",
                title="",
                source="demo_telegram",
                flagged=True,
                reason_codes=CODES,
                **no_contact,
                **with_images([flyer]),
            ),
            record(
                "flyer0000000000000000002",
                text="Cek gambar",
                title="Info di gambar",
                source="demo_fb_group",
                **no_contact,
                **with_images([repost, blank]),
            ),
            record(
                "flyer0000000000000000003",
                text="Cek gambar",
                title="Lain",
                **no_contact,
                **with_images([flyer_facts("p05"), blank]),
            ),
        ]
    )
    yield store
    store.close()


@pytest.fixture(scope="module")
def server(seeded: Store, images_dir: Path) -> Iterator[LiveServer]:
    with LiveServer(
        seeded, web_settings(images_dir=str(images_dir), images_max_bytes=300_000)
    ) as live:
        yield live


def test_ad_images_are_served_with_their_type_nosniff_and_no_scripts(server: LiveServer) -> None:
    sha = flyer_facts("p01")["sha256"]
    with logged_in(server.url, "ana") as client:
        response = client.get(f"/images/{sha}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.content == flyer_jpeg("p01")
        assert client.get("/images/" + "f" * 64).status_code == 404
        assert client.get("/images/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_ad_page_shows_images_their_text_with_cues_and_the_same_flyer(server: LiveServer) -> None:
    with logged_in(server.url, "ana") as client:
        page = client.get("/ads/flyer0000000000000000001").text
    image_text = page[
        page.index('id="image-text"') : page.index("</div>", page.index('id="image-text"'))
    ]
    marked = re.findall(r'<mark class="cue[^"]*"[^>]*>([^<]+)</mark>', image_text)
    assert any("visa turis" in m.lower() for m in marked), marked
    assert any("biaya" in m.lower() for m in marked), marked
    assert f'src="/images/{flyer_facts("p01")["sha256"]}"' in page
    assert "<svg" not in page.split("<main", 1)[1]  # no inline SVG in the content
    figure = page[page.index('id="images"') :]
    assert 'href="/ads/flyer0000000000000000002"' in figure  # the mirrored repost
    assert 'href="/ads/flyer0000000000000000003"' not in figure
    assert "dalam teks gambar" in page  # reasons say their cue is in the image


def test_search_by_image_finds_the_reposts_for_investigators_only(server: LiveServer) -> None:
    upload = {"image": ("repost.jpg", flyer_jpeg("p01", "resized"), "image/jpeg")}
    with logged_in(server.url, "ivan") as client:
        token = client.csrf("/search/image")
        response = client.post("/search/image", {"csrf_token": token}, files=upload)
        assert response.status_code == 200
        found = set(re.findall(r'href="/ads/(flyer\d+)"', response.text))
        assert found == {"flyer0000000000000000001", "flyer0000000000000000002"}
        # Without the CSRF token the upload is refused.
        assert client.post("/search/image", {}, files=upload).status_code == 403
        # Hostile or useless uploads get a message, never a crash.
        svg = {
            "image": (
                "x.jpg",
                b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                "image/jpeg",
            )
        }
        refused = client.post("/search/image", {"csrf_token": token}, files=svg)
        assert refused.status_code == 400
        assert "SVG" in refused.text
        assert "<script>alert" not in refused.text
        blank = {"image": ("blank.png", blank_png(), "image/png")}
        assert client.post("/search/image", {"csrf_token": token}, files=blank).status_code == 400
        big = {"image": ("big.jpg", b"\xff\xd8\xff" + b"0" * 400_000, "image/jpeg")}
        assert client.post("/search/image", {"csrf_token": token}, files=big).status_code == 413
    with logged_in(server.url, "ana") as analyst:
        token = analyst.csrf("/account")
        assert analyst.post("/search/image", {"csrf_token": token}, files=upload).status_code == 403
