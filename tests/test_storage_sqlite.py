"""What only the SQLite backend does: the database itself refuses to rewrite the audit log."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from patroli.storage.sqlite import SQLiteStore, sqlite_path
from patroli.storage.sqlite import search as search_module
from patroli.storage.sqlite.connection import SCHEMA_VERSION
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
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(
        SCHEMA_VERSION
    )
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
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(
        SCHEMA_VERSION
    )
    conn.close()


@pytest.mark.parametrize(
    ("sort", "index"), [("risk", "ads_queue_risk"), ("uncertainty", "ads_queue_uncertainty")]
)
def test_the_review_queue_reads_its_index_instead_of_sorting_every_ad(
    store_url: str, sort: str, index: str
) -> None:
    """bench/web_load.py: over 100k ads the queue page sorted every flagged ad (seconds per page,
    no page at all under 50 users); its own index makes it a read of 25 index entries."""
    store = SQLiteStore(store_url)
    store.close()
    conn = sqlite3.connect(sqlite_path(store_url))
    key = "COALESCE(ads.risk, -1) DESC" if sort == "risk" else "ABS(COALESCE(ads.risk_margin, 1))"
    where = "ads.flagged IN (?) AND ads.status IN (?)"
    sql = (
        f"EXPLAIN QUERY PLAN SELECT ads.* FROM ads WHERE {where} ORDER BY {key}, ads.ad_id LIMIT 25"  # noqa: S608 - literals only
    )
    plan = " ".join(str(row[-1]) for row in conn.execute(sql, (1, "new")))
    conn.close()
    assert f"USING INDEX {index}" in plan
    assert "TEMP B-TREE" not in plan


def _search_steps(store_url: str, count: int, query: str) -> int:
    """SQLite VM steps (in thousands) of one search with facets that matches all ``count`` ads."""
    store = SQLiteStore(store_url)
    store.upsert_ads(
        [
            record(
                f"ad{i:05d}", native_id=f"n{i}", content_hash=f"h{i}", phones=[f"+6281255{i:05d}"]
            )
            for i in range(count)
        ]
    )
    steps = 0

    def count_steps() -> int:
        nonlocal steps
        steps += 1
        return 0

    with store.db.read() as conn:
        conn.set_progress_handler(count_steps, 1000)
    result = store.search(query, facets=True, sort="risk")
    store.close()
    assert result.total == count
    assert result.facets["country"] == {"KH": count}
    return steps


@pytest.mark.parametrize("query", ["gaji", "gaji country:KH"])
def test_a_common_word_costs_in_proportion_to_its_matches_not_their_square(
    tmp_path: Path, query: str
) -> None:
    """bench/web_load.py over 100k ads: a search for a word most ads share never answered (the
    country facet probed the match list once per country row of the store), and a word with an
    entity filter took five minutes (every pair of the two lists probed)."""
    small = _search_steps(f"sqlite:///{tmp_path / 'small.db'}", 400, query)
    large = _search_steps(f"sqlite:///{tmp_path / 'large.db'}", 800, query)
    assert large < 3 * small, (small, large)


def test_a_long_read_holds_up_no_other_reader_and_keeps_its_snapshot(store_url: str) -> None:
    """bench/web_load.py: with one shared connection under one lock, every page waited for the
    slowest search in progress; each thread now reads on its own connection, from a snapshot."""
    store = SQLiteStore(store_url)
    store.upsert_ads([record("ad1")])
    reading, release, seen = threading.Event(), threading.Event(), []

    def long_read() -> None:
        with store.db.read() as conn:
            seen.append(conn.execute("SELECT COUNT(*) FROM ads").fetchone()[0])
            reading.set()
            release.wait(30)
            seen.append(conn.execute("SELECT COUNT(*) FROM ads").fetchone()[0])

    reader = threading.Thread(target=long_read)
    reader.start()
    assert reading.wait(30)
    other = threading.Thread(target=lambda: seen.append(store.get_ad("ad1")["ad_id"]))
    other.start()
    other.join(10)
    finished = not other.is_alive()
    store.upsert_ads([record("ad2", native_id="n2", content_hash="h2")])  # committed meanwhile
    release.set()
    reader.join(30)
    other.join(30)
    assert finished, "a read waited for another thread's read to end"
    assert seen == [1, "ad1", 1]  # the long read kept its snapshot
    assert store.count() == 2
    with store.db.write() as conn:  # a read inside a write sees the write's own rows
        conn.execute("UPDATE ads SET title = 'diubah' WHERE ad_id = 'ad1'")
        assert store.get_ad("ad1")["title"] == "diubah"
    store.close()


def _related_steps(store_url: str, count: int) -> int:
    """SQLite VM steps (in thousands) of the related ads of one of ``count`` ads sharing words."""
    store = SQLiteStore(store_url)
    store.upsert_ads(
        [
            record(
                f"ad{i:05d}",
                native_id=f"n{i}",
                content_hash=f"h{i}",
                telegram=[],
                phones=[f"+6281255{i:05d}"],
            )
            for i in range(count)
        ]
    )
    steps = 0

    def count_steps() -> int:
        nonlocal steps
        steps += 1
        return 0

    with store.db.read() as conn:
        conn.set_progress_handler(count_steps, 1000)
    related = store.related("ad00000", limit=20)
    store.close()
    assert len(related) == 20
    assert {r["via"][0] for r in related} == {"text"}
    return steps


def test_related_by_text_ranks_a_bounded_window_of_ads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench/web_load.py: every ad page ranked all the ads sharing one of its words (most of a
    large store); it ranks the latest SIMILAR_WINDOW of them, so its work stops growing."""
    monkeypatch.setattr(search_module, "SIMILAR_WINDOW", 100)
    small = _related_steps(f"sqlite:///{tmp_path / 'small.db'}", 400)
    large = _related_steps(f"sqlite:///{tmp_path / 'large.db'}", 1600)
    assert large < 1.5 * small, (small, large)
