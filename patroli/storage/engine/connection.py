"""The one client every role of the engine store shares, and this store's indices on it.

Writes go to an alias (``storage.engine.indices``); the alias of a kind is created on its first
write, never auto-created by the engine. Bulk requests are split by count and bytes
(``PATROLI_BULK_MAX_ACTIONS``, ``PATROLI_BULK_MAX_BYTES``) and retried with backoff on 429/5xx
and write blocks. Reads refresh an index first only if this store wrote to it since its last read.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from patroli.storage.base import StoreError
from patroli.storage.engine.client import EngineClient, EngineError, EngineUnavailable
from patroli.storage.engine.indices import KINDS, IndexNames, bootstrap, detect_analyzer

# A write blocked for a moment (the last step of a migration) is retried, for this long at most.
BLOCK_RETRY_SECONDS = 60.0
BulkAction = tuple[dict[str, Any], dict[str, Any] | None]  # (action line, source line or None)


def quote_id(value: str) -> str:
    """A document id or index name as one URL path segment."""
    return quote(value, safe="")


def is_write_block(error: Mapping[str, Any] | EngineError) -> bool:
    if isinstance(error, EngineError):
        return error.status == 403 and error.type == "cluster_block_exception"
    return error.get("type") == "cluster_block_exception"


def describe(error: Any) -> str:
    """An engine's error, without the crawled value it may quote (no personal data in logs)."""
    if isinstance(error, Mapping):
        reason = str(error.get("reason", "")).split(". Preview of field's value")[0]
        return f"{error.get('type')}: {reason[:200]}"
    return str(error)[:200]


class EngineConnection:
    """One engine client and the indices of one prefix: what every role module writes through."""

    def __init__(self, client: EngineClient) -> None:
        self.client = client
        self.names = IndexNames(client.settings.prefix)
        self.max_actions = client.settings.bulk_max_actions
        self.max_bytes = client.settings.bulk_max_bytes
        self._dirty: set[str] = set()
        self._dirty_lock = threading.Lock()
        self._analyzer: dict[str, Any] | None = None
        # The crawl writes ads and evidence; the other kinds get their index on first write.
        self._ready = bootstrap(client, self.names, ("ads", "evidence"))

    def alias(self, kind: str) -> str:
        return self.names.alias(kind)

    def ensure(self, kind: str) -> None:
        """Make sure the alias of ``kind`` exists before writing to it (never let the engine
        auto-create a plain index under the alias name)."""
        if kind not in self._ready:
            if self._analyzer is None:
                self._analyzer = detect_analyzer(self.client)
            self._ready |= bootstrap(self.client, self.names, (kind,), self._analyzer)

    def put(self, kind: str, doc_id: str, body: dict[str, Any], *, create: bool = False) -> None:
        """Write one document; wait out a migration's short write block. ``create`` documents
        are never overwritten (a 409 means an earlier attempt already wrote this very one)."""
        self.ensure(kind)
        path = f"/{self.alias(kind)}/{'_create' if create else '_doc'}/{quote_id(doc_id)}"
        deadline = time.monotonic() + BLOCK_RETRY_SECONDS
        while True:
            try:
                # Human-rate writes are made visible to every reader at once.
                self.client.request("PUT", path, body=body, params={"refresh": "true"})
                break
            except EngineError as exc:
                if create and exc.status == 409:
                    break
                if not (is_write_block(exc) and time.monotonic() < deadline):
                    raise
                time.sleep(0.5)
        self.wrote(kind)

    def wrote(self, *kinds: str) -> None:
        with self._dirty_lock:
            self._dirty.update(k for k in kinds if k in self._ready)

    def fresh(self, *kinds: str, retries: int | None = None) -> None:
        """Make this store's own writes visible to its next search (near-real-time engines)."""
        with self._dirty_lock:
            stale = [k for k in kinds if k in self._dirty]
            self._dirty.difference_update(stale)
        if stale:
            self.client.request(
                "POST", "/" + ",".join(self.alias(k) for k in stale) + "/_refresh", retries=retries
            )

    def search(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        self.fresh(kind)
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

    def scan(
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
            body: dict[str, Any] = {
                "query": query,
                "sort": sort,
                "size": page_size,
                "_source": source,
                "track_total_hits": False,
            }
            if after is not None:
                body["search_after"] = after
            hits = self.search(kind, body)["hits"]["hits"]
            yield from hits
            if len(hits) < page_size:
                return
            after = hits[-1]["sort"]

    def bulk(self, actions: Sequence[BulkAction]) -> list[dict[str, Any]]:
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
                    if error and (status == 429 or status >= 500 or is_write_block(error)):
                        retry.append(i)
                    results[i] = outcome
            if not retry:
                break
            attempt += 1
            if attempt > self.client.settings.retries and (
                time.monotonic() - started > BLOCK_RETRY_SECONDS
                or not all(is_write_block(results[i]["error"]) for i in retry)  # type: ignore[index]
            ):
                # Still turned away: the engine is overloaded or blocked, not the documents wrong.
                # Unavailable, so that the caller spools the batch instead of losing these.
                raise EngineUnavailable(
                    f"search engine still turned away {len(retry)} documents after {attempt} attempts "
                    f"({describe(results[retry[0]]['error'])})"  # type: ignore[index]
                )
            time.sleep(min(0.5 * 2 ** min(attempt - 1, 4), 8.0))
            pending = retry
        return [r or {"status": 500, "error": {"type": "not_sent"}} for r in results]

    def _chunks(
        self, actions: Sequence[BulkAction], indices: list[int]
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

    def get(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        """One document with its ``_seq_no`` and ``_primary_term``, or None."""
        try:
            doc: dict[str, Any] = self.client.request(
                "GET", f"/{self.alias(kind)}/_doc/{quote_id(doc_id)}"
            )
        except EngineError as exc:
            if exc.status == 404:
                return None
            raise
        return doc if doc.get("found") else None

    def close(self) -> None:
        # What this store wrote is visible to the next reader (the CLI after a crawl) at once.
        with contextlib.suppress(StoreError):
            self.fresh(*KINDS, retries=0)
        self.client.close()
