"""The flyer look-up without a full scan: multi-index hashing over 64-bit perceptual hashes.

A 64-bit hash is split into ``BANDS`` bands of 16 bits; each stored image contributes one exact
key per band (``f0:1a2b``). Two hashes within Hamming distance ``d`` differ in at most
``d // BANDS`` bits in at least one band (pigeonhole), so a probe looks up, per band, every key
within that radius, and each candidate is then verified with the full distance. The keys are
plain strings: an indexed SQLite column and an engine ``terms`` query serve them alike.

``SAME_FLYER_PHASH`` and ``SAME_FLYER_DHASH`` are the tuned distances (bench/flyer_matching.py):
two images are the same flyer when their pHash and dHash (of the same orientation; a mirrored
repost is compared with the mirror's hashes) are both within them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import combinations
from typing import Any

BITS = 64
BANDS = 4
BAND_BITS = BITS // BANDS
KEY_PREFIX = "f"
# Tuned on half of the variation set (best F1; bench/flyer_matching.py), checked on the other
# half: precision 0.998, recall 0.983 there; 0.999 and 0.992 over the whole set (docs/flyers.md).
SAME_FLYER_PHASH = 14
SAME_FLYER_DHASH = 11


def as_int(hex_hash: str) -> int:
    return int(hex_hash, 16)


def distance(a: str | int, b: str | int) -> int:
    x = as_int(a) if isinstance(a, str) else a
    y = as_int(b) if isinstance(b, str) else b
    return (x ^ y).bit_count()


def band_values(value: int) -> list[int]:
    mask = (1 << BAND_BITS) - 1
    return [(value >> (BAND_BITS * (BANDS - 1 - i))) & mask for i in range(BANDS)]


def band_key(band: int, value: int) -> str:
    return f"{KEY_PREFIX}{band}:{value:04x}"


def image_keys(phash: str) -> list[str]:
    """The exact-match keys one stored image contributes (its pHash, as stored)."""
    return [band_key(i, v) for i, v in enumerate(band_values(as_int(phash)))]


def _neighbours(value: int, radius: int) -> Iterable[int]:
    for r in range(radius + 1):
        for bits in combinations(range(BAND_BITS), r):
            flipped = value
            for bit in bits:
                flipped ^= 1 << bit
            yield flipped


def probe_keys(phashes: Iterable[str], max_distance: int = SAME_FLYER_PHASH) -> list[str]:
    """Every key a stored image within ``max_distance`` of one of ``phashes`` must have at least
    one of (the probe's own hash and its mirror's are both passed by callers)."""
    radius = max_distance // BANDS
    keys: set[str] = set()
    for phash in phashes:
        for band, value in enumerate(band_values(as_int(phash))):
            keys.update(band_key(band, v) for v in _neighbours(value, radius))
    return sorted(keys)


def flyer_distance(probe: Mapping[str, Any], image: Mapping[str, Any]) -> tuple[int, int] | None:
    """(pHash, dHash) distance between two fingerprinted images, in the better orientation (the
    probe as is, or mirrored), or None when either is not linkable."""
    if not (probe.get("linkable") and image.get("linkable")):
        return None
    if not (probe.get("phash") and image.get("phash")):
        return None
    straight = (distance(probe["phash"], image["phash"]), distance(probe["dhash"], image["dhash"]))
    mirrored = (
        distance(probe["phash_mirror"], image["phash"]),
        distance(probe["dhash_mirror"], image["dhash"]),
    )
    return min(straight, mirrored)


def is_same_flyer(
    measured: tuple[int, int] | None,
    max_phash: int = SAME_FLYER_PHASH,
    max_dhash: int = SAME_FLYER_DHASH,
) -> bool:
    return measured is not None and measured[0] <= max_phash and measured[1] <= max_dhash


def best_match(
    probes: Iterable[Mapping[str, Any]],
    images: Iterable[Mapping[str, Any]],
    max_phash: int = SAME_FLYER_PHASH,
    max_dhash: int = SAME_FLYER_DHASH,
) -> tuple[int, int] | None:
    """The closest same-flyer (pHash, dHash) distance between any probe and any image, or None."""
    images = list(images)
    found: tuple[int, int] | None = None
    for probe in probes:
        for image in images:
            measured = flyer_distance(probe, image)
            if measured is None or not is_same_flyer(measured, max_phash, max_dhash):
                continue
            if found is None or measured < found:
                found = measured
    return found
