"""The analysts' decisions on the search engines (the ``ReviewStore`` role).

Reviews use optimistic concurrency (``if_seq_no`` / ``if_primary_term``) on top of the ad's
``version``: a stale ``expected_version`` is a ``ReviewConflict``, never a silent overwrite. A
re-crawl that changed only content meanwhile is retried, not reported as a conflict.
"""

from __future__ import annotations

import time
from typing import Any

from patroli.storage.base import AdNotFound, Record, ReviewConflict, StoreError
from patroli.storage.engine.accounts import write_audit
from patroli.storage.engine.ads import read_ad
from patroli.storage.engine.client import EngineError
from patroli.storage.engine.connection import (
    BLOCK_RETRY_SECONDS,
    EngineConnection,
    is_write_block,
    quote_id,
)
from patroli.storage.schema import DECISIONS, LABELLED_FIELDS, REVIEW_ENTRY_FIELDS, now


class EngineReviews:
    conn: EngineConnection

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
        deadline = time.monotonic() + BLOCK_RETRY_SECONDS
        read_version: int | None = None
        for _attempt in range(100):
            current = self.conn.get("ads", ad_id)
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
            at = now()
            try:
                self.conn.client.request(
                    "POST",
                    f"/{quote_id(current['_index'])}/_update/{quote_id(ad_id)}",
                    params={
                        "if_seq_no": str(current["_seq_no"]),
                        "refresh": "true",
                        "if_primary_term": str(current["_primary_term"]),
                    },
                    body={
                        "doc": {
                            "status": decision,
                            "reviewed_by": reviewer,
                            "reviewed_at": at,
                            "review_note": note,
                            "version": version + 1,
                        }
                    },
                )
                break
            except EngineError as exc:
                if exc.status == 409:
                    continue  # re-read: a re-crawl changed content only, or someone reviewed
                if is_write_block(exc) and time.monotonic() < deadline:
                    time.sleep(0.5)  # a migration's final step; the alias moves in a moment
                    continue
                raise
        else:
            raise StoreError(f"ad {ad_id} keeps changing; could not record the review, try again")
        previous = source.get("status") or "new"
        self.conn.put(
            "reviews",
            f"{ad_id}:{version + 1}",
            {
                "ad_id": ad_id,
                "decision": decision,
                "note": note,
                "reviewer": reviewer,
                "at": at,
                "previous_status": previous,
                "version": version + 1,
            },
            create=True,
        )
        write_audit(self.conn, reviewer, "review", ad_id, previous, decision, note, at)
        return read_ad(self.conn, ad_id)

    def review_history(self, ad_id: str) -> list[Record]:
        return [
            {k: hit["_source"].get(k) for k in REVIEW_ENTRY_FIELDS}
            for hit in self.conn.scan("reviews", {"term": {"ad_id": ad_id}}, [{"version": "asc"}])
        ]

    def labelled_ads(self) -> list[Record]:
        fields = list(LABELLED_FIELDS)
        return [
            {k: hit["_source"].get(k) for k in fields}
            for hit in self.conn.scan(
                "ads",
                {"terms": {"status": ["confirmed", "dismissed"]}},
                [{"reviewed_at": "asc"}, {"ad_id": "asc"}],
                fields,
            )
        ]

    def decision_counts(self, *, since: str = "") -> dict[str, int]:
        query: dict[str, Any] = {"range": {"at": {"gte": since}}} if since else {"match_all": {}}
        result = self.conn.search(
            "reviews",
            {
                "size": 0,
                "query": query,
                "aggs": {"by": {"terms": {"field": "decision", "size": 10}}},
            },
        )
        buckets = (result.get("aggregations") or {}).get("by", {}).get("buckets", [])
        return {str(b["key"]): int(b["doc_count"]) for b in buckets}
