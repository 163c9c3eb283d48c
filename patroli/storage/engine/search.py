"""Querying ads on the search engines (the searching half of the ``AdStore`` role): the query
syntax translated by ``storage.engine.dsl``, related ads by shared entities then by
``more_like_this``, and the dashboard's figures as aggregations."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from patroli.storage.base import Record, SearchResult, SortOrder
from patroli.storage.engine.ads import ad_record, read_ad
from patroli.storage.engine.client import EngineError
from patroli.storage.engine.connection import EngineConnection
from patroli.storage.engine.dsl import (
    ENTITY_KIND_FIELDS,
    FACETS,
    HIGHLIGHT,
    TEXT_FIELDS,
    build_query,
    highlight_of,
    read_facets,
    sort_for,
)
from patroli.storage.engine.indices import INTERNAL_AD_FIELDS
from patroli.storage.flyers import flyer_probes, merge_flyer_matches, verify_flyers
from patroli.storage.query import parse_query

_RELATED_KINDS = ("phone", "handle", "email")


class EngineSearch:
    conn: EngineConnection

    def search(
        self,
        query: str = "",
        *,
        limit: int = 20,
        offset: int = 0,
        sort: SortOrder = "relevance",
        facets: bool = False,
        after: list[Any] | None = None,
    ) -> SearchResult:
        parsed = parse_query(query)
        body: dict[str, Any] = {
            "query": build_query(parsed),
            "sort": sort_for(sort, parsed),
            "size": limit,
            "track_total_hits": True,
            "_source": {"excludes": list(INTERNAL_AD_FIELDS)},
        }
        if after:
            body["search_after"] = after
        elif offset:
            body["from"] = offset
        if parsed.terms:
            body["highlight"] = HIGHLIGHT
        if facets:
            body["aggs"] = FACETS
        try:
            response = self.conn.search("ads", body)
        except EngineError as exc:
            if exc.status == 400:
                raise ValueError(f"cannot run query {query!r}: {exc.reason}") from exc
            raise
        hits = []
        for hit in response["hits"]["hits"]:
            record = ad_record(hit["_source"])
            if parsed.terms:
                record["highlight"] = highlight_of(hit)
            hits.append(record)
        raw = response["hits"]["hits"]
        next_after = list(raw[-1]["sort"]) if len(raw) == limit and raw else None
        return SearchResult(
            total=int(response["hits"]["total"]["value"]),
            hits=hits,
            facets=read_facets(response["aggregations"]) if facets else {},
            next_after=next_after,
        )

    def count(self, query: str = "") -> int:
        self.conn.fresh("ads")
        try:
            response = self.conn.client.request(
                "POST",
                f"/{self.conn.alias('ads')}/_count",
                body={"query": build_query(parse_query(query))},
            )
        except EngineError as exc:
            if exc.status == 400:
                raise ValueError(f"cannot run query {query!r}: {exc.reason}") from exc
            raise
        return int(response["count"])

    # --- investigation ----------------------------------------------------------------------

    def related(self, ad_id: str, *, limit: int = 20) -> list[Record]:
        ad = read_ad(self.conn, ad_id)
        mine: dict[str, set[str]] = {
            kind: {v for f in ENTITY_KIND_FIELDS[kind] for v in ad.get(f) or ()}
            for kind in _RELATED_KINDS
        }
        clauses = [
            {
                "constant_score": {
                    "filter": {
                        "bool": {"should": [{"term": {f: value}} for f in ENTITY_KIND_FIELDS[kind]]}
                    },
                    "boost": 1.0,
                }
            }
            for kind in _RELATED_KINDS
            for value in sorted(mine[kind])
        ]
        related: list[Record] = []
        if clauses:
            hits = self.conn.search(
                "ads",
                {
                    "query": {
                        "bool": {
                            "should": clauses,
                            "minimum_should_match": 1,
                            "must_not": [{"ids": {"values": [ad_id]}}],
                        }
                    },
                    "sort": [{"_score": "desc"}, {"ad_id": "asc"}],
                    "size": max(limit * 5, 100),
                    "_source": {"excludes": list(INTERNAL_AD_FIELDS)},
                    "track_total_hits": False,
                },
            )["hits"]["hits"]
            for hit in hits:
                record = ad_record(hit["_source"])
                record["via"] = sorted(
                    f"{kind}:{value}"
                    for kind in _RELATED_KINDS
                    for value in mine[kind]
                    & {v for f in ENTITY_KIND_FIELDS[kind] for v in record.get(f) or ()}
                )
                related.append(record)
            related.sort(key=lambda r: (-len(r["via"]), r["ad_id"]))
            related = related[:limit]
        merge_flyer_matches(
            related, self.same_flyer(ad.get("images") or [], limit=limit, exclude=ad_id)
        )
        if len(related) < limit:
            seen = [ad_id, *(r["ad_id"] for r in related)]
            like = f"{ad.get('title') or ''}\n{ad.get('text') or ''}".strip()
            if like:
                hits = self.conn.search(
                    "ads",
                    {
                        "query": {
                            "bool": {
                                "must": [
                                    {
                                        "more_like_this": {
                                            "fields": list(TEXT_FIELDS),
                                            "like": like,
                                            "min_term_freq": 1,
                                            "min_doc_freq": 1,
                                            "max_query_terms": 12,
                                            "min_word_length": 4,
                                            "minimum_should_match": "30%",
                                        }
                                    }
                                ],
                                "must_not": [{"ids": {"values": seen}}],
                            }
                        },
                        "size": limit - len(related),
                        "_source": {"excludes": list(INTERNAL_AD_FIELDS)},
                        "track_total_hits": False,
                    },
                )["hits"]["hits"]
                for hit in hits:
                    record = ad_record(hit["_source"])
                    record["via"] = ["text"]
                    related.append(record)
        return related[:limit]

    def same_flyer(
        self, images: Sequence[Mapping[str, Any]], *, limit: int = 50, exclude: str = ""
    ) -> list[Record]:
        probes, key_sets = flyer_probes(images)
        if not key_sets:
            return []
        # Exact terms on the band keys find the candidates (one pHash key and one dHash key of the
        # same orientation); the full distances verify them.
        either = [
            {"bool": {"filter": [{"terms": {"image_keys": p}}, {"terms": {"image_keys": d}}]}}
            for p, d in key_sets
        ]
        query = {
            "bool": {
                "should": either,
                "minimum_should_match": 1,
                "must_not": [{"ids": {"values": [exclude]}}] if exclude else [],
            }
        }
        candidates = [
            ad_record(hit["_source"])
            for hit in self.conn.scan("ads", query, [{"ad_id": "asc"}], True, 1000)
        ]
        return verify_flyers(probes, candidates, limit)

    def stats(self, *, days: int = 30) -> dict[str, Any]:
        since = (datetime.now(UTC) - timedelta(days=days)).isoformat()
        flagged = {"filter": {"term": {"flagged": True}}}
        confirmed = {"filter": {"term": {"status": "confirmed"}}}
        per_day = {
            "date_histogram": {
                "calendar_interval": "day",
                "format": "yyyy-MM-dd",
                "min_doc_count": 1,
            }
        }
        body = {
            "size": 0,
            "track_total_hits": False,
            "aggs": {
                "crawled": {
                    "filter": {"range": {"first_seen": {"gte": since}}},
                    "aggs": {
                        "d": {
                            "date_histogram": {**per_day["date_histogram"], "field": "first_seen"},
                            "aggs": {"flagged": flagged},
                        }
                    },
                },
                "confirmed": {
                    "filter": {
                        "bool": {
                            "filter": [
                                {"term": {"status": "confirmed"}},
                                {"range": {"reviewed_at": {"gte": since}}},
                            ]
                        }
                    },
                    "aggs": {
                        "d": {
                            "date_histogram": {**per_day["date_histogram"], "field": "reviewed_at"}
                        }
                    },
                },
                "per_source": {
                    "terms": {"field": "source", "size": 1000},
                    "aggs": {"flagged": flagged, "confirmed": confirmed},
                },
                "per_country": {
                    "terms": {"field": "countries", "size": 1000},
                    "aggs": {"flagged": flagged, "confirmed": confirmed},
                },
                "backlog": {
                    "filter": {
                        "bool": {
                            "filter": [{"term": {"flagged": True}}, {"term": {"status": "new"}}]
                        }
                    },
                    "aggs": {
                        "oldest": {
                            "top_hits": {
                                "size": 1,
                                "sort": [{"first_seen": "asc"}],
                                "_source": ["first_seen"],
                            }
                        }
                    },
                },
            },
        }
        aggs = self.conn.search("ads", body)["aggregations"]
        days_seen: dict[str, dict[str, Any]] = {}
        for bucket in aggs["crawled"]["d"]["buckets"]:
            day = bucket["key_as_string"]
            days_seen[day] = {
                "day": day,
                "crawled": bucket["doc_count"],
                "flagged": bucket["flagged"]["doc_count"],
                "confirmed": 0,
            }
        for bucket in aggs["confirmed"]["d"]["buckets"]:
            day = bucket["key_as_string"]
            days_seen.setdefault(day, {"day": day, "crawled": 0, "flagged": 0, "confirmed": 0})
            days_seen[day]["confirmed"] = bucket["doc_count"]

        def grouped(name: str) -> dict[str, dict[str, int]]:
            return {
                str(b["key"]): {
                    "ads": b["doc_count"],
                    "flagged": b["flagged"]["doc_count"],
                    "confirmed": b["confirmed"]["doc_count"],
                }
                for b in aggs[name]["buckets"]
            }

        backlog = aggs["backlog"]
        oldest_hits = backlog["oldest"]["hits"]["hits"]
        ages: list[float] = []
        if backlog["doc_count"]:
            now = datetime.now(UTC)
            for hit in self.conn.scan(
                "ads",
                {"bool": {"filter": [{"term": {"flagged": True}}, {"term": {"status": "new"}}]}},
                [{"first_seen": "asc"}, {"ad_id": "asc"}],
                ["first_seen"],
                5000,
            ):
                first = hit["_source"].get("first_seen")
                if first:
                    ages.append((now - datetime.fromisoformat(first)).total_seconds() / 86400)
        return {
            "per_day": [days_seen[d] for d in sorted(days_seen)],
            "per_source": grouped("per_source"),
            "per_country": grouped("per_country"),
            "backlog": {
                "count": backlog["doc_count"],
                "oldest": oldest_hits[0]["_source"]["first_seen"] if oldest_hits else None,
                "median_age_days": round(statistics.median(ages), 2) if ages else 0.0,
            },
        }
