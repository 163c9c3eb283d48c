"""What a case's items stand for: the ads they resolve to.

An ``ad`` item is that ad; an ``identifier`` item (``phone:+62…``, ``handle:@…``, ``email:…``) is
every ad carrying it, on any source, at any time. ``cluster`` and ``network`` items are template
clusters and recruiter networks (issue 15): ``ads_of_cluster`` and ``ads_of_network`` are the one
place that asks the network store for their ads once it exists; until then such items are kept on
the case and listed as not resolved, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from patroli.storage import AdNotFound, AdStore, Record

MAX_ADS_PER_ITEM = 1000


class Unresolved(Exception):
    """An item whose ads cannot be listed here; the message says why."""


@dataclass(slots=True)
class Resolution:
    ad_ids: list[str] = field(default_factory=list)  # in order of first appearance
    via: dict[str, list[str]] = field(default_factory=dict)  # ad id -> the items that brought it
    unresolved: list[tuple[Record, str]] = field(default_factory=list)


def ads_of_identifier(store: AdStore, value: str) -> list[str]:
    kind, _, raw = value.partition(":")
    escaped = raw.replace('"', "")
    hits = store.search(f'{kind}:"{escaped}"', limit=MAX_ADS_PER_ITEM, sort="date").hits
    return [hit["ad_id"] for hit in hits]


def ads_of_cluster(store: AdStore, cluster_id: str) -> list[str]:
    """The ads of a template cluster: filled when the cluster store of issue 15 lands."""
    raise Unresolved(f"cluster {cluster_id}: template clusters are not in this store yet")


def ads_of_network(store: AdStore, network_id: str) -> list[str]:
    """The ads of a recruiter network: filled when the network store of issue 15 lands."""
    raise Unresolved(f"network {network_id}: recruiter networks are not in this store yet")


def resolve(store: AdStore, items: Iterable[Mapping[str, Any]]) -> Resolution:
    """Every ad the items stand for, once, with the items that brought each."""
    resolution = Resolution()
    for item in items:
        kind, value = str(item["kind"]), str(item["value"])
        try:
            if kind == "ad":
                store.get_ad(value)
                found = [value]
            elif kind == "identifier":
                found = ads_of_identifier(store, value)
            elif kind == "cluster":
                found = ads_of_cluster(store, value)
            elif kind == "network":
                found = ads_of_network(store, value)
            else:
                raise Unresolved(f"unknown item kind {kind!r}")
        except AdNotFound:
            resolution.unresolved.append((dict(item), f"ad {value} is not in the store"))
            continue
        except Unresolved as exc:
            resolution.unresolved.append((dict(item), str(exc)))
            continue
        for ad_id in found:
            if ad_id not in resolution.via:
                resolution.ad_ids.append(ad_id)
            resolution.via.setdefault(ad_id, []).append(
                f"{kind}:{value}" if kind != "identifier" else value
            )
    return resolution
