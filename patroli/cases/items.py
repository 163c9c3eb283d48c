"""What a case's items stand for: the ads they resolve to.

An ``ad`` item is that ad; an ``identifier`` item (``phone:+62…``, ``handle:@…``, ``email:…``) is
every ad carrying it, on any source, at any time. ``cluster`` and ``network`` items are template
clusters and recruiter networks (``storage.linking``): the ads in them when the case is read, so a
network that grows brings its new ads into the case. A cluster or network merged into another is
followed to it; an id that no longer holds an ad otherwise (its ads left or were relinked) is kept on
the case and listed as not resolved, never silently dropped. Each cluster and network resolved
is also summed up (``Resolution.groups``) for the case page and the bundle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from patroli.storage import AdNotFound, AdStore, NetworkStore, Record

MAX_ADS_PER_ITEM = 1000


class CaseSource(AdStore, NetworkStore, Protocol):
    """What resolving a case reads: ads, and the clusters and networks they are linked into."""


class Unresolved(Exception):
    """An item whose ads cannot be listed here; the message says why."""


@dataclass(slots=True)
class Resolution:
    ad_ids: list[str] = field(default_factory=list)  # in order of first appearance
    via: dict[str, list[str]] = field(default_factory=dict)  # ad id -> the items that brought it
    unresolved: list[tuple[Record, str]] = field(default_factory=list)
    # "cluster:ID" / "network:ID" -> what the bundle and the report say about it (``group_summary``)
    groups: dict[str, Record] = field(default_factory=dict)


def ads_of_identifier(store: AdStore, value: str) -> list[str]:
    kind, _, raw = value.partition(":")
    escaped = raw.replace('"', "")
    hits = store.search(f'{kind}:"{escaped}"', limit=MAX_ADS_PER_ITEM, sort="date").hits
    return [hit["ad_id"] for hit in hits]


def _ids(ads: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(ad["ad_id"]) for ad in ads]


def group_summary(kind: str, group: Mapping[str, Any]) -> Record:
    """A cluster or network as the bundle keeps it: its ads by id, no page text."""
    members = group.get("members") if kind == "cluster" else group.get("ads")
    summary = {k: v for k, v in group.items() if k not in ("members", "ads", "edges", "template")}
    summary["ad_ids"] = _ids(members or [])
    if kind == "cluster":
        summary["template"] = [
            [str(part), bool(varies)] for part, varies in group.get("template") or []
        ]
    return summary


def ads_of_cluster(store: CaseSource, cluster_id: str) -> tuple[list[str], Record]:
    """The ads of a template cluster (a merged cluster's old id leads to the one it went into)."""
    try:
        cluster = store.get_cluster(cluster_id, limit=MAX_ADS_PER_ITEM)
    except KeyError:
        raise Unresolved(f"cluster {cluster_id}: no ad is in this cluster now") from None
    return _ids(cluster["members"]), group_summary("cluster", cluster)


def ads_of_network(store: CaseSource, network_id: str) -> tuple[list[str], Record]:
    """The ads of a recruiter network as it is now (a merged network's old id leads to the one it
    went into)."""
    try:
        network = store.get_network(network_id, limit=MAX_ADS_PER_ITEM)
    except KeyError:
        raise Unresolved(
            f"network {network_id}: no ad is in this network now (relinked into another)"
        ) from None
    return _ids(network["ads"]), group_summary("network", network)


def resolve(store: CaseSource, items: Iterable[Mapping[str, Any]]) -> Resolution:
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
            elif kind in ("cluster", "network"):
                found, summary = (ads_of_cluster if kind == "cluster" else ads_of_network)(
                    store, value
                )
                resolution.groups[f"{kind}:{value}"] = summary
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
