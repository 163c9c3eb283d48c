"""Ground truth of the networks demo (patroli/demosites/data/networks_truth.json) as stored ad ids,
and the measures the tests report: pairwise precision/recall of clusters, networks recovered."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from patroli.demosites.data import NETWORKS_TRUTH
from tests.helpers.demotruth import ad_id_of, truth


def _ad(ref: str, ids: Mapping[tuple[str, str], str]) -> str:
    source, _, record_id = ref.partition(":")
    return ids[(source, record_id)]


def network_truth() -> dict[str, Any]:
    """families / networks as lists of ad ids; register cases too; generic identifier keys."""
    raw = json.loads(NETWORKS_TRUTH.read_text(encoding="utf-8"))
    ids = {(r["source"], r["id"]): ad_id for ad_id, r in truth().items()}
    families = {name: [_ad(ref, ids) for ref in refs] for name, refs in raw["families"].items()}
    networks = {
        name: [
            a for part in parts for a in (families[part] if part in families else [_ad(part, ids)])
        ]
        for name, parts in raw["networks"].items()
    }
    register = {name: [_ad(ref, ids) for ref in refs] for name, refs in raw["register"].items()}
    return {
        "families": families,
        "networks": networks,
        "generic": raw["generic"],
        "register": register,
    }


def pairwise(
    predicted: Mapping[str, str], families: Mapping[str, list[str]]
) -> tuple[float, float]:
    """Precision and recall of "same cluster" pairs against "same family" pairs over all ads."""
    groups: dict[str, list[str]] = defaultdict(list)
    for ad_id, cluster_id in predicted.items():
        groups[cluster_id].append(ad_id)
    predicted_pairs = {frozenset(p) for g in groups.values() for p in itertools.combinations(g, 2)}
    true_pairs = {frozenset(p) for g in families.values() for p in itertools.combinations(g, 2)}
    hit = len(predicted_pairs & true_pairs)
    precision = hit / len(predicted_pairs) if predicted_pairs else 1.0
    return precision, hit / len(true_pairs) if true_pairs else 1.0


def components_of(assigned: Mapping[str, str], members: Iterable[str]) -> set[str]:
    return {assigned[a] for a in members}


__all__ = ["ad_id_of", "components_of", "network_truth", "pairwise"]
