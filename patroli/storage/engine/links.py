"""Template clusters and recruiter networks on the search engines (the ``LinkBackend`` of
``storage.linking``), and the engine side of the ``NetworkStore`` and leads queries.

One ``links`` document per ad holds its MinHash signature (stored, not indexed), its LSH band keys
and identifier keys (keywords, so that a ``terms`` query finds candidates) and copies of its cluster
and network ids (so that aggregations answer "which networks carry this phone"); the ad document
itself carries ``cluster_id``, ``network_id`` and ``cluster_status`` for search. Engines have no
transactions: the store serialises link runs within a process, and ``patroli networks rebuild``
repairs what two processes linking at the same moment could leave unmerged.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from patroli.storage.base import Record, chunks
from patroli.storage.engine.client import EngineError
from patroli.storage.engine.connection import BulkAction, EngineConnection
from patroli.storage.linking.backend import AdLinks, split_key
from patroli.storage.schema import CLUSTER_FIELDS, GENERIC_FIELDS
from patroli.storage.trends import trend_rows

_CHUNK = 1000
_MAX_HITS = 10_000
_LINK_INPUTS = [
    "ad_id",
    "title",
    "text",
    "phones",
    "whatsapp",
    "telegram",
    "emails",
    "bank_accounts",
    "images",
]


def _links(source: Mapping[str, Any]) -> AdLinks:
    raw = source.get("signature")
    return AdLinks(
        ad_id=str(source["ad_id"]),
        signature=base64.b64decode(raw) if raw else None,
        bands=[int(b) for b in source.get("bands") or ()],
        identifiers=list(source.get("identifiers") or ()),
        cluster_id=source.get("cluster_id") or "",
        network_id=source.get("network_id") or "",
    )


class EngineLinks:
    """A ``LinkBackend`` over one engine connection."""

    def __init__(self, conn: EngineConnection) -> None:
        self.conn = conn

    def _mget(
        self, kind: str, ids: Sequence[str], source: list[str] | bool = True
    ) -> list[dict[str, Any]]:
        if kind not in self.conn._ready:
            return []
        found: list[dict[str, Any]] = []
        for chunk in chunks(ids, _CHUNK):
            docs = self.conn.client.request(
                "POST",
                f"/{self.conn.alias(kind)}/_mget",
                body={"ids": chunk},
                params={"_source": ",".join(source)} if isinstance(source, list) else None,
            )["docs"]
            found += [d["_source"] for d in docs if d.get("found")]
        return found

    def _scan_links(self, query: dict[str, Any]) -> list[AdLinks]:
        return [_links(h["_source"]) for h in self.conn.scan("links", query, [{"ad_id": "asc"}])]

    def _bulk(self, actions: list[BulkAction], *kinds: str) -> None:
        for kind in kinds:
            self.conn.ensure(kind)
        for chunk in chunks(actions, 2000):
            for outcome in self.conn.bulk(chunk):
                error = outcome.get("error")
                if error and outcome.get("status") != 404:
                    raise EngineError(
                        int(outcome.get("status", 500)),
                        str(error.get("type")),
                        str(error.get("reason", ""))[:200],
                    )
        self.conn.wrote(*kinds)

    def _update_ads(self, docs: Mapping[str, dict[str, Any]], *, links_too: bool = True) -> None:
        actions: list[BulkAction] = []
        for ad_id, doc in docs.items():
            actions.append(
                (
                    {
                        "update": {
                            "_index": self.conn.alias("ads"),
                            "_id": ad_id,
                            "retry_on_conflict": 5,
                        }
                    },
                    {"doc": doc},
                )
            )
            link_doc = {k: v for k, v in doc.items() if k in ("cluster_id", "network_id")}
            if links_too and link_doc:
                actions.append(
                    (
                        {
                            "update": {
                                "_index": self.conn.alias("links"),
                                "_id": ad_id,
                                "retry_on_conflict": 5,
                            }
                        },
                        {"doc": link_doc},
                    )
                )
        if actions:
            self._bulk(actions, "ads", "links")

    # --- LinkBackend ------------------------------------------------------------------------

    def links_of(self, ad_ids: Sequence[str]) -> dict[str, AdLinks]:
        return {s["ad_id"]: _links(s) for s in self._mget("links", list(ad_ids))}

    def band_candidates(self, keys: Iterable[int]) -> dict[str, AdLinks]:
        found: dict[str, AdLinks] = {}
        for chunk in chunks([str(k) for k in keys], _CHUNK):
            hits = self.conn.search(
                "links",
                {
                    "query": {"terms": {"bands": chunk}},
                    "size": _MAX_HITS,
                    "track_total_hits": False,
                },
            )
            for hit in hits["hits"]["hits"]:
                found[hit["_source"]["ad_id"]] = _links(hit["_source"])
        return found

    def save_links(self, links: Sequence[AdLinks]) -> None:
        actions: list[BulkAction] = []
        for link in links:
            doc = {
                "ad_id": link.ad_id,
                "signature": base64.b64encode(link.signature).decode() if link.signature else None,
                "bands": [str(b) for b in link.bands],
                "identifiers": link.identifiers,
                "cluster_id": link.cluster_id,
                "network_id": link.network_id,
            }
            actions.append(
                ({"index": {"_index": self.conn.alias("links"), "_id": link.ad_id}}, doc)
            )
        if actions:
            self._bulk(actions, "links")
        self._update_ads(
            {l.ad_id: {"cluster_id": l.cluster_id, "network_id": l.network_id} for l in links},
            links_too=False,
        )

    def set_clusters(self, assignments: Mapping[str, str]) -> None:
        self._update_ads({a: {"cluster_id": c} for a, c in assignments.items()})

    def set_networks(self, assignments: Mapping[str, str]) -> None:
        self._update_ads({a: {"network_id": n} for a, n in assignments.items()})

    def set_cluster_status(self, assignments: Mapping[str, str]) -> None:
        self._update_ads(
            {a: {"cluster_status": s} for a, s in assignments.items()}, links_too=False
        )

    def delete_links(self, ad_ids: Sequence[str]) -> None:
        actions: list[BulkAction] = [
            ({"delete": {"_index": self.conn.alias("links"), "_id": a}}, None) for a in ad_ids
        ]
        if actions:
            self._bulk(actions, "links")
        self._update_ads(
            {a: {"cluster_id": "", "network_id": "", "cluster_status": ""} for a in ad_ids},
            links_too=False,
        )

    def cluster_members(self, cluster_id: str) -> list[AdLinks]:
        return self._scan_links({"term": {"cluster_id": cluster_id}})

    def network_members(self, network_id: str) -> list[AdLinks]:
        return self._scan_links({"term": {"network_id": network_id}})

    def _terms(
        self,
        field: str,
        values: list[str],
        sub: dict[str, Any] | None = None,
        query_field: str = "",
    ) -> list[dict[str, Any]]:
        buckets: list[dict[str, Any]] = []
        for chunk in chunks(values, 500):
            agg: dict[str, Any] = {"terms": {"field": field, "include": chunk, "size": len(chunk)}}
            if sub:
                agg["aggs"] = sub
            body = {
                "size": 0,
                "track_total_hits": False,
                "query": {"terms": {query_field or field: chunk}},
                "aggs": {"t": agg},
            }
            response = self.conn.search("links", body)
            if "aggregations" in response:
                buckets += response["aggregations"]["t"]["buckets"]
        return buckets

    def cluster_sizes(self, cluster_ids: Iterable[str]) -> dict[str, int]:
        return {b["key"]: b["doc_count"] for b in self._terms("cluster_id", sorted(cluster_ids))}

    def network_sizes(self, network_ids: Iterable[str]) -> dict[str, int]:
        return {b["key"]: b["doc_count"] for b in self._terms("network_id", sorted(network_ids))}

    def _networks_by(self, field: str, values: Iterable[str]) -> dict[str, set[str]]:
        sub = {"n": {"terms": {"field": "network_id", "size": 10_000}}}
        found: dict[str, set[str]] = defaultdict(set)
        for bucket in self._terms(field, sorted(values), sub):
            found[bucket["key"]] = {n["key"] for n in bucket["n"]["buckets"] if n["key"]}
        return found

    def networks_of_clusters(self, cluster_ids: Iterable[str]) -> dict[str, set[str]]:
        return self._networks_by("cluster_id", cluster_ids)

    def networks_of_identifiers(self, keys: Iterable[str]) -> dict[str, set[str]]:
        return self._networks_by("identifiers", keys)

    def identifier_cluster_counts(self, keys: Iterable[str]) -> dict[str, int]:
        sub = {"c": {"cardinality": {"field": "cluster_id", "precision_threshold": 10_000}}}
        return {
            b["key"]: int(b["c"]["value"]) for b in self._terms("identifiers", sorted(keys), sub)
        }

    def generic_identifiers(self, keys: Iterable[str] | None = None) -> dict[str, Record]:
        if keys is None:
            docs = [
                h["_source"] for h in self.conn.scan("generic", {"match_all": {}}, [{"key": "asc"}])
            ]
        else:
            docs = self._mget("generic", sorted(keys))
        return {d["key"]: {k: d.get(k) for k in GENERIC_FIELDS} for d in docs}

    def mark_generic(self, counts: Mapping[str, int], at: str) -> None:
        actions: list[BulkAction] = []
        for key, n in counts.items():
            kind, value = split_key(key)
            doc = {"key": key, "kind": kind, "value": value, "clusters": n, "marked_at": at}
            actions.append(({"index": {"_index": self.conn.alias("generic"), "_id": key}}, doc))
        if actions:
            self._bulk(actions, "generic")

    def cluster_records(self, cluster_ids: Iterable[str]) -> dict[str, Record]:
        return {
            d["cluster_id"]: {k: d.get(k) for k in CLUSTER_FIELDS}
            for d in self._mget("clusters", sorted(cluster_ids))
        }

    def put_cluster_records(self, records: Sequence[Record]) -> None:
        actions: list[BulkAction] = [
            (
                {"index": {"_index": self.conn.alias("clusters"), "_id": r["cluster_id"]}},
                {k: r.get(k) for k in CLUSTER_FIELDS},
            )
            for r in records
        ]
        if actions:
            self._bulk(actions, "clusters")

    def all_ad_ids(self) -> list[str]:
        return [
            h["_source"]["ad_id"]
            for h in self.conn.scan("ads", {"match_all": {}}, [{"ad_id": "asc"}], ["ad_id"], 5000)
        ]

    def link_inputs(self, ad_ids: Sequence[str]) -> list[Record]:
        return [dict(s) for s in self._mget("ads", list(ad_ids), _LINK_INPUTS)]

    def flyer_candidates(
        self, key_sets: Sequence[tuple[list[str], list[str]]], limit: int
    ) -> dict[str, list[Record]]:
        if "ads" not in self.conn._ready:
            return {}
        found: dict[str, list[Record]] = {}
        for phash_keys, dhash_keys in key_sets:
            query = {
                "bool": {
                    "filter": [
                        {"terms": {"image_keys": phash_keys}},
                        {"terms": {"image_keys": dhash_keys}},
                    ]
                }
            }
            hits = self.conn.search(
                "ads",
                {
                    "query": query,
                    "size": limit,
                    "track_total_hits": False,
                    "_source": ["ad_id", "images"],
                },
            )
            for hit in hits["hits"]["hits"]:
                found[hit["_source"]["ad_id"]] = list(hit["_source"].get("images") or [])
        return found


class EngineNetworkQueries:
    """The backend-specific parts of ``NetworkStore`` and the leads (``trends``)."""

    conn: EngineConnection

    def largest_networks(self, *, limit: int = 10, active_days: int = 30) -> list[Record]:
        since = (datetime.now(UTC) - timedelta(days=active_days)).isoformat()
        body = {
            "size": 0,
            "track_total_hits": False,
            "query": {
                "bool": {
                    "filter": [{"exists": {"field": "network_id"}}],
                    "must_not": [{"term": {"network_id": ""}}],
                }
            },
            "aggs": {
                "n": {
                    "terms": {
                        "field": "network_id",
                        "size": max(limit * 20, 200),
                        "min_doc_count": 2,
                        "order": [{"_count": "desc"}, {"_key": "asc"}],
                    },
                    "aggs": {
                        "last_seen": {"max": {"field": "last_seen"}},
                        "sources": {"cardinality": {"field": "source"}},
                        "flagged": {"filter": {"term": {"flagged": True}}},
                        "confirmed": {"filter": {"term": {"status": "confirmed"}}},
                    },
                }
            },
        }
        response = self.conn.search("ads", body)
        rows = []
        for bucket in response.get("aggregations", {}).get("n", {}).get("buckets", []):
            last = bucket["last_seen"].get("value_as_string")
            if not last or datetime.fromisoformat(last) < datetime.fromisoformat(since):
                continue
            rows.append(
                {
                    "network_id": bucket["key"],
                    "ads": bucket["doc_count"],
                    "sources": int(bucket["sources"]["value"]),
                    "flagged": bucket["flagged"]["doc_count"],
                    "confirmed": bucket["confirmed"]["doc_count"],
                    "last_seen": last,
                }
            )
        return rows[:limit]

    def trends(self, *, days: int = 30) -> dict[str, Any]:
        since = (datetime.now(UTC) - timedelta(days=days)).isoformat()
        fields = ["province", "transit", "countries", "agency_id", "job_type", "flagged", "status"]
        hits = self.conn.scan(
            "ads", {"range": {"first_seen": {"gte": since}}}, [{"ad_id": "asc"}], fields, 5000
        )
        return trend_rows(
            (
                s.get("province"),
                s.get("transit") or [],
                s.get("countries") or [],
                s.get("agency_id"),
                s.get("job_type"),
                bool(s.get("flagged")),
                s.get("status"),
            )
            for s in (h["_source"] for h in hits)
        )
