"""Investigators' saved searches in SQLite (the ``SavedSearchStore`` role)."""

from __future__ import annotations

from patroli.storage.base import Record
from patroli.storage.schema import SAVED_SEARCH_FIELDS, new_saved_search
from patroli.storage.sqlite.connection import Database


class SQLiteSavedSearches:
    db: Database

    def save_search(self, owner: str, name: str, query: str, channel: str = "") -> Record:
        record = new_saved_search(owner, name, query, channel)
        with self.db.write() as conn:
            conn.execute(
                f"INSERT INTO saved_searches({', '.join(SAVED_SEARCH_FIELDS)}) "
                f"VALUES ({','.join('?' * len(SAVED_SEARCH_FIELDS))})",
                [record[k] for k in SAVED_SEARCH_FIELDS],
            )
        return record

    def list_saved_searches(self, owner: str = "") -> list[Record]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM saved_searches WHERE (? = '' OR owner = ?) ORDER BY created_at",
                (owner, owner),
            ).fetchall()
        return [dict(r) for r in rows]

    def delete_saved_search(self, search_id: str) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM saved_searches WHERE id = ?", (search_id,))
