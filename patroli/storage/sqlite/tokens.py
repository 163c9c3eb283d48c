"""Users' API tokens in SQLite (the ``TokenStore`` role): hashes only, revocations kept."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from patroli.storage.base import Record, StoreError
from patroli.storage.schema import TOKEN_FIELDS, token_record
from patroli.storage.sqlite.connection import Database


class SQLiteTokens:
    db: Database

    def put_token(self, token: Mapping[str, Any]) -> None:
        values = token_record(token)
        try:
            with self.db.write() as conn:
                conn.execute(
                    f"INSERT INTO api_tokens({', '.join(TOKEN_FIELDS)}) "
                    f"VALUES ({','.join('?' * len(TOKEN_FIELDS))})",
                    [values[k] for k in TOKEN_FIELDS],
                )
        except StoreError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise StoreError(f"a token with id {values['id']} exists already") from exc
            raise

    def get_token(self, token_id: str) -> Record | None:
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM api_tokens WHERE id = ?", (token_id,)).fetchone()
        return token_record(dict(row)) if row else None

    def list_tokens(self, owner: str = "") -> list[Record]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM api_tokens WHERE (? = '' OR owner = ?) ORDER BY created_at, id",
                (owner, owner),
            ).fetchall()
        return [token_record(dict(r)) for r in rows]

    def revoke_token(self, token_id: str, at: str) -> bool:
        with self.db.write() as conn:
            changed = conn.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (at, token_id),
            ).rowcount
        return changed == 1

    def touch_token(self, token_id: str, at: str) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (at, token_id))
