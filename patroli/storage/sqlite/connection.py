"""The one SQLite connection every role of the embedded store shares: the file, its schema, a lock.

WAL lets the review web app read while a crawl writes. Raw evidence goes to ``evidence``, one row
per distinct version of an ad (with the pointer to its WARC record), and is never deleted; the
audit log is append-only, enforced by the database itself. An older file is migrated in place when
opened: missing columns are added (``_migrate``), nothing is dropped or rewritten.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from patroli.storage.base import StoreError, StoreUnavailable
from patroli.storage.schema import WARC_POINTER_FIELDS, sqlite_columns
from patroli.storage.sqlite.tables import FILL_LINK_IDENTIFIERS, LINK_DDL, REGISTER_DDL

# 2: leads, register and link columns; links, clusters and register tables (issue 15); ads.risky,
#    ads.genre, ads.lang (issue 12); image fields, image text in the FTS index (issue 14)
# 3: WARC pointers on evidence, hold/capture on ads, cases, takedowns (issue 16)
# 4: link_identifiers (the linker's identifier keys, flyer families among them)
SCHEMA_VERSION = 4

_FTS_DDL = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS ads_fts USING fts5(
        title, text, image_text, content='ads', content_rowid='seq',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER IF NOT EXISTS ads_fts_insert AFTER INSERT ON ads BEGIN
        INSERT INTO ads_fts(rowid, title, text, image_text)
        VALUES (new.seq, new.title, new.text, new.image_text); END""",
    """CREATE TRIGGER IF NOT EXISTS ads_fts_delete AFTER DELETE ON ads BEGIN
        INSERT INTO ads_fts(ads_fts, rowid, title, text, image_text)
        VALUES ('delete', old.seq, old.title, old.text, old.image_text); END""",
    """CREATE TRIGGER IF NOT EXISTS ads_fts_update AFTER UPDATE OF title, text, image_text ON ads BEGIN
        INSERT INTO ads_fts(ads_fts, rowid, title, text, image_text)
        VALUES ('delete', old.seq, old.title, old.text, old.image_text);
        INSERT INTO ads_fts(rowid, title, text, image_text)
        VALUES (new.seq, new.title, new.text, new.image_text); END""",
]

_DDL = [
    f"CREATE TABLE IF NOT EXISTS ads ({', '.join(sqlite_columns())})",
    "CREATE INDEX IF NOT EXISTS ads_source ON ads(source, native_id)",
    "CREATE INDEX IF NOT EXISTS ads_risk ON ads(risk)",
    "CREATE INDEX IF NOT EXISTS ads_status ON ads(status, risk)",
    "CREATE INDEX IF NOT EXISTS ads_first_seen ON ads(first_seen)",
    # The review queue (flagged, new) in its two orders, as search() sorts: a page and its count
    # read the index alone instead of sorting every ad (bench/web_load.py: seconds -> milliseconds).
    "CREATE INDEX IF NOT EXISTS ads_queue_risk ON ads(status, flagged, COALESCE(risk, -1) DESC, ad_id)",
    "CREATE INDEX IF NOT EXISTS ads_queue_uncertainty ON ads(status, flagged, ABS(COALESCE(risk_margin, 1)), ad_id)",
    """CREATE TABLE IF NOT EXISTS ad_entities (
        kind TEXT NOT NULL, value TEXT NOT NULL, ad_id TEXT NOT NULL,
        PRIMARY KEY (kind, value, ad_id)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS ad_entities_ad ON ad_entities(ad_id)",
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
    """CREATE TABLE IF NOT EXISTS api_tokens (
        id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, scope TEXT NOT NULL,
        secret_hash TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT, last_used_at TEXT,
        revoked_at TEXT)""",
    "CREATE INDEX IF NOT EXISTS api_tokens_owner ON api_tokens(owner)",
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
_ADDED_COLUMNS = {
    "evidence": {
        n: "INTEGER" if n in ("warc_offset", "warc_length") else "TEXT" for n in WARC_POINTER_FIELDS
    }
}


def _schema_version(conn: sqlite3.Connection) -> int:
    """The schema version a file was last opened with (0: a new file, or one from before versions
    were kept, which has no link tables to fill either)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row and str(row[0]).isdigit() else 0


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a file made by an older patroli up to this schema, in place, keeping every row: add
    the ad columns it lacks (they start empty), and rebuild the full-text index if it lacks a
    column (its triggers with it)."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(ads)")}
    if not have:
        return  # a new file: CREATE TABLE makes every column, and the full-text index its columns
    for column in sqlite_columns():
        if column.split(" ", 1)[0] not in have:
            conn.execute(f"ALTER TABLE ads ADD COLUMN {column}")
    # Other tables' new columns; a table not there yet is made whole by CREATE TABLE.
    for table, columns in _ADDED_COLUMNS.items():
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, sql_type in columns.items():
            if present and name not in present:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")
    fts = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'ads_fts'").fetchone()
    if fts is not None and "image_text" not in fts[0]:
        for trigger in ("ads_fts_insert", "ads_fts_delete", "ads_fts_update"):
            conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        conn.execute("DROP TABLE ads_fts")
        for statement in _FTS_DDL:
            conn.execute(statement)
        conn.execute("INSERT INTO ads_fts(ads_fts) VALUES ('rebuild')")


MODES = ("ro", "rw", "rwc")


def parse_sqlite_url(url: str) -> tuple[Path, str]:
    """The file and the mode of a SQLite store URL: ``sqlite:///relative/path.db`` or
    ``sqlite:////absolute/path.db`` (or a bare path ending in .db), optionally with ``?mode=ro``
    (read only, the store must exist), ``?mode=rw`` (must exist) or ``?mode=rwc`` (the default:
    created when missing). Anything else is refused with ``StoreUnavailable``: a parameter that
    was silently taken for part of the file name would open a new, empty store."""
    if url.startswith("sqlite://") and not url.startswith("sqlite:///"):
        raise StoreUnavailable(
            f"{url}: write sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    location, question, query = url.removeprefix("sqlite:///").partition("?")
    if not location:
        raise StoreUnavailable(f"{url}: the URL names no file")
    mode = "rwc"
    if question:
        try:
            pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=True)
        except ValueError as exc:
            raise StoreUnavailable(f"{url}: cannot read the parameters after '?'") from exc
        for key, value in pairs:
            if key != "mode" or value not in MODES:
                raise StoreUnavailable(
                    f"{url}: unknown parameter {key}={value}; a SQLite store URL takes only "
                    "?mode=ro (read only), ?mode=rw or ?mode=rwc"
                )
            mode = value
    return Path(location), mode


def sqlite_path(url: str) -> Path:
    """``sqlite:///var/patroli.db`` is relative to the working directory, ``sqlite:////x.db`` absolute."""
    return parse_sqlite_url(url)[0]


class Database:
    """The file; ``write()`` is a transaction on the one writing connection, under a lock, because
    the crawl's worker threads and the web app's share it; ``read()`` is a consistent read (a WAL
    snapshot) on the calling thread's own connection, so one long search does not make every
    other reader wait (bench/web_load.py). Reads inside a ``write()`` use the writing connection.

    ``create=False`` (and ``?mode=rw``/``?mode=ro``) opens only an existing patroli store: no file
    and no directory is made; ``?mode=ro`` opens it read only (every write is a ``StoreError``)."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.path, mode = parse_sqlite_url(url)
        if not create and mode == "rwc":
            mode = "rw"
        self.read_only = mode == "ro"
        self._lock = threading.RLock()
        self._local = threading.local()  # this thread's reader and how deep it reads or writes
        self._readers: list[sqlite3.Connection] = []
        memory = str(self.path) == ":memory:"
        self._reader_target = "" if memory else f"{self.path.resolve().as_uri()}?mode=ro"
        if mode != "rwc" and not memory and not self.path.is_file():
            raise StoreUnavailable(f"no store at {self.path} (nothing is created for this command)")
        try:
            if mode == "rwc" and not memory:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            target = str(self.path) if memory else f"{self.path.resolve().as_uri()}?mode={mode}"
            self._conn = sqlite3.connect(
                target, check_same_thread=False, timeout=30, uri=not memory
            )
            self._conn.row_factory = sqlite3.Row
            if mode != "rwc":
                self._check_schema()
            if not self.read_only:
                self._initialize()
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"cannot open SQLite store at {self.path}: {exc}") from exc

    def _check_schema(self) -> None:
        """An existing file opened without creating must be a patroli store already."""
        try:
            found = self._conn.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise StoreUnavailable(f"{self.path} is not a patroli store ({exc})") from exc
        if found is None:
            self._conn.close()
            raise StoreUnavailable(f"{self.path} is not a patroli store (no schema version)")

    def _initialize(self) -> None:
        """Switch to WAL and create the schema; several crawlers may open a new file at once."""
        for attempt in range(50):
            try:
                if self._conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    self._conn.execute("PRAGMA journal_mode=WAL")  # persistent in the file
                self._conn.execute("PRAGMA synchronous=NORMAL")
                with self._conn:
                    self._conn.execute("BEGIN IMMEDIATE")  # waits for the lock, unlike DDL alone
                    before = _schema_version(self._conn)
                    _migrate(self._conn)  # first: the indexes below may use columns it adds
                    for statement in [*_DDL, *_FTS_DDL, *LINK_DDL, *REGISTER_DDL]:
                        self._conn.execute(statement)
                    if 0 < before < 4:
                        self._conn.execute(FILL_LINK_IDENTIFIERS)
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
        local = self._local
        try:
            with self._lock, self._conn:
                local.writing = getattr(local, "writing", 0) + 1
                try:
                    yield self._conn
                finally:
                    local.writing -= 1
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from exc

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A snapshot on this thread's reader (an in-memory store has only the shared connection)."""
        local = self._local
        writing: int = getattr(local, "writing", 0)
        if writing or not self._reader_target:
            with self._lock:
                yield self._conn
            return
        reader: sqlite3.Connection | None = getattr(local, "reader", None)
        if reader is None:
            reader = self._open_reader()
            local.reader, local.reading = reader, 0
        if local.reading:  # a read inside a read: the same snapshot
            yield reader
            return
        local.reading = 1
        reader.execute("BEGIN")
        try:
            yield reader
        finally:
            local.reading = 0
            reader.execute("ROLLBACK")  # nothing to keep: it only read

    def _open_reader(self) -> sqlite3.Connection:
        try:
            reader = sqlite3.connect(
                self._reader_target, check_same_thread=False, timeout=30, uri=True
            )
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open SQLite store at {self.path}: {exc}") from exc
        reader.row_factory = sqlite3.Row
        with self._lock:
            self._readers.append(reader)
        return reader

    def close(self) -> None:
        with self._lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            self._conn.close()
