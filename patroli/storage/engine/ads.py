"""Storing and reading ads on the search engines (the writing half of the ``AdStore`` role).

Upserts are bulk actions: first a ``create`` of the full first version (as cheap as a bare bulk),
then, for the ads that exist already, an ``update`` whose partial document holds content and
sightings only (never a review field, never ``first_seen``). Documents the engine rejects are
counted and logged by id. Every distinct version of an ad's HTML goes to the evidence index.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from patroli.storage.base import AdNotFound, Record, WriteResult
from patroli.storage.engine.connection import BulkAction, EngineConnection, describe
from patroli.storage.schema import CONTENT_FIELDS, EVIDENCE_FIELDS, FIELDS, now, warc_pointer

logger = logging.getLogger(__name__)

_AD_FIELDS = tuple(f.name for f in FIELDS)


def ad_record(source: Mapping[str, Any]) -> Record:
    """An ad document as a record (without the engine-only sort keys)."""
    record: Record = {name: source.get(name) for name in _AD_FIELDS}
    if record.get("status") is None:
        record["status"] = "new"
    return record


def read_ad(conn: EngineConnection, ad_id: str, *, with_evidence: bool = False) -> Record:
    """One ad (with its kept pages when asked); raise ``AdNotFound``."""
    doc = conn.get("ads", ad_id)
    if doc is None:
        raise AdNotFound(ad_id)
    record = ad_record(doc["_source"])
    if with_evidence:
        record["evidence"] = [
            {k: hit["_source"].get(k) for k in EVIDENCE_FIELDS}
            for hit in conn.scan(
                "evidence",
                {"term": {"ad_id": ad_id}},
                [{"crawled_at": "asc"}, {"content_hash": "asc"}],
            )
        ]
    return record


class EngineAds:
    conn: EngineConnection

    def upsert_ads(self, records: Sequence[Mapping[str, Any]]) -> WriteResult:
        result = WriteResult()
        if not records:
            return result
        by_id = {r["ad_id"]: r for r in records}  # the last copy wins, as in SQLite
        # First try to create each ad (a plain index operation, as cheap as a bare bulk); the
        # ones that exist already (409) get a partial update of content and sightings only.
        actions: list[BulkAction] = []
        kinds: list[tuple[str, str]] = []
        updates: dict[str, dict[str, Any]] = {}
        for ad_id, record in by_id.items():
            seen_at = record.get("crawled_at") or now()
            doc = {name: record.get(name) for name in CONTENT_FIELDS}
            doc["last_seen"] = seen_at
            doc["gone_at"] = None
            margin = record.get("risk_margin")
            doc["uncertainty"] = abs(margin) if margin is not None else 1.0
            first = {
                **doc,
                "ad_id": ad_id,
                "first_seen": seen_at,
                "status": "new",
                "version": 1,
                "sort_date": record.get("posted_at") or seen_at,
            }
            if record.get("posted_at"):
                doc["sort_date"] = record["posted_at"]
            updates[ad_id] = {"doc": doc, "upsert": first}
            actions.append(({"create": {"_index": self.conn.alias("ads"), "_id": ad_id}}, first))
            kinds.append(("ad", ad_id))
            if record.get("html"):
                content_hash = record.get("content_hash") or ""
                actions.append(
                    (
                        {
                            "create": {
                                "_index": self.conn.alias("evidence"),
                                "_id": f"{ad_id}:{content_hash}",
                            }
                        },
                        {
                            "ad_id": ad_id,
                            "content_hash": content_hash,
                            "crawled_at": seen_at,
                            "url": record.get("url"),
                            "html": record["html"],
                            **warc_pointer(record),
                        },
                    )
                )
                kinds.append(("evidence", ad_id))
        outcomes = self.conn.bulk(actions)
        known = [
            ad_id
            for (kind, ad_id), outcome in zip(kinds, outcomes, strict=True)
            if kind == "ad" and outcome.get("status") == 409
        ]
        if known:
            second = self.conn.bulk(
                [
                    (
                        {
                            "update": {
                                "_index": self.conn.alias("ads"),
                                "_id": ad_id,
                                "retry_on_conflict": 5,
                            }
                        },
                        updates[ad_id],
                    )
                    for ad_id in known
                ]
            )
            replaced = dict(zip(known, second, strict=True))
            outcomes = [
                replaced[ad_id] if kind == "ad" and ad_id in replaced else outcome
                for (kind, ad_id), outcome in zip(kinds, outcomes, strict=True)
            ]
        self.conn.wrote("ads", "evidence")
        for (kind, ad_id), outcome in zip(kinds, outcomes, strict=True):
            error = outcome.get("error")
            if kind == "evidence":
                if error and outcome.get("status") != 409:  # 409: this version is already kept
                    result.failed += 1
                    result.failed_ids.append(ad_id)
                    logger.error("evidence of ad %s rejected: %s", ad_id, describe(error))
                continue
            if error:
                result.failed += 1
                result.failed_ids.append(ad_id)
                logger.error("ad %s rejected: %s", ad_id, describe(error))
            elif outcome.get("result") == "created":
                result.new += 1
                result.new_ids.append(ad_id)
            else:
                result.updated += 1
        return result

    def get_ad(self, ad_id: str, *, with_evidence: bool = False) -> Record:
        return read_ad(self.conn, ad_id, with_evidence=with_evidence)
