"""Cases and takedown requests on the search engines (the ``CaseStore`` role).

Cases, their items, notes and takedown requests each live behind their own alias; every write is
made visible at once (human-rate writes) and followed by its audit entry. A case item's document
id is derived from (case, kind, value), so adding the same item twice keeps one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from patroli.storage.base import NotFound, Record
from patroli.storage.caserules import (
    case_changes,
    checked_item,
    checked_takedown,
    checked_takedown_changes,
    new_case,
    new_item,
    new_note,
)
from patroli.storage.engine.accounts import write_audit
from patroli.storage.engine.client import EngineError
from patroli.storage.engine.connection import EngineConnection, quote_id
from patroli.storage.schema import (
    CASE_ITEM_FIELDS,
    CASE_NOTE_FIELDS,
    case_record,
    now,
    takedown_record,
)


def _item_id(case_id: str, kind: str, value: str) -> str:
    return hashlib.sha256(f"{case_id}\x1f{kind}\x1f{value}".encode()).hexdigest()[:16]


class EngineCases:
    conn: EngineConnection

    def _source(self, kind: str, doc_id: str, what: str) -> dict[str, Any]:
        doc = self.conn.get(kind, doc_id)
        if doc is None:
            raise NotFound(what, doc_id)
        source: dict[str, Any] = doc["_source"]
        return source

    def _touch(self, case_id: str, at: str) -> None:
        case = self._source("cases", case_id, "case")
        self.conn.put("cases", case_id, {**case, "updated_at": at})

    def create_case(self, case: Mapping[str, Any], *, actor: str) -> Record:
        record = new_case(case, actor)
        self.conn.put("cases", record["id"], record, create=True)
        write_audit(self.conn, actor, "case.create", record["id"], None, record, record["title"])
        return self.get_case(record["id"])

    def get_case(self, case_id: str) -> Record:
        case = case_record(self._source("cases", case_id, "case"))
        term = {"term": {"case_id": case_id}}
        case["items"] = [
            {k: h["_source"].get(k) for k in CASE_ITEM_FIELDS}
            for h in self.conn.scan("case_items", term, [{"added_at": "asc"}, {"id": "asc"}])
        ]
        case["notes"] = [
            {k: h["_source"].get(k) for k in CASE_NOTE_FIELDS}
            for h in self.conn.scan("case_notes", term, [{"at": "asc"}, {"id": "asc"}])
        ]
        return case

    def list_cases(self, *, status: str = "", assignee: str = "", limit: int = 200) -> list[Record]:
        filters = [{"term": {k: v}} for k, v in (("status", status), ("assignee", assignee)) if v]
        hits = self.conn.search(
            "cases",
            {
                "query": {"bool": {"filter": filters}},
                "sort": [{"updated_at": "desc"}, {"id": "asc"}],
                "size": limit,
            },
        )["hits"]["hits"]
        return [case_record(h["_source"]) for h in hits]

    def update_case(self, case_id: str, changes: Mapping[str, Any], *, actor: str) -> Record:
        current = self._source("cases", case_id, "case")
        before, after = case_changes(case_record(current), changes)
        if after:
            self.conn.put("cases", case_id, {**current, **after, "updated_at": now()})
            write_audit(self.conn, actor, "case.update", case_id, before, after, "")
        return self.get_case(case_id)

    def add_case_item(
        self, case_id: str, kind: str, value: str, *, actor: str, note: str = ""
    ) -> Record:
        kind, value = checked_item(kind, value)
        self._source("cases", case_id, "case")
        doc_id = _item_id(case_id, kind, value)
        existing = self.conn.get("case_items", doc_id)
        if existing is not None:
            return {k: existing["_source"].get(k) for k in CASE_ITEM_FIELDS}
        item = {**new_item(case_id, kind, value, note, actor), "id": doc_id}
        self.conn.put("case_items", doc_id, item, create=True)
        self._touch(case_id, item["added_at"])
        write_audit(
            self.conn, actor, "case.item.add", case_id, None, {"kind": kind, "value": value}, note
        )
        return item

    def remove_case_item(self, case_id: str, item_id: str, *, actor: str) -> None:
        doc = self.conn.get("case_items", item_id)
        if doc is None or doc["_source"].get("case_id") != case_id:
            raise NotFound("case item", item_id)
        self.conn.client.request(
            "DELETE",
            f"/{self.conn.alias('case_items')}/_doc/{quote_id(item_id)}",
            params={"refresh": "true"},
        )
        self._touch(case_id, now())
        removed = {"kind": doc["_source"].get("kind"), "value": doc["_source"].get("value")}
        write_audit(self.conn, actor, "case.item.remove", case_id, removed, None, "")

    def add_case_note(self, case_id: str, text: str, *, actor: str) -> Record:
        note = new_note(case_id, text, actor)
        self._source("cases", case_id, "case")
        self.conn.put("case_notes", note["id"], note, create=True)
        self._touch(case_id, note["at"])
        write_audit(self.conn, actor, "case.note", case_id, None, None, note["text"])
        return note

    def cases_holding(self, kind: str, value: str) -> list[Record]:
        filters = [{"term": {"kind": kind}}, {"term": {"value": value}}]
        ids = [
            h["_source"]["case_id"]
            for h in self.conn.scan("case_items", {"bool": {"filter": filters}}, [{"id": "asc"}])
        ]
        cases = [case_record(c) for c in self._many("cases", ids)]
        return sorted(cases, key=lambda c: str(c.get("updated_at")), reverse=True)

    def _many(self, kind: str, ids: list[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        try:
            docs = self.conn.client.request(
                "POST", f"/{self.conn.alias(kind)}/_mget", body={"ids": list(dict.fromkeys(ids))}
            )["docs"]
        except EngineError as exc:
            if exc.status == 404:
                return []
            raise
        return [d["_source"] for d in docs if d.get("found")]

    # --- takedown requests -----------------------------------------------------------------

    def add_takedown(self, request: Mapping[str, Any], *, actor: str) -> Record:
        record = checked_takedown(request, actor)
        self.conn.put("takedowns", record["id"], record, create=True)
        write_audit(
            self.conn,
            actor,
            "takedown.submit",
            record["ad_id"],
            None,
            {k: record[k] for k in ("id", "channel", "platform", "url", "status")},
            record.get("letter_number") or "",
        )
        return record

    def update_takedown(
        self,
        request_id: str,
        changes: Mapping[str, Any],
        *,
        actor: str,
        check: Mapping[str, Any] | None = None,
    ) -> Record:
        current = takedown_record(self._source("takedowns", request_id, "takedown request"))
        before, after = checked_takedown_changes(current, changes, check)
        if after:
            current = {**current, **after}
            self.conn.put("takedowns", request_id, current)
            if "status" in before:
                write_audit(
                    self.conn,
                    actor,
                    "takedown.status",
                    current["ad_id"],
                    before,
                    {"status": current["status"], "reason": current.get("reason", "")},
                    request_id,
                )
        return takedown_record(current)

    def list_takedowns(
        self, *, status: str = "", case_id: str = "", ad_id: str = "", limit: int = 1000
    ) -> list[Record]:
        filters = [
            {"term": {k: v}}
            for k, v in (("status", status), ("case_id", case_id), ("ad_id", ad_id))
            if v
        ]
        hits = self.conn.search(
            "takedowns",
            {
                "query": {"bool": {"filter": filters}},
                "sort": [{"submitted_at": "desc"}, {"id": "asc"}],
                "size": limit,
            },
        )["hits"]["hits"]
        return [takedown_record(h["_source"]) for h in hits]
