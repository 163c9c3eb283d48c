"""What the linker keeps per ad, and the few operations each store backend gives it to keep them.

The algorithm (``storage.linking.linker``) is written once; SQLite (``storage.sqlite.links``) and
the search engines (``storage.engine.links``) only store and find these records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from patroli.storage.base import Record

# Identifier kinds and the ad fields that hold them. Every kind links ads into networks the same
# way. Flyers are the one kind not read from a field: a flyer is recognised by near-equal image
# hashes, not by an equal value, so the linker gives the ads showing the same flyer one family key
# (``FLYER``, see ``Linker._flyer_families``) kept with their other identifier keys.
FLYER = "flyer"
IDENTIFIER_FIELDS: dict[str, tuple[str, ...]] = {
    "phone": ("phones", "whatsapp"),
    "handle": ("telegram",),
    "email": ("emails",),
    "bank": ("bank_accounts",),
}


def identifier_key(kind: str, value: str) -> str:
    return f"{kind}:{value}"


def split_key(key: str) -> tuple[str, str]:
    kind, _, value = key.partition(":")
    return kind, value


def identifiers_of(record: Mapping[str, Any]) -> list[str]:
    """The identifier keys of an ad (``phone:+62…``, ``handle:@…``, ``email:…``, ``bank:BRI:…``)."""
    keys: dict[str, None] = {}
    for kind, fields in IDENTIFIER_FIELDS.items():
        for name in fields:
            for value in record.get(name) or ():
                if value:
                    keys[identifier_key(kind, str(value))] = None
    return list(keys)


@dataclass(slots=True)
class AdLinks:
    """One ad as the linker sees it."""

    ad_id: str
    signature: bytes | None = None
    bands: list[int] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    cluster_id: str = ""
    network_id: str = ""


class LinkBackend(Protocol):
    """Storage of link records; every method works on what was saved before it was called."""

    def links_of(self, ad_ids: Sequence[str]) -> dict[str, AdLinks]: ...

    def band_candidates(self, keys: Iterable[int]) -> dict[str, AdLinks]:
        """Ads with a band key among ``keys`` (with their signature and cluster)."""

    def save_links(self, links: Sequence[AdLinks]) -> None:
        """Insert or replace these link records and set the ads' ``cluster_id``/``network_id``."""

    def set_clusters(self, assignments: Mapping[str, str]) -> None:
        """ad_id -> cluster_id, for ads whose record is otherwise unchanged."""

    def set_networks(self, assignments: Mapping[str, str]) -> None: ...

    def delete_links(self, ad_ids: Sequence[str]) -> None: ...

    def cluster_members(self, cluster_id: str) -> list[AdLinks]: ...

    def network_members(self, network_id: str) -> list[AdLinks]: ...

    def cluster_sizes(self, cluster_ids: Iterable[str]) -> dict[str, int]: ...

    def network_sizes(self, network_ids: Iterable[str]) -> dict[str, int]: ...

    def networks_of_clusters(self, cluster_ids: Iterable[str]) -> dict[str, set[str]]:
        """cluster_id -> the non-empty network ids of its ads."""

    def networks_of_identifiers(self, keys: Iterable[str]) -> dict[str, set[str]]:
        """identifier key -> the non-empty network ids of the ads carrying it."""

    def identifier_cluster_counts(self, keys: Iterable[str]) -> dict[str, int]:
        """identifier key -> how many distinct template clusters the ads carrying it are in."""

    def generic_identifiers(self, keys: Iterable[str] | None = None) -> dict[str, Record]:
        """The identifiers marked generic (all of them when ``keys`` is None)."""

    def mark_generic(self, counts: Mapping[str, int], at: str) -> None: ...

    def cluster_records(self, cluster_ids: Iterable[str]) -> dict[str, Record]:
        """Decisions and merges kept per cluster (``schema.CLUSTER_FIELDS``)."""

    def put_cluster_records(self, records: Sequence[Record]) -> None: ...

    def set_cluster_status(self, assignments: Mapping[str, str]) -> None:
        """ad_id -> the decision of its cluster ("" for none)."""

    def all_ad_ids(self) -> list[str]: ...

    def link_inputs(self, ad_ids: Sequence[str]) -> list[Record]:
        """The ads' title, text, identifier fields and images, to (re)compute their links."""

    def flyer_candidates(
        self, key_sets: Sequence[tuple[list[str], list[str]]], limit: int
    ) -> dict[str, list[Record]]:
        """ad_id -> images of at most ``limit`` ads holding, for one of ``key_sets``, one of its
        pHash keys and one of its dHash keys (``patroli.images.bands``): same-flyer candidates."""
