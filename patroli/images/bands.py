"""The flyer look-up without a full scan: multi-index hashing over 64-bit perceptual hashes.

Each 64-bit hash (pHash and dHash) is split into ``BANDS`` bands of 16 bits; a stored image
contributes one exact key per band of each (``p0:1a2b`` … ``d3:…``: eight keys). Two hashes within
Hamming distance ``d`` agree within ``d // BANDS`` bits on at least one band (pigeonhole), so a
probe asks, per band, for every key within that radius. A same-flyer match is within both
thresholds, so it must hold one of the pHash keys *and* one of the dHash keys of the probe (in the
same orientation): the candidates are that intersection, then verified with the full distances.
The keys are plain strings: an indexed SQLite column and engine ``terms`` queries serve them alike.

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


def band_key(kind: str, band: int, value: int) -> str:
    return f"{kind}{band}:{value:04x}"


def image_keys(phash: str, dhash: str) -> list[str]:
    """The exact-match keys one stored image contributes (its own pHash and dHash bands)."""
    return [
        band_key(kind, i, v)
        for kind, value in (("p", phash), ("d", dhash))
        for i, v in enumerate(band_values(as_int(value)))
    ]


def _neighbours(value: int, radius: int) -> Iterable[int]:
    for r in range(radius + 1):
        for bits in combinations(range(BAND_BITS), r):
            flipped = value
            for bit in bits:
                flipped ^= 1 << bit
            yield flipped


def keys_within(kind: str, hex_hash: str, max_distance: int) -> list[str]:
    """Every key of ``kind`` that a hash within ``max_distance`` of ``hex_hash`` must have one of."""
    radius = max_distance // BANDS
    return [
        band_key(kind, band, v)
        for band, value in enumerate(band_values(as_int(hex_hash)))
        for v in _neighbours(value, radius)
    ]


def probe_key_sets(
    probe: Mapping[str, Any],
    max_phash: int = SAME_FLYER_PHASH,
    max_dhash: int = SAME_FLYER_DHASH,
) -> list[tuple[list[str], list[str]]]:
    """Per orientation of the probe (as is, mirrored): (pHash keys, dHash keys); a stored image
    that is the same flyer holds at least one of each list of one orientation."""
    return [
        (keys_within("p", probe[p], max_phash), keys_within("d", probe[d], max_dhash))
        for p, d in (("phash", "dhash"), ("phash_mirror", "dhash_mirror"))
    ]


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
