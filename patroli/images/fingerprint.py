"""Perceptual fingerprints of an image (``imagehash`` pHash and dHash, and of its mirror image),
and the guard that keeps low-information images (blank, solid, tiny, one colour) out of links.

The hashes are 64-bit, as 16 hex digits. A horizontally flipped repost is found by comparing with
the mirror's hashes (``patroli.images.bands.flyer_distance``).
"""

from __future__ import annotations

from typing import Any

import imagehash
from PIL import Image, ImageOps, ImageStat

MIN_LINKABLE_SIDE = 64  # smaller images are icons, avatars, emoji
MIN_CONTRAST = 12.0  # grey-level standard deviation below this: blank or solid
MAX_ONE_COLOUR_SHARE = 0.93  # a flyer's background rarely fills more of it


def low_information(image: Image.Image) -> str:
    """Why the image must not link ads (``tiny``, ``blank``, ``one_colour``), or ``""``."""
    width, height = image.size
    if min(width, height) < MIN_LINKABLE_SIDE:
        return "tiny"
    small = image.convert("RGB").resize((64, 64), Image.Resampling.BILINEAR)
    if ImageStat.Stat(small.convert("L")).stddev[0] < MIN_CONTRAST:
        return "blank"
    colours = small.quantize(colors=16, method=Image.Quantize.MEDIANCUT).histogram()
    if max(colours) / (64 * 64) > MAX_ONE_COLOUR_SHARE:
        return "one_colour"
    return ""


def fingerprint(image: Image.Image) -> dict[str, Any]:
    """Hashes, size and linkability of an RGB image."""
    # The hashes look at 32x32 (pHash) and 9x8 (dHash) thumbnails: shrink big images once first.
    work = image.copy()
    work.thumbnail((512, 512), Image.Resampling.LANCZOS)
    mirror = ImageOps.mirror(work)
    low = low_information(image)
    return {
        "width": image.size[0],
        "height": image.size[1],
        "phash": str(imagehash.phash(work)),
        "dhash": str(imagehash.dhash(work)),
        "phash_mirror": str(imagehash.phash(mirror)),
        "dhash_mirror": str(imagehash.dhash(mirror)),
        "linkable": not low,
        "low_information": low,
    }
