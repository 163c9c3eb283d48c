"""What only the SQLite backend does: the database itself refuses to rewrite the audit log."""

from __future__ import annotations

import sqlite3

import pytest

from patroli.storage.sqlite import SQLiteStore, sqlite_path
from tests.helpers.records import record


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


def test_a_file_from_before_the_language_gate_is_migrated_in_place(store_url: str) -> None:
    """A store made by schema version 1 (no ``risky``, ``genre``, ``lang`` columns) opens, keeps
    every ad and review, gains the columns, and takes the new fields from then on."""
    from tests.helpers.records import record

    store = SQLiteStore(store_url)
    store.upsert_ads([record("old1"), record("old2", risk=0.1, flagged=False)])
    store.review("old1", "confirmed", reviewer="ana", note="ok")
    store.close()
    conn = sqlite3.connect(sqlite_path(store_url))
    for column in ("risky", "genre", "lang"):  # what a version-1 file looks like
        conn.execute(f"ALTER TABLE ads DROP COLUMN {column}")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    assert "lang" not in {row[1] for row in conn.execute("PRAGMA table_info(ads)")}
    conn.close()

    store = SQLiteStore(store_url)
    try:
        old = store.get_ad("old1")
        assert old["status"] == "confirmed"
        assert old["risk"] == 0.97
        assert old["lang"] is None
        assert old["genre"] is None
        store.upsert_ads([record("new1", genre="report", risky=True, flagged=False, lang="ms")])
        assert {h["ad_id"] for h in store.search("lang:ms genre:report risky:true").hits} == {
            "new1"
        }
        assert {h["ad_id"] for h in store.search("").hits} == {"old1", "old2", "new1"}
    finally:
        store.close()
    conn = sqlite3.connect(sqlite_path(store_url))
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"
    conn.close()


def test_a_file_from_before_images_is_migrated_in_place(store_url: str) -> None:
    """A schema-1 file (no image columns, full-text index over title and text) keeps every ad,
    gains the image columns and an index that searches image text too."""
    from patroli.storage.schema import sqlite_columns

    new = ("images ", "image_text ", "image_keys ")
    old_columns = [c for c in sqlite_columns() if not c.startswith(new)]
    path = sqlite_path(store_url)
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE ads ({', '.join(old_columns)})")
    conn.executescript("""
        CREATE VIRTUAL TABLE ads_fts USING fts5(title, text, content='ads', content_rowid='seq',
            tokenize='unicode61 remove_diacritics 2');
        CREATE TRIGGER ads_fts_insert AFTER INSERT ON ads BEGIN
            INSERT INTO ads_fts(rowid, title, text) VALUES (new.seq, new.title, new.text); END;
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        INSERT INTO meta VALUES ('schema_version', '1');
        INSERT INTO ads (ad_id, title, text, status, version, first_seen)
            VALUES ('old1', 'Loker lama', 'Kerja di Taiwan pabrik', 'confirmed', 3, '2026-01-01');
    """)
    conn.commit()
    conn.close()

    store = SQLiteStore(store_url)
    try:
        old = store.get_ad("old1")
        assert (old["status"], old["version"], old["first_seen"]) == ("confirmed", 3, "2026-01-01")
        assert old["image_text"] is None
        assert [h["ad_id"] for h in store.search("taiwan").hits] == ["old1"]  # index rebuilt
        store.upsert_ads([record("new1", text="Info di gambar", image_text="Visa turis Kamboja")])
        assert [h["ad_id"] for h in store.search("ocr:turis").hits] == ["new1"]
        assert [h["ad_id"] for h in store.search("kamboja").hits] == ["new1"]
    finally:
        store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"
    conn.close()
