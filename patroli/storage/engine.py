"""The search-engine store: Elasticsearch and OpenSearch behind the ``Store`` interface.

One implementation for both engines; ``storage.elastic`` and ``storage.opensearch`` only adapt the
official clients (``storage.engine_client``). Index names, templates and migrations are in
``storage.engine_index``; query translation in ``storage.engine_query``.

Writes: upserts are bulk ``update`` actions whose partial document holds content and sightings
only (never a review field, never ``first_seen``), with the full first version as ``upsert``;
requests are split by count and bytes (``PATROLI_BULK_MAX_ACTIONS``, ``PATROLI_BULK_MAX_BYTES``),
retried with backoff on 429/5xx, and documents the engine rejects are counted and logged by id.
Reviews use optimistic concurrency (``if_seq_no`` / ``if_primary_term``) on top of the ad's
``version``: a stale ``expected_version`` is a ``ReviewConflict``, never a silent overwrite.
Reads refresh an index first only if this store wrote to it since its last read.
"""

from __future__ import annotations

import contextlib
import json
import logging
import statistics
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from patroli.storage.base import (
    AdNotFound,
    Record,
    ReviewConflict,
    SearchResult,
    SortOrder,
    Store,
    StoreError,
    WriteResult,
)
from patroli.storage.engine_client import EngineClient, EngineError, EngineUnavailable
from patroli.storage.engine_index import (
    INTERNAL_AD_FIELDS,
    KINDS,
    IndexNames,
    bootstrap,
    detect_analyzer,
    index_status,
    migrate,
)
from patroli.storage.engine_query import (
    ENTITY_KIND_FIELDS,
    FACETS,
    HIGHLIGHT,
    TEXT_FIELDS,
    build_query,
    highlight_of,
    read_facets,
    sort_for,
)
from patroli.storage.query import parse_query
from patroli.storage.schema import CONTENT_FIELDS, DECISIONS, FIELDS

logger = logging.getLogger(__name__)

_AD_FIELDS = tuple(f.name for f in FIELDS)
_USER_FIELDS = ("name", "role", "password_hash", "active", "failed_logins", "locked_until",
                "created_at", "extra")  # fmt: skip
_RUN_FIELDS = ("run_id", "source", "started_at", "finished_at", "status", "pages", "items", "new",
               "flagged", "errors", "degraded_pages", "notes", "stats")  # fmt: skip
_RELATED_KINDS = ("phone", "handle", "email")
# A write blocked for a moment (the last step of a migration) is retried, for this long at most.
_BLOCK_RETRY_SECONDS = 60.0


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _q(value: str) -> str:
    return quote(value, safe="")


def _is_write_block(error: Mapping[str, Any] | EngineError) -> bool:
    if isinstance(error, EngineError):
        return error.status == 403 and error.type == "cluster_block_exception"
    return error.get("type") == "cluster_block_exception"


def _record(source: Mapping[str, Any]) -> Record:
    record: Record = {name: source.get(name) for name in _AD_FIELDS}
    if record.get("status") is None:
        record["status"] = "new"
    return record


class EngineStore(Store):
    def __init__(self, client: EngineClient, url: str) -> None:
        self.url = url
        self.client = client
        self.family = client.family
        self.names = IndexNames(client.settings.prefix)
        self.max_actions = client.settings.bulk_max_actions
        self.max_bytes = client.settings.bulk_max_bytes
        self._dirty: set[str] = set()
        self._dirty_lock = threading.Lock()
        self._analyzer: dict[str, Any] | None = None
        try:
            # The crawl writes ads and evidence; the other kinds get their index on first write.
            self._ready = bootstrap(client, self.names, ("ads", "evidence"))
        except EngineError as exc:
            client.close()
            raise StoreError(f"cannot prepare the indices of {url}: {exc}") from exc
        except BaseException:
            client.close()
            raise

    # --- plumbing ---------------------------------------------------------------------------

    def alias(self, kind: str) -> str:
        return self.names.alias(kind)

    def _ensure(self, kind: str) -> None:
        """Make sure the alias of ``kind`` exists before writing to it (never let the engine
        auto-create a plain index under the alias name)."""
        if kind not in self._ready:
            if self._analyzer is None:
                self._analyzer = detect_analyzer(self.client)
            self._ready |= bootstrap(self.client, self.names, (kind,), self._analyzer)

    def _put(self, kind: str, doc_id: str, body: dict[str, Any], *, create: bool = False) -> None:
        """Write one document; wait out a migration's short write block. ``create`` documents
        are never overwritten (a 409 means an earlier attempt already wrote this very one)."""
        self._ensure(kind)
        path = f"/{self.alias(kind)}/{'_create' if create else '_doc'}/{_q(doc_id)}"
        deadline = time.monotonic() + _BLOCK_RETRY_SECONDS
        while True:
            try:
                # Human-rate writes are made visible to every reader at once.
                self.client.request("PUT", path, body=body, params={"refresh": "true"})
                break
            except EngineError as exc:
                if create and exc.status == 409:
                    break
                if not (_is_write_block(exc) and time.monotonic() < deadline):
                    raise
                time.sleep(0.5)
        self._wrote(kind)

    def _wrote(self, *kinds: str) -> None:
        with self._dirty_lock:
            self._dirty.update(k for k in kinds if k in self._ready)

    def _fresh(self, *kinds: str, retries: int | None = None) -> None:
        """Make this store's own writes visible to its next search (near-real-time engines)."""
        with self._dirty_lock:
            stale = [k for k in kinds if k in self._dirty]
            self._dirty.difference_update(stale)
        if stale:
            self.client.request(
                "POST", "/" + ",".join(self.alias(k) for k in stale) + "/_refresh", retries=retries
            )

    def _search(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        self._fresh(kind)
        try:
            result: dict[str, Any] = self.client.request(
                "POST", f"/{self.alias(kind)}/_search", body=body
            )
        except EngineError as exc:
            if (
                exc.status == 404
                and exc.type == "index_not_found_exception"
                and kind not in self._ready
            ):
                return {"hits": {"hits": [], "total": {"value": 0, "relation": "eq"}}}
            raise
        return result

    def _scan(
        self,
        kind: str,
        query: dict[str, Any],
        sort: list[dict[str, Any]],
        source: list[str] | bool = True,
        page_size: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        """Every matching document, in ``sort`` order (which must end in a unique key)."""
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {"query": query, "sort": sort, "size": page_size,
                                    "_source": source, "track_total_hits": False}  # fmt: skip
            if after is not None:
                body["search_after"] = after
            hits = self._search(kind, body)["hits"]["hits"]
            yield from hits
            if len(hits) < page_size:
                return
            after = hits[-1]["sort"]

    def _bulk(
        self, actions: Sequence[tuple[dict[str, Any], dict[str, Any] | None]]
    ) -> list[dict[str, Any]]:
        """Send ``(action, source)`` pairs in bounded requests; retry items the engine turned away
        for a while (429, 5xx, write block); return one result item per action, in order."""
        results: list[dict[str, Any] | None] = [None] * len(actions)
        pending = list(range(len(actions)))
        attempt, started = 0, time.monotonic()
        while pending:
            retry: list[int] = []
            for chunk, payload in self._chunks(actions, pending):
                response = self.client.request("POST", "/_bulk", body=payload, ndjson=True)
                for i, item in zip(chunk, response["items"], strict=True):
                    outcome = next(iter(item.values()))
                    error = outcome.get("error")
                    status = int(outcome.get("status", 500))
                    if error and (status == 429 or status >= 500 or _is_write_block(error)):
                        retry.append(i)
                    results[i] = outcome
            if not retry:
                break
            attempt += 1
            if attempt > self.client.settings.retries and (
                time.monotonic() - started > _BLOCK_RETRY_SECONDS
                or not all(_is_write_block(results[i]["error"]) for i in retry)  # type: ignore[index]
            ):
                # Still turned away: the engine is overloaded or blocked, not the documents wrong.
                # Unavailable, so that the caller spools the batch instead of losing these.
                raise EngineUnavailable(
                    f"search engine still turned away {len(retry)} documents after {attempt} attempts "
                    f"({_describe(results[retry[0]]['error'])})"  # type: ignore[index]
                )
            time.sleep(min(0.5 * 2 ** min(attempt - 1, 4), 8.0))
            pending = retry
        return [r or {"status": 500, "error": {"type": "not_sent"}} for r in results]

    def _chunks(
        self, actions: Sequence[tuple[dict[str, Any], dict[str, Any] | None]], indices: list[int]
    ) -> Iterator[tuple[list[int], bytes]]:
        """NDJSON request bodies of at most ``max_actions`` actions and about ``max_bytes``."""
        chunk: list[int] = []
        parts: list[bytes] = []
        size = 0
        for i in indices:
            action, source = actions[i]
            line = json.dumps(action, ensure_ascii=False) + "\n"
            if source is not None:
                line += json.dumps(source, ensure_ascii=False, default=str) + "\n"
            data = line.encode()
            if chunk and (len(chunk) >= self.max_actions or size + len(data) > self.max_bytes):
                yield chunk, b"".join(parts)
                chunk, parts, size = [], [], 0
            chunk.append(i)
            parts.append(data)
            size += len(data)
        if chunk:
            yield chunk, b"".join(parts)

    # --- writes -----------------------------------------------------------------------------

    def upsert_ads(self, records: Sequence[Mapping[str, Any]]) -> WriteResult:
        result = WriteResult()
        if not records:
            return result
        by_id = {r["ad_id"]: r for r in records}  # the last copy wins, as in SQLite
        # First try to create each ad (a plain index operation, as cheap as a bare bulk); the
        # ones that exist already (409) get a partial update of content and sightings only.
        actions: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        kinds: list[tuple[str, str]] = []
        updates: dict[str, dict[str, Any]] = {}
        for ad_id, record in by_id.items():
            seen_at = record.get("crawled_at") or _now()
            doc = {name: record.get(name) for name in CONTENT_FIELDS}
            doc["last_seen"] = seen_at
            doc["gone_at"] = None
            margin = record.get("risk_margin")
            doc["uncertainty"] = abs(margin) if margin is not None else 1.0
            first = {**doc, "ad_id": ad_id, "first_seen": seen_at, "status": "new", "version": 1,
                     "sort_date": record.get("posted_at") or seen_at}  # fmt: skip
            if record.get("posted_at"):
                doc["sort_date"] = record["posted_at"]
            updates[ad_id] = {"doc": doc, "upsert": first}
            actions.append(({"create": {"_index": self.alias("ads"), "_id": ad_id}}, first))
            kinds.append(("ad", ad_id))
            if record.get("html"):
                content_hash = record.get("content_hash") or ""
                actions.append(
                    ({"create": {"_index": self.alias("evidence"), "_id": f"{ad_id}:{content_hash}"}},
                     {"ad_id": ad_id, "content_hash": content_hash, "crawled_at": seen_at,
                      "url": record.get("url"), "html": record["html"]})
                )  # fmt: skip
                kinds.append(("evidence", ad_id))
        outcomes = self._bulk(actions)
        known = [ad_id for (kind, ad_id), outcome in zip(kinds, outcomes, strict=True)
                 if kind == "ad" and outcome.get("status") == 409]  # fmt: skip
        if known:
            second = self._bulk([
                ({"update": {"_index": self.alias("ads"), "_id": ad_id, "retry_on_conflict": 5}}, updates[ad_id])
                for ad_id in known
            ])  # fmt: skip
            replaced = dict(zip(known, second, strict=True))
            outcomes = [replaced[ad_id] if kind == "ad" and ad_id in replaced else outcome
                        for (kind, ad_id), outcome in zip(kinds, outcomes, strict=True)]  # fmt: skip
        self._wrote("ads", "evidence")
        for (kind, ad_id), outcome in zip(kinds, outcomes, strict=True):
            error = outcome.get("error")
            if kind == "evidence":
                if error and outcome.get("status") != 409:  # 409: this version is already kept
                    result.failed += 1
                    result.failed_ids.append(ad_id)
                    logger.error("evidence of ad %s rejected: %s", ad_id, _describe(error))
                continue
            if error:
                result.failed += 1
                result.failed_ids.append(ad_id)
                logger.error("ad %s rejected: %s", ad_id, _describe(error))
            elif outcome.get("result") == "created":
                result.new += 1
                result.new_ids.append(ad_id)
            else:
                result.updated += 1
        return result

    def review(
        self,
        ad_id: str,
        decision: str,
        *,
        reviewer: str,
        note: str = "",
        expected_version: int | None = None,
    ) -> Record:
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
        deadline = time.monotonic() + _BLOCK_RETRY_SECONDS
        read_version: int | None = None
        for _attempt in range(100):
            current = self._get("ads", ad_id)
            if current is None:
                raise AdNotFound(ad_id)
            source = current["_source"]
            version = int(source.get("version") or 1)
            if read_version is None:
                read_version = version
            if expected_version is not None and version != expected_version:
                raise ReviewConflict(ad_id, expected_version, version)
            if version != read_version:  # changed between our read and write (another analyst)
                raise ReviewConflict(ad_id, read_version, version)
            at = _now()
            try:
                self.client.request(
                    "POST",
                    f"/{_q(current['_index'])}/_update/{_q(ad_id)}",
                    params={"if_seq_no": str(current["_seq_no"]), "refresh": "true",
                            "if_primary_term": str(current["_primary_term"])},
                    body={"doc": {"status": decision, "reviewed_by": reviewer, "reviewed_at": at,
                                  "review_note": note, "version": version + 1}},
                )  # fmt: skip
                break
            except EngineError as exc:
                if exc.status == 409:
                    continue  # re-read: a re-crawl changed content only, or someone reviewed
                if _is_write_block(exc) and time.monotonic() < deadline:
                    time.sleep(0.5)  # a migration's final step; the alias moves in a moment
                    continue
                raise
        else:
            raise StoreError(f"ad {ad_id} keeps changing; could not record the review, try again")
        previous = source.get("status") or "new"
        self._put("reviews", f"{ad_id}:{version + 1}", {
            "ad_id": ad_id, "decision": decision, "note": note, "reviewer": reviewer, "at": at,
            "previous_status": previous, "version": version + 1}, create=True)  # fmt: skip
        self._audit(reviewer, "review", ad_id, previous, decision, note, at)
        return self.get_ad(ad_id)

    def touch_ads(self, ad_ids: Sequence[str], seen_at: str) -> int:
        actions = [({"update": {"_index": self.alias("ads"), "_id": ad_id, "retry_on_conflict": 5}},
                    {"doc": {"last_seen": seen_at, "gone_at": None}}) for ad_id in dict.fromkeys(ad_ids)]  # fmt: skip
        outcomes = self._bulk(actions) if actions else []
        self._wrote("ads")
        return sum(1 for o in outcomes if not o.get("error"))

    def mark_gone(self, ad_ids: Sequence[str], gone_at: str) -> int:
        changed = 0
        ids = list(dict.fromkeys(ad_ids))
        for start in range(0, len(ids), 1000):
            docs = self.client.request(
                "POST", f"/{self.alias('ads')}/_mget", params={"_source": "gone_at"},
                body={"ids": ids[start : start + 1000]},
            )["docs"]  # fmt: skip
            actions = [
                ({"update": {"_index": d["_index"], "_id": d["_id"], "if_seq_no": d["_seq_no"],
                             "if_primary_term": d["_primary_term"]}}, {"doc": {"gone_at": gone_at}})
                for d in docs if d.get("found") and not (d.get("_source") or {}).get("gone_at")
            ]  # fmt: skip
            if actions:
                changed += sum(1 for o in self._bulk(actions) if not o.get("error"))
        self._wrote("ads")
        return changed

    # --- reads ------------------------------------------------------------------------------

    def _get(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        try:
            doc: dict[str, Any] = self.client.request(
                "GET", f"/{self.alias(kind)}/_doc/{_q(doc_id)}"
            )
        except EngineError as exc:
            if exc.status == 404:
                return None
            raise
        return doc if doc.get("found") else None

    def get_ad(self, ad_id: str, *, with_evidence: bool = False) -> Record:
        doc = self._get("ads", ad_id)
        if doc is None:
            raise AdNotFound(ad_id)
        record = _record(doc["_source"])
        if with_evidence:
            record["evidence"] = [
                {k: hit["_source"].get(k) for k in ("content_hash", "crawled_at", "url", "html")}
                for hit in self._scan("evidence", {"term": {"ad_id": ad_id}},
                                      [{"crawled_at": "asc"}, {"content_hash": "asc"}])
            ]  # fmt: skip
        return record

    def review_history(self, ad_id: str) -> list[Record]:
        return [
            {k: hit["_source"].get(k) for k in ("ad_id", "decision", "note", "reviewer", "at",
                                                  "previous_status", "version")}
            for hit in self._scan("reviews", {"term": {"ad_id": ad_id}}, [{"version": "asc"}])
        ]  # fmt: skip

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
            response = self._search("ads", body)
        except EngineError as exc:
            if exc.status == 400:
                raise ValueError(f"cannot run query {query!r}: {exc.reason}") from exc
            raise
        hits = []
        for hit in response["hits"]["hits"]:
            record = _record(hit["_source"])
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
        self._fresh("ads")
        try:
            response = self.client.request(
                "POST", f"/{self.alias('ads')}/_count", body={"query": build_query(parse_query(query))}
            )  # fmt: skip
        except EngineError as exc:
            if exc.status == 400:
                raise ValueError(f"cannot run query {query!r}: {exc.reason}") from exc
            raise
        return int(response["count"])

    # --- investigation ----------------------------------------------------------------------

    def related(self, ad_id: str, *, limit: int = 20) -> list[Record]:
        ad = self.get_ad(ad_id)
        mine: dict[str, set[str]] = {
            kind: {v for f in ENTITY_KIND_FIELDS[kind] for v in ad.get(f) or ()}
            for kind in _RELATED_KINDS
        }
        clauses = [
            {"constant_score": {"filter": {"bool": {"should": [{"term": {f: value}} for f in ENTITY_KIND_FIELDS[kind]]}},
                                "boost": 1.0}}
            for kind in _RELATED_KINDS for value in sorted(mine[kind])
        ]  # fmt: skip
        related: list[Record] = []
        if clauses:
            hits = self._search("ads", {
                "query": {"bool": {"should": clauses, "minimum_should_match": 1,
                                   "must_not": [{"ids": {"values": [ad_id]}}]}},
                "sort": [{"_score": "desc"}, {"ad_id": "asc"}], "size": max(limit * 5, 100),
                "_source": {"excludes": list(INTERNAL_AD_FIELDS)}, "track_total_hits": False,
            })["hits"]["hits"]  # fmt: skip
            for hit in hits:
                record = _record(hit["_source"])
                record["via"] = sorted(
                    f"{kind}:{value}"
                    for kind in _RELATED_KINDS
                    for value in mine[kind] & {v for f in ENTITY_KIND_FIELDS[kind] for v in record.get(f) or ()}
                )  # fmt: skip
                related.append(record)
            related.sort(key=lambda r: (-len(r["via"]), r["ad_id"]))
            related = related[:limit]
        if len(related) < limit:
            seen = [ad_id, *(r["ad_id"] for r in related)]
            like = f"{ad.get('title') or ''}\n{ad.get('text') or ''}".strip()
            if like:
                hits = self._search("ads", {
                    "query": {"bool": {
                        "must": [{"more_like_this": {
                            "fields": list(TEXT_FIELDS), "like": like, "min_term_freq": 1, "min_doc_freq": 1,
                            "max_query_terms": 12, "min_word_length": 4, "minimum_should_match": "30%"}}],
                        "must_not": [{"ids": {"values": seen}}]}},
                    "size": limit - len(related), "_source": {"excludes": list(INTERNAL_AD_FIELDS)},
                    "track_total_hits": False,
                })["hits"]["hits"]  # fmt: skip
                for hit in hits:
                    record = _record(hit["_source"])
                    record["via"] = ["text"]
                    related.append(record)
        return related[:limit]

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
                "crawled": {"filter": {"range": {"first_seen": {"gte": since}}},
                            "aggs": {"d": {"date_histogram": {**per_day["date_histogram"], "field": "first_seen"},
                                           "aggs": {"flagged": flagged}}}},
                "confirmed": {"filter": {"bool": {"filter": [{"term": {"status": "confirmed"}},
                                                             {"range": {"reviewed_at": {"gte": since}}}]}},
                              "aggs": {"d": {"date_histogram": {**per_day["date_histogram"], "field": "reviewed_at"}}}},
                "per_source": {"terms": {"field": "source", "size": 1000},
                               "aggs": {"flagged": flagged, "confirmed": confirmed}},
                "per_country": {"terms": {"field": "countries", "size": 1000},
                                "aggs": {"flagged": flagged, "confirmed": confirmed}},
                "backlog": {"filter": {"bool": {"filter": [{"term": {"flagged": True}}, {"term": {"status": "new"}}]}},
                            "aggs": {"oldest": {"top_hits": {"size": 1, "sort": [{"first_seen": "asc"}],
                                                             "_source": ["first_seen"]}}}},
            },
        }  # fmt: skip
        aggs = self._search("ads", body)["aggregations"]
        days_seen: dict[str, dict[str, Any]] = {}
        for bucket in aggs["crawled"]["d"]["buckets"]:
            day = bucket["key_as_string"]
            days_seen[day] = {"day": day, "crawled": bucket["doc_count"],
                              "flagged": bucket["flagged"]["doc_count"], "confirmed": 0}  # fmt: skip
        for bucket in aggs["confirmed"]["d"]["buckets"]:
            day = bucket["key_as_string"]
            days_seen.setdefault(day, {"day": day, "crawled": 0, "flagged": 0, "confirmed": 0})
            days_seen[day]["confirmed"] = bucket["doc_count"]

        def grouped(name: str) -> dict[str, dict[str, int]]:
            return {
                str(b["key"]): {"ads": b["doc_count"], "flagged": b["flagged"]["doc_count"],
                                "confirmed": b["confirmed"]["doc_count"]}
                for b in aggs[name]["buckets"]
            }  # fmt: skip

        backlog = aggs["backlog"]
        oldest_hits = backlog["oldest"]["hits"]["hits"]
        ages: list[float] = []
        if backlog["doc_count"]:
            now = datetime.now(UTC)
            for hit in self._scan("ads", {"bool": {"filter": [{"term": {"flagged": True}}, {"term": {"status": "new"}}]}},
                                  [{"first_seen": "asc"}, {"ad_id": "asc"}], ["first_seen"], 5000):  # fmt: skip
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

    def labelled_ads(self) -> list[Record]:
        fields = ["ad_id", "title", "text", "source", "countries", "status", "reviewed_at"]
        return [
            {k: hit["_source"].get(k) for k in fields}
            for hit in self._scan("ads", {"terms": {"status": ["confirmed", "dismissed"]}},
                                  [{"reviewed_at": "asc"}, {"ad_id": "asc"}], fields)
        ]  # fmt: skip

    def known_ads(self, source: str) -> dict[str, Record]:
        fields = ["native_id", "ad_id", "url", "content_hash", "last_seen", "gone_at"]
        known: dict[str, Record] = {}
        for hit in self._scan(
            "ads", {"term": {"source": source}}, [{"ad_id": "asc"}], [*fields, "extra"], 5000
        ):
            doc = hit["_source"]
            extra = doc.get("extra") or {}
            known[doc.get("native_id")] = {
                **{k: doc.get(k) for k in fields},
                "fingerprint": extra.get("fingerprint"),
                "etag": extra.get("etag"),
            }
        return known

    # --- audit log (append-only: entries are only ever created) ------------------------------

    def _audit(self, actor: str, action: str, target: str, before: Any, after: Any, detail: str,
               at: str | None = None) -> None:  # fmt: skip
        seq = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"  # sorts in time order, unique
        self._put("audit", seq, {"seq": seq, "at": at or _now(), "actor": actor, "action": action,
                                 "target": target, "before": before, "after": after, "detail": detail},
                  create=True)  # fmt: skip

    def append_audit(self, actor: str, action: str, target: str = "", before: Any = None, after: Any = None,
                     detail: str = "") -> None:  # fmt: skip
        self._audit(actor, action, target, before, after, detail)

    def audit_log(
        self, *, limit: int = 100, offset: int = 0, actor: str = "", target: str = ""
    ) -> list[Record]:
        filters = [{"term": {k: v}} for k, v in (("actor", actor), ("target", target)) if v]
        hits = self._search("audit", {"query": {"bool": {"filter": filters}}, "sort": [{"seq": "desc"}],
                                      "from": offset, "size": limit})["hits"]["hits"]  # fmt: skip
        return [
            {"id": h["_source"]["seq"], **{k: h["_source"].get(k) for k in
                                            ("at", "actor", "action", "target", "before", "after", "detail")}}
            for h in hits
        ]  # fmt: skip

    # --- accounts ---------------------------------------------------------------------------

    def put_user(self, user: Mapping[str, Any]) -> None:
        values = {"active": True, "failed_logins": 0, "locked_until": None, "created_at": _now(),
                  "extra": {}, **user}  # fmt: skip
        doc = {k: values.get(k) for k in _USER_FIELDS}
        doc["active"] = bool(doc["active"])
        self._put("users", str(doc["name"]), doc)

    def get_user(self, name: str) -> Record | None:
        doc = self._get("users", name)
        return _user(doc["_source"]) if doc else None

    def list_users(self) -> list[Record]:
        return [
            _user(h["_source"]) for h in self._scan("users", {"match_all": {}}, [{"name": "asc"}])
        ]

    # --- runs and saved searches ------------------------------------------------------------

    def record_run(self, run: Mapping[str, Any]) -> None:
        doc = {k: run.get(k) for k in _RUN_FIELDS}
        doc["notes"] = run.get("notes") or []
        doc["stats"] = run.get("stats") or {}
        self._put("runs", str(doc["run_id"]), doc)

    def list_runs(self, *, source: str = "", limit: int = 50) -> list[Record]:
        query = {"term": {"source": source}} if source else {"match_all": {}}
        hits = self._search("runs", {"query": query, "size": limit,
                                     "sort": [{"started_at": {"order": "desc", "missing": "_last"}},
                                              {"run_id": "desc"}]})["hits"]["hits"]  # fmt: skip
        return [{k: h["_source"].get(k) for k in _RUN_FIELDS} for h in hits]

    def save_search(self, owner: str, name: str, query: str, channel: str = "") -> Record:
        record = {"id": uuid.uuid4().hex[:16], "owner": owner, "name": name, "query": query,
                  "channel": channel, "created_at": _now()}  # fmt: skip
        self._put("searches", record["id"], record, create=True)
        return record

    def list_saved_searches(self, owner: str = "") -> list[Record]:
        query = {"term": {"owner": owner}} if owner else {"match_all": {}}
        return [
            dict(h["_source"])
            for h in self._scan("searches", query, [{"created_at": "asc"}, {"id": "asc"}])
        ]

    def delete_saved_search(self, search_id: str) -> None:
        try:
            self.client.request("DELETE", f"/{self.alias('searches')}/_doc/{_q(search_id)}")
        except EngineError as exc:
            if exc.status != 404:
                raise
        self._wrote("searches")

    # --- index administration ---------------------------------------------------------------

    def index_status(self) -> list[dict[str, Any]]:
        return index_status(self.client, self.names)

    def migrate(
        self, *, force: bool = False, delete_old: bool = False, **kwargs: Any
    ) -> list[dict[str, Any]]:
        return migrate(self.client, self.names, force=force, delete_old=delete_old, **kwargs)

    def ping(self) -> bool:
        try:
            self.client.request("GET", "/_cluster/health", retries=0)
        except (EngineUnavailable, EngineError):
            return False
        return True

    def close(self) -> None:
        # What this store wrote is visible to the next reader (the CLI after a crawl) at once.
        with contextlib.suppress(StoreError):
            self._fresh(*KINDS, retries=0)
        self.client.close()


def _user(source: Mapping[str, Any]) -> Record:
    user = {k: source.get(k) for k in _USER_FIELDS}
    user["active"] = bool(user["active"])
    user["extra"] = user["extra"] or {}
    return user


def _describe(error: Any) -> str:
    """An engine's error, without the crawled value it may quote (no personal data in logs)."""
    if isinstance(error, Mapping):
        reason = str(error.get("reason", "")).split(". Preview of field's value")[0]
        return f"{error.get('type')}: {reason[:200]}"
    return str(error)[:200]
