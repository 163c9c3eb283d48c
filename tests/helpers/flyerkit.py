"""Flyer images for tests: the demo flyers and their variations, fingerprinted as the crawl does."""

from __future__ import annotations

import io
from functools import cache
from typing import Any

from PIL import Image

from patroli.demosites import flyers
from patroli.demosites.data import load_demo_data
from patroli.images.bands import image_keys
from patroli.images.decode import open_bounded
from patroli.images.files import sha256_of
from patroli.images.fingerprint import fingerprint

MAX_PIXELS = 25_000_000


@cache
def _key() -> int:
    return flyers.register(load_demo_data().flyers)


def flyer_jpeg(flyer_id: str, variant: str = "original") -> bytes:
    return flyers.flyer_bytes(flyer_id, variant, _key())


def demo_flyer(flyer_id: str) -> dict[str, Any]:
    return next(f for f in load_demo_data().flyers if f["id"] == flyer_id)


def image_facts(data: bytes, url: str = "https://img.example/x.jpg") -> dict[str, Any]:
    """The image record the images pipeline would store for ``data``."""
    _kind, image = open_bounded(data, MAX_PIXELS)
    return {
        "url": url,
        "sha256": sha256_of(data),
        "kind": _kind,
        **fingerprint(image),
        "ocr": "off",
        "ocr_text": "",
    }


def flyer_facts(flyer_id: str, variant: str = "original") -> dict[str, Any]:
    return image_facts(
        flyer_jpeg(flyer_id, variant), f"https://img.example/{flyer_id}-{variant}.jpg"
    )


def blank_png(
    colour: tuple[int, int, int] = (230, 230, 230), size: tuple[int, int] = (400, 300)
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def with_images(images: list[dict[str, Any]]) -> dict[str, Any]:
    """The image fields of a store record showing ``images``."""
    keys: list[str] = []
    for image in images:
        if image.get("linkable"):
            keys += [k for k in image_keys(image["phash"], image["dhash"]) if k not in keys]
    return {
        "images": images,
        "image_keys": keys,
        "image_text": "\n".join(i["ocr_text"] for i in images if i.get("ocr_text")),
    }
