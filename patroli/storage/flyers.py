""" "Same flyer" look-ups, shared by every backend: from probe images to exact keys (the backend
finds the ads holding any of them, through an index), then each candidate verified with the full
Hamming distances (``patroli.images.bands``). Nothing here scans the store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from patroli.images.bands import best_match, probe_key_sets
from patroli.storage.base import Record

FLYER_KIND = "flyer"  # the entity kind of ``image_keys`` (schema)
VIA_FLYER = "flyer"


def flyer_probes(
    images: Iterable[Mapping[str, Any]],
) -> tuple[list[Mapping[str, Any]], list[tuple[list[str], list[str]]]]:
    """The linkable images among ``images``, and per probe and orientation the (pHash keys, dHash
    keys) a look-alike must hold one of each of (``patroli.images.bands``)."""
    probes = [i for i in images if i.get("linkable") and i.get("phash") and i.get("phash_mirror")]
    return probes, [keys for probe in probes for keys in probe_key_sets(probe)]


def verify_flyers(
    probes: Sequence[Mapping[str, Any]], candidates: Iterable[Record], limit: int
) -> list[Record]:
    """The candidates that really show one of the probes, closest first, each with
    ``via`` = ["flyer"] and ``flyer_distance`` = [pHash, dHash]."""
    found = []
    for record in candidates:
        measured = best_match(probes, record.get("images") or [])
        if measured is not None:
            found.append({**record, "via": [VIA_FLYER], "flyer_distance": list(measured)})
    found.sort(key=lambda r: (r["flyer_distance"], r["ad_id"]))
    return found[:limit]


def merge_flyer_matches(related: list[Record], flyers: Sequence[Record]) -> None:
    """Add same-flyer ads after the ads sharing a contact (an ad that shares both gets both)."""
    by_id = {r["ad_id"]: r for r in related}
    for match in flyers:
        if match["ad_id"] in by_id:
            by_id[match["ad_id"]]["via"] = sorted({*by_id[match["ad_id"]]["via"], VIA_FLYER})
            by_id[match["ad_id"]]["flyer_distance"] = match["flyer_distance"]
        else:
            related.append(match)
            by_id[match["ad_id"]] = match
