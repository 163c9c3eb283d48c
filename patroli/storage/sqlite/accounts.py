"""The web app's accounts and the audit log in SQLite (the ``AccountStore`` role). The audit
table refuses updates and deletes itself (``storage.sqlite.connection``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from patroli.storage.base import Record
from patroli.storage.schema import USER_FIELDS, new_user, now, user_record
from patroli.storage.sqlite.connection import Database


def insert_audit(
    conn: sqlite3.Connection,
    actor: str,
    action: str,
    target: str,
    before: Any,
    after: Any,
    detail: str,
    at: str | None = None,
) -> None:
    """Append an entry inside the caller's transaction (a review and its audit entry are one)."""
    conn.execute(
        "INSERT INTO audit(at, actor, action, target, before, after, detail) VALUES (?,?,?,?,?,?,?)",
        (
            at or now(),
            actor,
            action,
            target,
            json.dumps(before, ensure_ascii=False, default=str),
            json.dumps(after, ensure_ascii=False, default=str),
            detail,
        ),
    )


class SQLiteAccounts:
    db: Database

    def put_user(self, user: Mapping[str, Any]) -> None:
        values = new_user(user)
        values["active"] = int(values["active"])
        values["extra"] = json.dumps(values["extra"])
        with self.db.write() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO users({', '.join(USER_FIELDS)}) "
                f"VALUES ({','.join('?' * len(USER_FIELDS))})",
                [values[k] for k in USER_FIELDS],
            )

    def get_user(self, name: str) -> Record | None:
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return _user(row) if row else None

    def list_users(self) -> list[Record]:
        with self.db.read() as conn:
            rows = conn.execute("SELECT * FROM users ORDER BY name").fetchall()
        return [_user(r) for r in rows]

    def count_login_failure(self, name: str, *, max_failures: int, lock_until: str) -> int | None:
        # One statement: the increment and the lock are decided on the row itself, never on a
        # value read earlier, so concurrent wrong passwords cannot overwrite each other's count.
        with self.db.write() as conn:
            row = conn.execute(
                "UPDATE users SET"
                " failed_logins = CASE WHEN failed_logins + 1 >= :max THEN 0 ELSE failed_logins + 1 END,"
                " locked_until = CASE WHEN failed_logins + 1 >= :max THEN :until ELSE locked_until END"
                " WHERE name = :name RETURNING failed_logins",
                {"max": max_failures, "until": lock_until, "name": name},
            ).fetchone()
        if row is None:
            return None
        return int(row[0]) or max_failures  # 0: this failure reached the limit and locked

    def append_audit(
        self,
        actor: str,
        action: str,
        target: str = "",
        before: Any = None,
        after: Any = None,
        detail: str = "",
    ) -> None:
        with self.db.write() as conn:
            insert_audit(conn, actor, action, target, before, after, detail)

    def audit_log(
        self, *, limit: int = 100, offset: int = 0, actor: str = "", target: str = ""
    ) -> list[Record]:
        clauses, params = [], []
        if actor:
            clauses.append("actor = ?")
            params.append(actor)
        if target:
            clauses.append("target = ?")
            params.append(target)
        where = " AND ".join(clauses) or "1"
        with self.db.read() as conn:
            rows = conn.execute(
                f"SELECT * FROM audit WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
        entries = []
        for row in rows:
            entry = dict(row)
            entry["before"], entry["after"] = (
                json.loads(entry["before"] or "null"),
                json.loads(entry["after"] or "null"),
            )
            entries.append(entry)
        return entries


def _user(row: sqlite3.Row) -> Record:
    return user_record({**dict(row), "extra": json.loads(row["extra"] or "null")})
