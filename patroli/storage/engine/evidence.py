"""Holds, capture records and what retention must keep, on the search engines (the
``EvidenceStore`` role). The hold and the capture are partial updates of the ad document that a
crawl never touches (``schema`` group ``case``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from patroli.storage.base import AdNotFound, Record
from patroli.storage.engine.accounts import write_audit
from patroli.storage.engine.ads import ad_record, read_ad
from patroli.storage.engine.client import EngineError
from patroli.storage.engine.connection import EngineConnection, quote_id
from patroli.storage.schema import ENTITY_FIELDS


class EngineEvidence:
    conn: EngineConnection

    def _update_ad(self, current: dict[str, Any], doc: dict[str, Any]) -> bool:
        """Partial update under optimistic concurrency; False when someone changed it meanwhile."""
        try:
            self.conn.client.request(
                "POST",
                f"/{quote_id(current['_index'])}/_update/{quote_id(current['_id'])}",
                params={
                    "if_seq_no": str(current["_seq_no"]),
                    "if_primary_term": str(current["_primary_term"]),
                    "refresh": "true",
                },
                body={"doc": doc},
            )
        except EngineError as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def set_hold(self, ad_id: str, hold: bool, *, actor: str, reason: str = "") -> Record:
        for _attempt in range(20):
            current = self.conn.get("ads", ad_id)
            if current is None:
                raise AdNotFound(ad_id)
            was = bool(current["_source"].get("hold"))
            if was == hold:
                break
            if self._update_ad(current, {"hold": hold}):
                write_audit(
                    self.conn,
                    actor,
                    "ad.hold" if hold else "ad.release",
                    ad_id,
                    was,
                    hold,
                    reason[:500],
                )
                break
        return read_ad(self.conn, ad_id)

    def record_capture(self, ad_id: str, capture: Mapping[str, Any]) -> None:
        for _attempt in range(20):
            current = self.conn.get("ads", ad_id)
            if current is None:
                raise AdNotFound(ad_id)
            if current["_source"].get("captured_at"):
                return
            doc = {"capture": dict(capture), "captured_at": capture["captured_at"]}
            if self._update_ad(current, doc):
                write_audit(
                    self.conn,
                    str(capture.get("tool") or "patroli"),
                    "ad.capture",
                    ad_id,
                    None,
                    {"sha256": capture.get("sha256"), "file": capture.get("file")},
                    "",
                )
                return

    def ads_to_capture(self, *, limit: int = 100) -> list[Record]:
        query = {
            "bool": {
                "filter": [{"term": {"flagged": True}}],
                "must_not": [{"exists": {"field": "captured_at"}}],
            }
        }
        hits = self.conn.search(
            "ads",
            {"query": query, "sort": [{"first_seen": "desc"}, {"ad_id": "asc"}], "size": limit},
        )["hits"]["hits"]
        return [ad_record(h["_source"]) for h in hits]

    def _carrying(self, identifiers: set[str]) -> set[str]:
        """The ads carrying any of these identifier items (``phone:+62…``: every field that holds
        that kind of entity, as the SQLite store's ``ad_entities`` rows do)."""
        should: list[dict[str, Any]] = []
        for item in sorted(identifiers):
            kind, _, value = item.partition(":")
            should += [{"term": {f.name: value}} for f in ENTITY_FIELDS if f.entity == kind]
        found: set[str] = set()
        for start in range(0, len(should), 500):
            query = {"bool": {"should": should[start : start + 500], "minimum_should_match": 1}}
            found |= {
                h["_source"]["ad_id"]
                for h in self.conn.scan("ads", query, [{"ad_id": "asc"}], ["ad_id"])
            }
        return found

    def held_evidence(self) -> list[Record]:
        held = {
            h["_source"]["ad_id"]
            for h in self.conn.scan("ads", {"term": {"hold": True}}, [{"ad_id": "asc"}], ["ad_id"])
        }
        groups: dict[str, set[str]] = {
            "ad": set(),
            "cluster": set(),
            "network": set(),
            "identifier": set(),
        }
        for h in self.conn.scan(
            "case_items", {"terms": {"kind": list(groups)}}, [{"id": "asc"}], ["kind", "value"]
        ):
            groups[h["_source"]["kind"]].add(h["_source"]["value"])
        held |= groups["ad"]
        for kind in ("cluster", "network"):  # the ads of a case's clusters and networks, as now
            values = sorted(groups[kind])
            for start in range(0, len(values), 1000):
                members: dict[str, Any] = {"terms": {f"{kind}_id": values[start : start + 1000]}}
                held |= {
                    h["_source"]["ad_id"]
                    for h in self.conn.scan("ads", members, [{"ad_id": "asc"}], ["ad_id"])
                }
        held |= self._carrying(groups["identifier"])
        found: set[tuple[str, str]] = set()
        ids = sorted(held)
        for start in range(0, len(ids), 1000):
            query = {
                "bool": {
                    "filter": [
                        {"terms": {"ad_id": ids[start : start + 1000]}},
                        {"exists": {"field": "warc_file"}},
                    ]
                }
            }
            for hit in self.conn.scan(
                "evidence",
                query,
                [{"ad_id": "asc"}, {"content_hash": "asc"}],
                ["ad_id", "warc_file"],
            ):
                found.add((hit["_source"]["ad_id"], hit["_source"]["warc_file"]))
        return [{"ad_id": a, "warc_file": f} for a, f in sorted(found)]
