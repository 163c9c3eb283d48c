"""The image core on real bytes: type sniffing, bounded decoding (bombs, caps, GIF frames,
transparency), fingerprints and the low-information guard, the flyer look-up keys, Tesseract OCR,
content-addressed files, and the character error rate."""

from __future__ import annotations

import io
import random
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from patroli.demosites import flyers as demo_images
from patroli.images import bands
from patroli.images.decode import ImageRefused, open_bounded
from patroli.images.files import ImageFiles
from patroli.images.fingerprint import fingerprint
from patroli.images.inspect import inspect_image, probe_image
from patroli.images.ocr import clean_ocr_text, otsu_level, prepare, read_text, tesseract_status
from patroli.images.quality import character_error_rate, edit_distance
from patroli.images.sniff import sniff
from tests.helpers.flyerkit import blank_png, demo_flyer, flyer_jpeg


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def noise(size: tuple[int, int], seed: int = 1) -> Image.Image:
    rng = random.Random(seed)  # noqa: S311 - test pictures
    return Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (encoded(noise((20, 20)), "JPEG"), "jpeg"),
        (encoded(noise((20, 20)), "PNG"), "png"),
        (encoded(noise((20, 20)), "WEBP"), "webp"),
        (encoded(noise((20, 20)), "GIF"), "gif"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "svg"),
        (b"\xef\xbb\xbf  <svg onload=alert(1)>", "svg"),
        (b"<!DOCTYPE html><html><body>not an image</body></html>", "not_an_image"),
        (b"", "not_an_image"),
        (b"BM" + bytes(range(256)) * 4, "unsupported_type"),
    ],
)
def test_the_type_comes_from_the_bytes(data: bytes, kind: str) -> None:
    assert sniff(data) == kind


def test_decoding_refuses_bombs_oversize_broken_and_svg() -> None:
    with pytest.raises(ImageRefused) as bomb:
        open_bounded(demo_images.decompression_bomb(), 25_000_000)
    assert bomb.value.reason == "decompression_bomb"
    with pytest.raises(ImageRefused) as big:
        open_bounded(encoded(noise((300, 300)), "PNG"), 50_000)
    assert big.value.reason == "too_many_pixels"
    with pytest.raises(ImageRefused) as broken:
        open_bounded(encoded(noise((300, 300)), "JPEG")[:400], 25_000_000)
    assert broken.value.reason == "undecodable"
    with pytest.raises(ImageRefused) as svg:
        open_bounded(demo_images.SCRIPTED_SVG, 25_000_000)
    assert svg.value.reason == "svg"
    with pytest.raises(ImageRefused) as fake:
        open_bounded(demo_images.NOT_AN_IMAGE, 25_000_000)
    assert fake.value.reason == "not_an_image"


def test_a_gif_is_its_first_frame_and_transparency_lies_on_white() -> None:
    frames = [Image.new("RGB", (40, 40), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    animated = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    kind, image = open_bounded(animated, 25_000_000)
    assert kind == "gif"
    assert image.getpixel((5, 5)) == (255, 0, 0)
    clear = encoded(Image.new("RGBA", (40, 40), (0, 0, 0, 0)), "PNG")
    assert open_bounded(clear, 25_000_000)[1].getpixel((5, 5)) == (255, 255, 255)


def test_low_information_images_are_not_linkable_and_flyers_are() -> None:
    def facts(data: bytes) -> dict[str, object]:
        return fingerprint(open_bounded(data, 25_000_000)[1])

    assert facts(blank_png())["low_information"] == "blank"
    assert facts(encoded(noise((40, 40)), "PNG"))["low_information"] == "tiny"
    mostly = Image.new("RGB", (300, 300), (255, 255, 255))
    ImageDraw.Draw(mostly).rectangle((0, 0, 50, 50), fill=(0, 0, 0))  # 97 % white, high contrast
    assert facts(encoded(mostly, "PNG"))["low_information"] == "one_colour"
    flyer = facts(flyer_jpeg("p01"))
    assert flyer["linkable"] is True
    assert flyer["low_information"] == ""
    with pytest.raises(ImageRefused) as plain:
        probe_image(blank_png(), max_bytes=10**6, max_pixels=25_000_000)
    assert plain.value.reason == "low_information"


def test_mirrored_and_resized_reposts_are_the_same_flyer_and_others_are_not() -> None:
    def facts(flyer: str, variant: str) -> dict[str, object]:
        return fingerprint(open_bounded(flyer_jpeg(flyer, variant), 25_000_000)[1])

    original = facts("p01", "original")
    for variant in ("resized_small", "recompressed", "cropped", "rewatermarked", "mirrored"):
        assert bands.is_same_flyer(bands.flyer_distance(original, facts("p01", variant))), variant
    assert not bands.is_same_flyer(bands.flyer_distance(original, facts("p02", "original")))
    # Mirroring: the mirror's hashes are the probe's own, so a flipped copy is at distance 0.
    straight = bands.distance(original["phash"], facts("p01", "mirrored")["phash"])
    assert straight > bands.SAME_FLYER_PHASH  # without the mirror hashes it would be missed


def test_every_match_within_the_distances_holds_a_looked_up_key_of_each_hash() -> None:
    rng = random.Random(7)  # noqa: S311 - test data

    def near(value: int, most: int) -> str:
        for bit in rng.sample(range(64), rng.randint(0, most)):
            value ^= 1 << bit
        return f"{value:016x}"

    for _ in range(300):
        phash, dhash = rng.getrandbits(64), rng.getrandbits(64)
        probe = {
            "phash": f"{phash:016x}",
            "dhash": f"{dhash:016x}",
            "phash_mirror": f"{rng.getrandbits(64):016x}",
            "dhash_mirror": f"{rng.getrandbits(64):016x}",
        }
        stored = set(
            bands.image_keys(
                near(phash, bands.SAME_FLYER_PHASH), near(dhash, bands.SAME_FLYER_DHASH)
            )
        )
        (phash_keys, dhash_keys), _mirrored = bands.probe_key_sets(probe)
        assert stored & set(phash_keys)
        assert stored & set(dhash_keys)
    far = bands.keys_within("p", "0000000000000000", bands.SAME_FLYER_PHASH)
    assert not set(far) & set(bands.image_keys("ffffffffffffffff", "ffffffffffffffff"))
    assert len(bands.image_keys("0123456789abcdef", "fedcba9876543210")) == 2 * bands.BANDS


def test_ocr_reads_a_rendered_flyer_and_its_mirrored_repost() -> None:
    reference = demo_images.flyer_text(demo_flyer("p01"))
    for variant in ("resized_small", "mirrored"):
        image = open_bounded(flyer_jpeg("p01", variant), 25_000_000)[1]
        text = read_text(image, "ind+eng", "gray_upscale", 60)
        assert "KAMBOJA" in text
        assert character_error_rate(reference, text) < 0.15, (variant, text)


def test_preprocessing_and_cleaning() -> None:
    image = open_bounded(flyer_jpeg("p01", "resized_small"), 25_000_000)[1]
    assert prepare(image, "gray").mode == "L"
    assert prepare(image, "gray_upscale").size == (image.size[0] * 2, image.size[1] * 2)
    binary = prepare(image, "gray_upscale_threshold")
    assert set(binary.histogram()[1:255]) == {0}  # only black and white
    two_tone = Image.new("L", (10, 10), 20)
    ImageDraw.Draw(two_tone).rectangle((0, 0, 4, 9), fill=220)
    assert 20 <= otsu_level(two_tone) < 220
    assert clean_ocr_text("  Gaji  1.200 USD \n ~ \n\n—\nWA 0812") == "Gaji 1.200 USD\nWA 0812"
    with pytest.raises(ValueError, match="unknown OCR preprocessing"):
        prepare(image, "sharpen")


def test_tesseract_status_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    status = tesseract_status("ind+xyz")
    assert status.available is True
    assert status.languages == "ind"
    assert "missing: xyz" in status.message
    assert tesseract_status("xyz").available is False
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    missing = tesseract_status("ind+eng")
    assert missing.available is False
    assert "install tesseract-ocr" in missing.message
    facts = inspect_image(flyer_jpeg("p05"), max_pixels=25_000_000, ocr_languages="ind+eng")
    assert facts["ok"] is True
    assert facts["ocr"] == "unavailable"  # fingerprinted all the same
    assert facts["phash"]


def test_files_are_content_addressed_and_urls_remembered(tmp_path: Path) -> None:
    files = ImageFiles(tmp_path)
    data = flyer_jpeg("p03")
    facts = inspect_image(data, max_pixels=25_000_000)
    assert facts["ocr"] == "off"
    sha = "0" * 63 + "1"
    path = files.put(sha, "jpeg", data, facts)
    assert path == tmp_path / "00" / "00" / f"{sha}.jpg"
    assert files.read(sha) == (data, "image/jpeg")
    assert files.facts(sha)["phash"] == facts["phash"]
    files.remember_url("https://img.example/a.jpg", sha)
    assert files.known_url("https://img.example/a.jpg", 60) == sha
    time.sleep(0.05)
    assert files.known_url("https://img.example/a.jpg", 0.01) is None  # expired
    assert files.read("f" * 64) is None
    with pytest.raises(ValueError, match="SHA-256"):
        files.path("../../etc/passwd", "jpeg")


def test_character_error_rate() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert character_error_rate("Gaji  1.200\nUSD", "gaji 1.200 usd") == 0.0
    assert character_error_rate("abcd", "abxd") == 0.25
    assert character_error_rate("", "") == 0.0
