"""The ``NetworkStore`` role, written once over the other roles and a backend's ``LinkBackend``.

Each backend gives ``link_backend()`` (a context manager: one transaction in SQLite, a process lock
on the engines) and ``largest_networks``; members are read through the store's own search
(``cluster:ID``, ``network:ID``), decisions through its ``review``, so every backend answers alike.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from patroli.config.table import (
    PATROLI_CLUSTER_THRESHOLD,
    PATROLI_LINKING_ENABLED,
    PATROLI_NETWORK_GENERIC_CLUSTERS,
)
from patroli.storage.base import AdNotFound, Record, ReviewConflict, SearchResult, SortOrder
from patroli.storage.linking.backend import LinkBackend, split_key
from patroli.storage.linking.linker import Linker, LinkSettings
from patroli.storage.schema import DECISIONS, now
from patroli.text.templates import template_parts, template_text

logger = logging.getLogger(__name__)
_MEMBER_PAGE = 500


def link_settings() -> LinkSettings:
    return LinkSettings(
        threshold=PATROLI_CLUSTER_THRESHOLD.from_env(),
        generic_clusters=PATROLI_NETWORK_GENERIC_CLUSTERS.from_env(),
    )


class LinkingRole:
    """Mixed into each backend's store class (after the classes that provide the other roles)."""

    _link_lock = threading.RLock()

    # provided by the backend
    def link_backend(self) -> AbstractContextManager[LinkBackend]:
        raise NotImplementedError

    if TYPE_CHECKING:  # provided by the other roles of the store

        def search(
            self,
            query: str = "",
            *,
            limit: int = 20,
            offset: int = 0,
            sort: SortOrder = "relevance",
            facets: bool = False,
            after: list[Any] | None = None,
        ) -> SearchResult: ...

        def review(
            self,
            ad_id: str,
            decision: str,
            *,
            reviewer: str,
            note: str = "",
            expected_version: int | None = None,
        ) -> Record: ...

        def append_audit(
            self,
            actor: str,
            action: str,
            target: str = "",
            before: Any = None,
            after: Any = None,
            detail: str = "",
        ) -> None: ...

    # --- kept up to date by upserts ---------------------------------------------------------

    def link_after_upsert(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Place the upserted ads; a failure is logged and left for ``relink`` (the ads are kept)."""
        if not records or not PATROLI_LINKING_ENABLED.from_env():
            return
        try:
            with self._link_lock, self.link_backend() as backend:
                Linker(backend, link_settings()).link(records)
        except Exception:
            logger.exception(
                "linking %d ads failed; `patroli networks rebuild` links them", len(records)
            )

    def relink(self, ad_ids: Sequence[str] | None = None) -> dict[str, int]:
        with self._link_lock, self.link_backend() as backend:
            linker = Linker(backend, link_settings())
            if ad_ids is None:
                report = linker.relink_all()
            else:
                report = linker.link(backend.link_inputs(list(ad_ids)))
        return {
            "linked": report.linked,
            "clusters_merged": report.clusters_merged,
            "networks_merged": report.networks_merged,
            "split": report.split,
            "generic": report.generic,
        }

    def unlink_ads(self, ad_ids: Sequence[str]) -> int:
        with self._link_lock, self.link_backend() as backend:
            known = len(backend.links_of(list(ad_ids)))
            Linker(backend, link_settings()).unlink(list(ad_ids))
        return known

    def generic_identifiers(self) -> list[Record]:
        with self.link_backend() as backend:
            return list(backend.generic_identifiers().values())

    # --- reading ----------------------------------------------------------------------------

    def _members(self, query: str, limit: int) -> tuple[list[Record], int]:
        hits: list[Record] = []
        after: list[Any] | None = None
        total = 0
        while len(hits) < limit:
            result = self.search(
                query, limit=min(_MEMBER_PAGE, limit - len(hits)), sort="date", after=after
            )
            total = result.total
            hits += result.hits
            after = result.next_after
            if not after or not result.hits:
                break
        return hits, total

    def _resolve_cluster(self, cluster_id: str) -> tuple[str, Record]:
        with self.link_backend() as backend:
            seen: set[str] = set()
            record: Record = {}
            while cluster_id not in seen:
                seen.add(cluster_id)
                record = backend.cluster_records([cluster_id]).get(cluster_id) or {}
                if not record.get("merged_into"):
                    break
                cluster_id = str(record["merged_into"])
        return cluster_id, record

    def get_cluster(self, cluster_id: str, *, limit: int = 500) -> Record:
        cluster_id, record = self._resolve_cluster(cluster_id)
        members, total = self._members(f"cluster:{cluster_id}", limit)
        if not members:
            raise KeyError(cluster_id)
        firsts = [m["first_seen"] for m in members if m.get("first_seen")]
        lasts = [m["last_seen"] for m in members if m.get("last_seen")]
        texts = [template_text(m.get("title"), m.get("text")) for m in members[:20]]
        return {
            "cluster_id": cluster_id,
            "members": members,
            "size": total,
            "sources": dict(Counter(m.get("source") for m in members).most_common()),
            "networks": sorted({m["network_id"] for m in members if m.get("network_id")}),
            "first_seen": min(firsts) if firsts else None,
            "last_seen": max(lasts) if lasts else None,
            "decision": {
                k: record.get(k) for k in ("decision", "decided_by", "decided_at", "note")
            },
            "template": template_parts(texts),
            "statuses": dict(Counter(m.get("status") for m in members)),
        }

    def get_network(self, network_id: str, *, limit: int = 500) -> Record:
        ads, total = self._members(f"network:{network_id}", limit)
        if not ads:
            merged_into, _ = self._resolve_cluster(network_id)  # merges are kept alike
            if merged_into == network_id:
                raise KeyError(network_id)
            network_id = merged_into
            ads, total = self._members(f"network:{network_id}", limit)
            if not ads:
                raise KeyError(network_id)
        carried: dict[str, list[str]] = {}
        edges: list[tuple[str, str]] = []
        with self.link_backend() as backend:
            links = backend.links_of([ad["ad_id"] for ad in ads])  # flyer families are only here
            for ad in ads:
                for key in links[ad["ad_id"]].identifiers if ad["ad_id"] in links else ():
                    carried.setdefault(key, []).append(ad["ad_id"])
                if ad.get("cluster_id"):
                    edges.append((ad["ad_id"], f"cluster:{ad['cluster_id']}"))
            generic = set(backend.generic_identifiers(carried)) if carried else set()
        identifiers = []
        for key, ad_ids in sorted(carried.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            kind, value = split_key(key)
            identifiers.append(
                {
                    "key": key,
                    "kind": kind,
                    "value": value,
                    "ads": len(ad_ids),
                    "generic": key in generic,
                }
            )
            if key not in generic:
                edges += [(ad_id, key) for ad_id in ad_ids]
        clusters = Counter(ad.get("cluster_id") for ad in ads if ad.get("cluster_id"))
        risks = [float(ad["risk"]) for ad in ads if ad.get("risk") is not None]
        firsts = [a["first_seen"] for a in ads if a.get("first_seen")]
        lasts = [a["last_seen"] for a in ads if a.get("last_seen")]
        return {
            "network_id": network_id,
            "ads": ads,
            "size": total,
            "identifiers": identifiers,
            "clusters": [{"cluster_id": c, "ads": n} for c, n in clusters.most_common()],
            "edges": edges,
            "sources": dict(Counter(a.get("source") for a in ads).most_common()),
            "destinations": dict(
                Counter(c for a in ads for c in a.get("countries") or ()).most_common()
            ),
            "first_seen": min(firsts) if firsts else None,
            "last_seen": max(lasts) if lasts else None,
            "risk": {
                "max": max(risks) if risks else None,
                "mean": round(sum(risks) / len(risks), 4) if risks else None,
            },
            "decisions": dict(Counter(a.get("status") or "new" for a in ads)),
        }

    # --- deciding ---------------------------------------------------------------------------

    def review_cluster(
        self,
        cluster_id: str,
        decision: str,
        *,
        reviewer: str,
        note: str = "",
        expected_versions: Mapping[str, int] | None = None,
    ) -> Record:
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
        cluster_id, _ = self._resolve_cluster(cluster_id)
        members, _ = self._members(f"cluster:{cluster_id}", 100_000)
        if not members:
            raise KeyError(cluster_id)
        decided: list[str] = []
        skipped: list[str] = []
        detail = f"cluster {cluster_id}" + (f": {note}" if note else "")
        for member in members:
            ad_id = member["ad_id"]
            expected = (expected_versions or {}).get(ad_id, member.get("version"))
            if expected_versions is not None and ad_id not in expected_versions:
                skipped.append(ad_id)  # joined the cluster after the analyst looked at it
                continue
            try:
                self.review(
                    ad_id,
                    decision,
                    reviewer=reviewer,
                    note=detail,
                    expected_version=int(expected) if expected is not None else None,
                )
                decided.append(ad_id)
            except (ReviewConflict, AdNotFound):
                skipped.append(ad_id)
        at = now()
        with self._link_lock, self.link_backend() as backend:
            backend.put_cluster_records(
                [
                    {
                        "cluster_id": cluster_id,
                        "decision": decision,
                        "decided_by": reviewer,
                        "decided_at": at,
                        "note": note,
                        "merged_into": None,
                    }
                ]
            )
            backend.set_cluster_status(
                {m.ad_id: decision for m in backend.cluster_members(cluster_id)}
            )
        self.append_audit(
            reviewer,
            "cluster_review",
            cluster_id,
            None,
            {"decision": decision, "decided": len(decided), "skipped": len(skipped)},
            detail=note,
        )
        return {"cluster_id": cluster_id, "decided": decided, "skipped": skipped}


def chunked(values: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
