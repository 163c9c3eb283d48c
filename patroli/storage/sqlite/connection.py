"""The one SQLite connection every role of the embedded store shares: the file, its schema, a lock.

WAL lets the review web app read while a crawl writes. Raw evidence goes to ``evidence``, one row
per distinct version of an ad (with the pointer to its WARC record), and is never deleted; the
audit log is append-only, enforced by the database itself. An older file is migrated in place when
opened: missing columns are added (``_add_missing_columns``), nothing is dropped or rewritten.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from patroli.storage.base import StoreError, StoreUnavailable
from patroli.storage.schema import WARC_POINTER_FIELDS, sqlite_columns
from patroli.storage.sqlite.tables import LINK_DDL, REGISTER_DDL

# 2: leads, register and link columns; links, clusters and register tables (issue 15)
# 3: WARC pointers on evidence, hold/capture on ads, cases, takedowns (issue 16)
SCHEMA_VERSION = 3

_DDL = [
    f"CREATE TABLE IF NOT EXISTS ads ({', '.join(sqlite_columns())})",
    "CREATE INDEX IF NOT EXISTS ads_source ON ads(source, native_id)",
    "CREATE INDEX IF NOT EXISTS ads_risk ON ads(risk)",
    "CREATE INDEX IF NOT EXISTS ads_status ON ads(status, risk)",
    "CREATE INDEX IF NOT EXISTS ads_first_seen ON ads(first_seen)",
    """CREATE TABLE IF NOT EXISTS ad_entities (
        kind TEXT NOT NULL, value TEXT NOT NULL, ad_id TEXT NOT NULL,
        PRIMARY KEY (kind, value, ad_id)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS ad_entities_ad ON ad_entities(ad_id)",
    """CREATE VIRTUAL TABLE IF NOT EXISTS ads_fts USING fts5(
        title, text, content='ads', content_rowid='seq', tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER IF NOT EXISTS ads_fts_insert AFTER INSERT ON ads BEGIN
        INSERT INTO ads_fts(rowid, title, text) VALUES (new.seq, new.title, new.text); END""",
    """CREATE TRIGGER IF NOT EXISTS ads_fts_delete AFTER DELETE ON ads BEGIN
        INSERT INTO ads_fts(ads_fts, rowid, title, text) VALUES ('delete', old.seq, old.title, old.text);
        END""",
    """CREATE TRIGGER IF NOT EXISTS ads_fts_update AFTER UPDATE OF title, text ON ads BEGIN
        INSERT INTO ads_fts(ads_fts, rowid, title, text) VALUES ('delete', old.seq, old.title, old.text);
        INSERT INTO ads_fts(rowid, title, text) VALUES (new.seq, new.title, new.text); END""",
    """CREATE TABLE IF NOT EXISTS evidence (
        ad_id TEXT NOT NULL, content_hash TEXT NOT NULL, crawled_at TEXT NOT NULL,
        url TEXT, html TEXT, warc_file TEXT, warc_offset INTEGER, warc_length INTEGER,
        warc_record_id TEXT, warc_digest TEXT, PRIMARY KEY (ad_id, content_hash))""",
    """CREATE TABLE IF NOT EXISTS reviews (
        id INTEGER PRIMARY KEY, ad_id TEXT NOT NULL, decision TEXT NOT NULL, note TEXT,
        reviewer TEXT NOT NULL, at TEXT NOT NULL, previous_status TEXT, version INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS reviews_ad ON reviews(ad_id)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    """CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        target TEXT, before TEXT, after TEXT, detail TEXT)""",
    "CREATE INDEX IF NOT EXISTS audit_target ON audit(target)",
    # The audit log is append-only, enforced by the database itself.
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN
        SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN
        SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TABLE IF NOT EXISTS users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1, failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT, created_at TEXT NOT NULL, extra TEXT)""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY, source TEXT NOT NULL, started_at TEXT, finished_at TEXT,
        status TEXT, pages INTEGER, items INTEGER, new INTEGER, flagged INTEGER, errors INTEGER,
        degraded_pages INTEGER, notes TEXT, stats TEXT)""",
    "CREATE INDEX IF NOT EXISTS runs_source ON runs(source, started_at)",
    """CREATE TABLE IF NOT EXISTS saved_searches (
        id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, query TEXT NOT NULL,
        channel TEXT, created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS cases (
        id TEXT PRIMARY KEY, title TEXT NOT NULL, description TEXT, status TEXT NOT NULL,
        assignee TEXT, province TEXT, routing TEXT, created_by TEXT, created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS case_items (
        id TEXT PRIMARY KEY, case_id TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
        note TEXT, added_by TEXT, added_at TEXT NOT NULL, UNIQUE (case_id, kind, value))""",
    "CREATE INDEX IF NOT EXISTS case_items_value ON case_items(kind, value)",
    """CREATE TABLE IF NOT EXISTS case_notes (
        id TEXT PRIMARY KEY, case_id TEXT NOT NULL, author TEXT NOT NULL, at TEXT NOT NULL,
        text TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS case_notes_case ON case_notes(case_id, at)",
    """CREATE TABLE IF NOT EXISTS takedowns (
        id TEXT PRIMARY KEY, ad_id TEXT NOT NULL, case_id TEXT, channel TEXT NOT NULL,
        platform TEXT, url TEXT, batch_id TEXT, letter_number TEXT, agency TEXT, urgent INTEGER,
        status TEXT NOT NULL, reason TEXT, submitted_by TEXT, submitted_at TEXT NOT NULL,
        updated_at TEXT, removed_at TEXT, checks TEXT)""",
    "CREATE INDEX IF NOT EXISTS takedowns_ad ON takedowns(ad_id)",
]
# Columns later versions added to tables that an older file already has: added in place.
_ADDED_COLUMNS = {"evidence": {n: "INTEGER" if n in ("warc_offset", "warc_length") else "TEXT"
                               for n in WARC_POINTER_FIELDS}}  # fmt: skip


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Migrate an older file in place before the DDL runs (its indices may name new columns): add
    the columns each existing table lacks (``ALTER TABLE ADD COLUMN`` keeps every row; the new
    columns start empty). A table not there yet is left to ``CREATE TABLE``."""
    wanted = {"ads": {c.split()[0]: " ".join(c.split()[1:2]) for c in sqlite_columns()[1:]},
              **_ADDED_COLUMNS}  # fmt: skip
    for table, columns in wanted.items():
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if not have:
            continue
        for name, sql_type in columns.items():
            if name not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")


def sqlite_path(url: str) -> Path:
    """``sqlite:///var/patroli.db`` is relative to the working directory, ``sqlite:////x.db`` absolute."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    if url.startswith("sqlite://"):
        raise StoreUnavailable(
            f"{url}: write sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    return Path(url)


class Database:
    """The file, opened once; ``write()`` is a transaction, ``read()`` a consistent read, both under
    one lock, because the crawl's worker threads and the web app's share the connection."""

    def __init__(self, url: str) -> None:
        self.path = sqlite_path(url)
        self._lock = threading.RLock()
        try:
            if str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
            self._conn.row_factory = sqlite3.Row
            self._initialize()
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"cannot open SQLite store at {self.path}: {exc}") from exc

    def _initialize(self) -> None:
        """Switch to WAL and create the schema; several crawlers may open a new file at once."""
        for attempt in range(50):
            try:
                if self._conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    self._conn.execute("PRAGMA journal_mode=WAL")  # persistent in the file
                self._conn.execute("PRAGMA synchronous=NORMAL")
                with self._conn:
                    self._conn.execute("BEGIN IMMEDIATE")  # waits for the lock, unlike DDL alone
                    _add_missing_columns(self._conn)
                    for statement in [*_DDL, *LINK_DDL, *REGISTER_DDL]:
                        self._conn.execute(statement)
                    self._conn.execute(
                        "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),),
                    )
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == 49:
                    raise
                time.sleep(0.1)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back (as ``StoreError``) on error."""
        try:
            with self._lock, self._conn:
                yield self._conn
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from exc

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()
