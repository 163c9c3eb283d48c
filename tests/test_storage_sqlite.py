"""What only the SQLite backend does: the database itself refuses to rewrite the audit log."""

from __future__ import annotations

import sqlite3

import pytest

from patroli.storage.sqlite import SQLiteStore, sqlite_path


def test_audit_log_cannot_be_changed_even_with_raw_sql(store_url: str) -> None:
    store = SQLiteStore(store_url)
    store.append_audit("admin", "login")
    store.close()
    conn = sqlite3.connect(sqlite_path(store_url))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit SET actor = 'someone else'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit")
    conn.close()
