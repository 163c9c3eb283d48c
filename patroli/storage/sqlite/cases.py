"""Cases and takedown requests in SQLite (the ``CaseStore`` role). Every change is written with
its audit entry in one transaction, so a case never changes without a trace."""

from __future__ import annotations

import json
import sqlite3
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
from patroli.storage.schema import (
    CASE_FIELDS,
    CASE_ITEM_FIELDS,
    CASE_NOTE_FIELDS,
    TAKEDOWN_FIELDS,
    case_record,
    now,
    takedown_record,
)
from patroli.storage.sqlite.accounts import insert_audit
from patroli.storage.sqlite.connection import Database

_CASE_JSON = ("routing",)
_TAKEDOWN_JSON = ("checks",)


def _encode(values: Mapping[str, Any], json_fields: tuple[str, ...]) -> dict[str, Any]:
    return {
        k: json.dumps(v, ensure_ascii=False, default=str) if k in json_fields else v
        for k, v in values.items()
    }


def _decode(row: sqlite3.Row, json_fields: tuple[str, ...]) -> Record:
    record = dict(row)
    for name in json_fields:
        if isinstance(record.get(name), str):
            record[name] = json.loads(record[name])
    return record


def _insert(conn: sqlite3.Connection, table: str, fields: tuple[str, ...], values: Record) -> None:
    conn.execute(
        f"INSERT INTO {table}({', '.join(fields)}) VALUES ({','.join('?' * len(fields))})",
        [values.get(k) for k in fields],
    )


class SQLiteCases:
    db: Database

    def create_case(self, case: Mapping[str, Any], *, actor: str) -> Record:
        record = new_case(case, actor)
        with self.db.write() as conn:
            _insert(conn, "cases", CASE_FIELDS, _encode(record, _CASE_JSON))
            insert_audit(conn, actor, "case.create", record["id"], None, record, record["title"])
        return self.get_case(record["id"])

    def _case_row(self, conn: sqlite3.Connection, case_id: str) -> Record:
        row = conn.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()
        if row is None:
            raise NotFound("case", case_id)
        return case_record(_decode(row, _CASE_JSON))

    def get_case(self, case_id: str) -> Record:
        with self.db.read() as conn:
            case = self._case_row(conn, case_id)
            case["items"] = [
                dict(r)
                for r in conn.execute(
                    f"SELECT {', '.join(CASE_ITEM_FIELDS)} FROM case_items WHERE case_id = ? "
                    "ORDER BY added_at, id",
                    (case_id,),
                )
            ]
            case["notes"] = [
                dict(r)
                for r in conn.execute(
                    f"SELECT {', '.join(CASE_NOTE_FIELDS)} FROM case_notes WHERE case_id = ? "
                    "ORDER BY at, id",
                    (case_id,),
                )
            ]
        return case

    def list_cases(self, *, status: str = "", assignee: str = "", limit: int = 200) -> list[Record]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM cases WHERE (? = '' OR status = ?) AND (? = '' OR assignee = ?) "
                "ORDER BY updated_at DESC, id LIMIT ?",
                (status, status, assignee, assignee, limit),
            ).fetchall()
        return [case_record(_decode(r, _CASE_JSON)) for r in rows]

    def update_case(self, case_id: str, changes: Mapping[str, Any], *, actor: str) -> Record:
        with self.db.write() as conn:
            current = self._case_row(conn, case_id)
            before, after = case_changes(current, changes)
            if after:
                after_row = _encode({**after, "updated_at": now()}, _CASE_JSON)
                conn.execute(
                    f"UPDATE cases SET {', '.join(f'{k} = ?' for k in after_row)} WHERE id = ?",
                    [*after_row.values(), case_id],
                )
                insert_audit(conn, actor, "case.update", case_id, before, after, "")
        return self.get_case(case_id)

    def add_case_item(
        self, case_id: str, kind: str, value: str, *, actor: str, note: str = ""
    ) -> Record:
        kind, value = checked_item(kind, value)
        with self.db.write() as conn:
            self._case_row(conn, case_id)
            row = conn.execute(
                f"SELECT {', '.join(CASE_ITEM_FIELDS)} FROM case_items "
                "WHERE case_id = ? AND kind = ? AND value = ?",
                (case_id, kind, value),
            ).fetchone()
            if row is not None:
                return dict(row)
            item = new_item(case_id, kind, value, note, actor)
            _insert(conn, "case_items", CASE_ITEM_FIELDS, item)
            conn.execute(
                "UPDATE cases SET updated_at = ? WHERE id = ?", (item["added_at"], case_id)
            )
            insert_audit(
                conn, actor, "case.item.add", case_id, None, {"kind": kind, "value": value}, note
            )
        return item

    def remove_case_item(self, case_id: str, item_id: str, *, actor: str) -> None:
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT kind, value FROM case_items WHERE id = ? AND case_id = ?",
                (item_id, case_id),
            ).fetchone()
            if row is None:
                raise NotFound("case item", item_id)
            conn.execute("DELETE FROM case_items WHERE id = ?", (item_id,))
            conn.execute("UPDATE cases SET updated_at = ? WHERE id = ?", (now(), case_id))
            insert_audit(conn, actor, "case.item.remove", case_id, dict(row), None, "")

    def add_case_note(self, case_id: str, text: str, *, actor: str) -> Record:
        note = new_note(case_id, text, actor)
        with self.db.write() as conn:
            self._case_row(conn, case_id)
            _insert(conn, "case_notes", CASE_NOTE_FIELDS, note)
            conn.execute("UPDATE cases SET updated_at = ? WHERE id = ?", (note["at"], case_id))
            insert_audit(conn, actor, "case.note", case_id, None, None, note["text"])
        return note

    def cases_holding(self, kind: str, value: str) -> list[Record]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT cases.* FROM cases JOIN case_items ON case_items.case_id = cases.id "
                "WHERE case_items.kind = ? AND case_items.value = ? ORDER BY cases.updated_at DESC",
                (kind, value),
            ).fetchall()
        return [case_record(_decode(r, _CASE_JSON)) for r in rows]

    # --- takedown requests -----------------------------------------------------------------

    def add_takedown(self, request: Mapping[str, Any], *, actor: str) -> Record:
        record = checked_takedown(request, actor)
        with self.db.write() as conn:
            _insert(conn, "takedowns", TAKEDOWN_FIELDS, _encode(record, _TAKEDOWN_JSON))
            insert_audit(
                conn,
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
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM takedowns WHERE id = ?", (request_id,)).fetchone()
            if row is None:
                raise NotFound("takedown request", request_id)
            current = takedown_record(_decode(row, _TAKEDOWN_JSON))
            before, after = checked_takedown_changes(current, changes, check)
            if after:
                encoded = _encode(after, _TAKEDOWN_JSON)
                conn.execute(
                    f"UPDATE takedowns SET {', '.join(f'{k} = ?' for k in encoded)} WHERE id = ?",
                    [*encoded.values(), request_id],
                )
                if "status" in before:
                    insert_audit(
                        conn,
                        actor,
                        "takedown.status",
                        current["ad_id"],
                        before,
                        {"status": after["status"], "reason": after.get("reason", "")},
                        request_id,
                    )
            row = conn.execute("SELECT * FROM takedowns WHERE id = ?", (request_id,)).fetchone()
        return takedown_record(_decode(row, _TAKEDOWN_JSON))

    def list_takedowns(
        self, *, status: str = "", case_id: str = "", ad_id: str = "", limit: int = 1000
    ) -> list[Record]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM takedowns WHERE (? = '' OR status = ?) AND (? = '' OR case_id = ?) "
                "AND (? = '' OR ad_id = ?) ORDER BY submitted_at DESC, id LIMIT ?",
                (status, status, case_id, case_id, ad_id, ad_id, limit),
            ).fetchall()
        return [takedown_record(_decode(r, _TAKEDOWN_JSON)) for r in rows]
