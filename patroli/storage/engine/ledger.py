"""What incremental crawls and the patrol keep on the search engines (the ``CrawlLedger`` role):
each source's known ads, their sightings, and the runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from patroli.storage.base import Record
from patroli.storage.engine.connection import BulkAction, EngineConnection
from patroli.storage.schema import KNOWN_AD_FIELDS, run_record


class EngineLedger:
    conn: EngineConnection

    def known_ads(self, source: str) -> dict[str, Record]:
        fields = list(KNOWN_AD_FIELDS)
        known: dict[str, Record] = {}
        for hit in self.conn.scan(
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

    def touch_ads(self, ad_ids: Sequence[str], seen_at: str) -> int:
        actions: list[BulkAction] = [
            (
                {
                    "update": {
                        "_index": self.conn.alias("ads"),
                        "_id": ad_id,
                        "retry_on_conflict": 5,
                    }
                },
                {"doc": {"last_seen": seen_at, "gone_at": None}},
            )
            for ad_id in dict.fromkeys(ad_ids)
        ]
        outcomes = self.conn.bulk(actions) if actions else []
        self.conn.wrote("ads")
        return sum(1 for o in outcomes if not o.get("error"))

    def mark_gone(self, ad_ids: Sequence[str], gone_at: str) -> int:
        changed = 0
        ids = list(dict.fromkeys(ad_ids))
        for start in range(0, len(ids), 1000):
            docs = self.conn.client.request(
                "POST",
                f"/{self.conn.alias('ads')}/_mget",
                params={"_source": "gone_at"},
                body={"ids": ids[start : start + 1000]},
            )["docs"]
            actions = [
                (
                    {
                        "update": {
                            "_index": d["_index"],
                            "_id": d["_id"],
                            "if_seq_no": d["_seq_no"],
                            "if_primary_term": d["_primary_term"],
                        }
                    },
                    {"doc": {"gone_at": gone_at}},
                )
                for d in docs
                if d.get("found") and not (d.get("_source") or {}).get("gone_at")
            ]
            if actions:
                changed += sum(1 for o in self.conn.bulk(actions) if not o.get("error"))
        self.conn.wrote("ads")
        return changed

    def record_run(self, run: Mapping[str, Any]) -> None:
        doc = run_record(run)
        self.conn.put("runs", str(doc["run_id"]), doc)

    def list_runs(self, *, source: str = "", limit: int = 50) -> list[Record]:
        query = {"term": {"source": source}} if source else {"match_all": {}}
        hits = self.conn.search(
            "runs",
            {
                "query": query,
                "size": limit,
                "sort": [{"started_at": {"order": "desc", "missing": "_last"}}, {"run_id": "desc"}],
            },
        )["hits"]["hits"]
        return [run_record(h["_source"]) for h in hits]
