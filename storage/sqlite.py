"""The embedded store: one SQLite file in WAL mode, with FTS5 full-text search.

WAL lets the review web app read while a crawl writes. Lists are stored as JSON text and copied into
``ad_entities`` so that phone, handle and country look-ups use an index. Raw evidence goes to
``evidence``, one row per distinct version of an ad, and is never deleted.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage.base import (
    AdNotFound,
    Record,
    ReviewConflict,
    SearchResult,
    SortOrder,
    Store,
    StoreError,
    StoreUnavailable,
    WriteResult,
)
from storage.query import ENTITY_FILTERS, FILTER_FIELDS, Query, parse_query
from storage.schema import (
    CONTENT_FIELDS,
    DECISIONS,
    ENTITY_FIELDS,
    FIELDS,
    sqlite_columns,
)

SCHEMA_VERSION = 1
_JSON_TYPES = {"keywords", "json"}
_ENTITY_KIND_BY_FILTER = {
    "phone": "phone",
    "handle": "handle",
    "email": "email",
    "country": "country",
}
_FILTER_BY_FIELD = {v: k for k, v in FILTER_FIELDS.items()}
# Highlight markers: control characters that never occur in stored text, so a renderer can escape
# the hostile text first and only then turn the markers into <mark> tags.
MARK_START, MARK_END = "\x02", "\x03"

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
        url TEXT, html TEXT, PRIMARY KEY (ad_id, content_hash))""",
    """CREATE TABLE IF NOT EXISTS reviews (
        id INTEGER PRIMARY KEY, ad_id TEXT NOT NULL, decision TEXT NOT NULL, note TEXT,
        reviewer TEXT NOT NULL, at TEXT NOT NULL, previous_status TEXT, version INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS reviews_ad ON reviews(ad_id)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def sqlite_path(url: str) -> Path:
    """``sqlite:///var/patroli.db`` is relative to the working directory, ``sqlite:////x.db`` absolute."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    if url.startswith("sqlite://"):
        raise StoreUnavailable(
            f"{url}: write sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    return Path(url)


def _encode(name: str, value: Any) -> Any:
    field_type = _TYPES[name]
    if field_type in _JSON_TYPES:
        return json.dumps(
            value if value is not None else ([] if field_type == "keywords" else {}),
            ensure_ascii=False,
            default=str,
        )
    if field_type == "bool":
        return int(bool(value))
    if field_type == "date" and isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


_TYPES = {f.name: f.type for f in FIELDS}


def _decode_row(row: sqlite3.Row) -> Record:
    record: Record = {}
    for key in row.keys():  # noqa: SIM118 - sqlite3.Row has keys() but no __iter__ over names
        if key == "seq":
            continue
        value = row[key]
        field_type = _TYPES.get(key)
        if field_type in _JSON_TYPES and isinstance(value, str):
            value = json.loads(value)
        elif field_type == "bool" and value is not None:
            value = bool(value)
        record[key] = value
    return record


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class SQLiteStore(Store):
    def __init__(self, url: str) -> None:
        self.url = url
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
                    for statement in _DDL:
                        self._conn.execute(statement)
                    self._conn.execute(
                        "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),),
                    )
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == 49:
                    raise
                time.sleep(0.1)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._lock, self._conn:
                yield self._conn
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from exc

    # --- writes ---------------------------------------------------------------------------

    def upsert_ads(self, records: Sequence[Mapping[str, Any]]) -> WriteResult:
        result = WriteResult()
        if not records:
            return result
        # The last copy wins if a batch holds the same ad twice.
        by_id = {r["ad_id"]: r for r in records}
        with self._tx() as conn:
            known = self._known_hashes(conn, list(by_id))
            for ad_id, record in by_id.items():
                seen_at = _encode("last_seen", record.get("crawled_at")) or _now()
                if ad_id not in known:
                    self._insert(conn, record, seen_at)
                    result.new += 1
                    result.new_ids.append(ad_id)
                elif known[ad_id] == record.get("content_hash") and record.get("content_hash"):
                    conn.execute(
                        "UPDATE ads SET last_seen = ?, gone_at = NULL, crawled_at = ?, risk = ?, "
                        "risk_margin = ?, flagged = ?, reasons = ?, model_version = ? WHERE ad_id = ?",
                        (seen_at, seen_at, record.get("risk"), record.get("risk_margin"),
                         _encode("flagged", record.get("flagged")),
                         _encode("reasons", record.get("reasons")), record.get("model_version"), ad_id),
                    )  # fmt: skip
                    result.updated += 1
                else:
                    assignments = ", ".join(f"{name} = ?" for name in CONTENT_FIELDS)
                    conn.execute(
                        f"UPDATE ads SET {assignments}, last_seen = ?, gone_at = NULL WHERE ad_id = ?",
                        [_encode(n, record.get(n)) for n in CONTENT_FIELDS] + [seen_at, ad_id],
                    )
                    self._replace_entities(conn, ad_id, record)
                    result.updated += 1
                self._keep_evidence(conn, record, seen_at)
        return result

    @staticmethod
    def _known_hashes(conn: sqlite3.Connection, ad_ids: list[str]) -> dict[str, str | None]:
        known: dict[str, str | None] = {}
        for start in range(0, len(ad_ids), 500):
            chunk = ad_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(
                f"SELECT ad_id, content_hash FROM ads WHERE ad_id IN ({marks})", chunk
            ):
                known[row[0]] = row[1]
        return known

    def _insert(self, conn: sqlite3.Connection, record: Mapping[str, Any], seen_at: str) -> None:
        names = ["ad_id", *CONTENT_FIELDS, "first_seen", "last_seen", "status", "version"]
        values = [
            record["ad_id"],
            *(_encode(n, record.get(n)) for n in CONTENT_FIELDS),
            seen_at,
            seen_at,
            "new",
            1,
        ]
        marks = ",".join("?" * len(names))
        conn.execute(f"INSERT INTO ads ({', '.join(names)}) VALUES ({marks})", values)
        self._replace_entities(conn, record["ad_id"], record)

    @staticmethod
    def _replace_entities(conn: sqlite3.Connection, ad_id: str, record: Mapping[str, Any]) -> None:
        conn.execute("DELETE FROM ad_entities WHERE ad_id = ?", (ad_id,))
        rows = {
            (f.entity, value, ad_id) for f in ENTITY_FIELDS for value in record.get(f.name) or ()
        }
        conn.executemany(
            "INSERT OR IGNORE INTO ad_entities(kind, value, ad_id) VALUES (?, ?, ?)", rows
        )

    @staticmethod
    def _keep_evidence(conn: sqlite3.Connection, record: Mapping[str, Any], seen_at: str) -> None:
        if not record.get("html"):
            return
        conn.execute(
            "INSERT OR IGNORE INTO evidence(ad_id, content_hash, crawled_at, url, html) VALUES (?,?,?,?,?)",
            (
                record["ad_id"],
                record.get("content_hash") or "",
                seen_at,
                record.get("url"),
                record["html"],
            ),
        )

    def review(
        self,
        ad_id: str,
        decision: str,
        *,
        reviewer: str,
        note: str = "",
        expected_version: int | None = None,
    ) -> Record:
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
        with self._tx() as conn:
            row = conn.execute(
                "SELECT status, version FROM ads WHERE ad_id = ?", (ad_id,)
            ).fetchone()
            if row is None:
                raise AdNotFound(ad_id)
            if expected_version is not None and row["version"] != expected_version:
                raise ReviewConflict(ad_id, expected_version, row["version"])
            at = _now()
            cursor = conn.execute(
                "UPDATE ads SET status = ?, reviewed_by = ?, reviewed_at = ?, review_note = ?, "
                "version = version + 1 WHERE ad_id = ? AND version = ?",
                (decision, reviewer, at, note, ad_id, row["version"]),
            )
            if cursor.rowcount != 1:  # changed between our read and write (another process)
                current = conn.execute(
                    "SELECT version FROM ads WHERE ad_id = ?", (ad_id,)
                ).fetchone()
                raise ReviewConflict(ad_id, row["version"], current["version"])
            conn.execute(
                "INSERT INTO reviews(ad_id, decision, note, reviewer, at, previous_status, version) "
                "VALUES (?,?,?,?,?,?,?)",
                (ad_id, decision, note, reviewer, at, row["status"], row["version"] + 1),
            )
        return self.get_ad(ad_id)

    # --- reads ----------------------------------------------------------------------------

    def get_ad(self, ad_id: str, *, with_evidence: bool = False) -> Record:
        with self._lock:
            row = self._conn.execute("SELECT * FROM ads WHERE ad_id = ?", (ad_id,)).fetchone()
            if row is None:
                raise AdNotFound(ad_id)
            record = _decode_row(row)
            if with_evidence:
                record["evidence"] = [
                    dict(r)
                    for r in self._conn.execute(
                        "SELECT content_hash, crawled_at, url, html FROM evidence WHERE ad_id = ? "
                        "ORDER BY crawled_at",
                        (ad_id,),
                    )
                ]
        return record

    def review_history(self, ad_id: str) -> list[Record]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT ad_id, decision, note, reviewer, at, previous_status, version FROM reviews "
                "WHERE ad_id = ? ORDER BY id",
                (ad_id,),
            ).fetchall()
        return [dict(r) for r in rows]

    def _where(self, query: Query) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if query.terms:
            clauses.append("ads.seq IN (SELECT rowid FROM ads_fts WHERE ads_fts MATCH ?)")
            params.append(" ".join(_fts_phrase(t) for t in query.terms))
        for term in query.excluded:
            clauses.append("ads.seq NOT IN (SELECT rowid FROM ads_fts WHERE ads_fts MATCH ?)")
            params.append(_fts_phrase(term))
        for flt in query.filters:
            marks = ",".join("?" * len(flt.values))
            name = _FILTER_BY_FIELD.get(flt.field, flt.field)
            if name in ENTITY_FILTERS:
                sub = f"SELECT ad_id FROM ad_entities WHERE kind = ? AND value IN ({marks})"
                clauses.append(f"ads.ad_id {'NOT IN' if flt.negate else 'IN'} ({sub})")
                params += [_ENTITY_KIND_BY_FILTER[name], *flt.values]
            else:
                values: list[Any] = (
                    [int(v) for v in flt.values] if flt.field == "flagged" else list(flt.values)
                )
                clause = f"ads.{flt.field} IN ({marks})"
                clauses.append(f"NOT ({clause})" if flt.negate else clause)
                params += values
        for rng in query.ranges:
            clauses.append(f"ads.{rng.field} {rng.op} ?")
            params.append(rng.value)
        return (" AND ".join(clauses) or "1"), params

    def search(
        self,
        query: str = "",
        *,
        limit: int = 20,
        offset: int = 0,
        sort: SortOrder = "relevance",
        facets: bool = False,
    ) -> SearchResult:
        parsed = parse_query(query)
        where, params = self._where(parsed)
        order = {
            "risk": "ads.risk DESC NULLS LAST, ads.ad_id",
            "date": "COALESCE(ads.posted_at, ads.first_seen) DESC, ads.ad_id",
            "uncertainty": "ABS(COALESCE(ads.risk_margin, 1)) ASC, ads.ad_id",
            "relevance": "ads.risk DESC NULLS LAST, ads.ad_id",
        }[sort]
        select = "SELECT ads.*"
        join = ""
        select_params: list[Any] = []
        if parsed.terms:
            # snippet() needs the FTS row of each hit; bm25 orders by relevance when asked.
            select += f", snippet(ads_fts, 1, '{MARK_START}', '{MARK_END}', '…', 24) AS highlight"
            join = "JOIN ads_fts ON ads_fts.rowid = ads.seq AND ads_fts MATCH ?"
            select_params.append(" ".join(_fts_phrase(t) for t in parsed.terms))
            if sort == "relevance":
                order = "bm25(ads_fts), ads.ad_id"
        sql = f"{select} FROM ads {join} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
        with self._lock:
            try:
                rows = self._conn.execute(sql, [*select_params, *params, limit, offset]).fetchall()
                total = self._conn.execute(
                    f"SELECT COUNT(*) FROM ads WHERE {where}", params
                ).fetchone()[0]
                facet_counts = self._facets(where, params) if facets else {}
            except sqlite3.OperationalError as exc:
                raise ValueError(f"cannot run query {query!r}: {exc}") from exc
        return SearchResult(total=total, hits=[_decode_row(r) for r in rows], facets=facet_counts)

    def _facets(self, where: str, params: list[Any]) -> dict[str, dict[str, int]]:
        def grouped(sql: str) -> dict[str, int]:
            return {
                str(k): n for k, n in self._conn.execute(sql, params).fetchall() if k is not None
            }

        return {
            "source": grouped(
                f"SELECT source, COUNT(*) FROM ads WHERE {where} GROUP BY 1 ORDER BY 2 DESC"
            ),
            "status": grouped(
                f"SELECT status, COUNT(*) FROM ads WHERE {where} GROUP BY 1 ORDER BY 2 DESC"
            ),
            "country": grouped(
                "SELECT e.value, COUNT(*) FROM ad_entities e JOIN ads ON ads.ad_id = e.ad_id "
                f"WHERE e.kind = 'country' AND {where} GROUP BY 1 ORDER BY 2 DESC"
            ),
            "day": grouped(
                "SELECT substr(COALESCE(ads.posted_at, ads.first_seen), 1, 10), COUNT(*) FROM ads "
                f"WHERE {where} GROUP BY 1 ORDER BY 1 DESC"
            ),
        }

    def count(self, query: str = "") -> int:
        where, params = self._where(parse_query(query))
        with self._lock:
            return int(
                self._conn.execute(f"SELECT COUNT(*) FROM ads WHERE {where}", params).fetchone()[0]
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
