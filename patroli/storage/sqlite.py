"""The embedded store: one SQLite file in WAL mode, with FTS5 full-text search.

WAL lets the review web app read while a crawl writes. Lists are stored as JSON text and copied into
``ad_entities`` so that phone, handle and country look-ups use an index. Raw evidence goes to
``evidence``, one row per distinct version of an ad, and is never deleted.
"""

from __future__ import annotations

import json
import re
import sqlite3
import statistics
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from patroli.storage.base import (
    MARK_END,
    MARK_START,
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
from patroli.storage.query import ENTITY_FILTERS, FILTER_FIELDS, Query, parse_query
from patroli.storage.schema import (
    CONTENT_FIELDS,
    DECISIONS,
    ENTITY_FIELDS,
    FIELDS,
    sqlite_columns,
)
from patroli.text.stopwords import STOPWORDS

SCHEMA_VERSION = 1
_JSON_TYPES = {"keywords", "json"}
_ENTITY_KIND_BY_FILTER = {
    "phone": "phone",
    "handle": "handle",
    "email": "email",
    "country": "country",
}
_FILTER_BY_FIELD = {v: k for k, v in FILTER_FIELDS.items()}

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
]
_USER_FIELDS = (
    "name",
    "role",
    "password_hash",
    "active",
    "failed_logins",
    "locked_until",
    "created_at",
    "extra",
)
_RUN_FIELDS = ("run_id", "source", "started_at", "finished_at", "status", "pages", "items", "new", "flagged",
               "errors", "degraded_pages", "notes", "stats")  # fmt: skip


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
            self._audit(conn, reviewer, "review", ad_id, row["status"], decision, note, at)
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

    # Sort keys for keyset ("search after") pagination: (SQL expression, descending?).
    _SORT_KEYS: ClassVar[dict[str, tuple[str, bool]]] = {
        "risk": ("COALESCE(ads.risk, -1)", True),
        "relevance": ("COALESCE(ads.risk, -1)", True),
        "date": ("COALESCE(ads.posted_at, ads.first_seen)", True),
        "uncertainty": ("ABS(COALESCE(ads.risk_margin, 1))", False),
    }

    def search(
        self,
        query: str = "",
        *,
        limit: int = 20,
        offset: int = 0,
        sort: SortOrder = "relevance",
        facets: bool = False,
        after: list[Any] | None = None,
    ) -> SearchResult:
        parsed = parse_query(query)
        where, params = self._where(parsed)
        key, descending = self._SORT_KEYS[sort]
        order = f"{key} {'DESC' if descending else 'ASC'}, ads.ad_id"
        select = f"SELECT ads.*, {key} AS sort_key"
        join = ""
        select_params: list[Any] = []
        by_relevance = bool(parsed.terms) and sort == "relevance"
        if parsed.terms:
            # snippet() needs the FTS row of each hit; bm25 orders by relevance when asked.
            select += f", snippet(ads_fts, 1, '{MARK_START}', '{MARK_END}', '…', 24) AS highlight"
            join = "JOIN ads_fts ON ads_fts.rowid = ads.seq AND ads_fts MATCH ?"
            select_params.append(" ".join(_fts_phrase(t) for t in parsed.terms))
            if by_relevance:
                order = "bm25(ads_fts), ads.ad_id"
        page_where, page_params = where, list(params)
        if after:
            if by_relevance or after[0] == "offset":
                offset = int(after[-1])  # BM25 scores are not stable keys: continue by position
            else:
                value, last_id = after
                comparison = "<" if descending else ">"
                page_where += f" AND ({key} {comparison} ? OR ({key} = ? AND ads.ad_id > ?))"
                page_params += [value, value, last_id]
                offset = 0
        sql = f"{select} FROM ads {join} WHERE {page_where} ORDER BY {order} LIMIT ? OFFSET ?"
        with self._lock:
            try:
                rows = self._conn.execute(
                    sql, [*select_params, *page_params, limit, offset]
                ).fetchall()
                total = self._conn.execute(
                    f"SELECT COUNT(*) FROM ads WHERE {where}", params
                ).fetchone()[0]
                facet_counts = self._facets(where, params) if facets else {}
            except sqlite3.OperationalError as exc:
                raise ValueError(f"cannot run query {query!r}: {exc}") from exc
        hits = [_decode_row(r) for r in rows]
        next_after: list[Any] | None = None
        if len(rows) == limit:
            if by_relevance:
                next_after = ["offset", offset + limit]
            else:
                next_after = [rows[-1]["sort_key"], rows[-1]["ad_id"]]
        for hit in hits:
            hit.pop("sort_key", None)
        return SearchResult(total=total, hits=hits, facets=facet_counts, next_after=next_after)

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

    # --- investigation ------------------------------------------------------------------

    def related(self, ad_id: str, *, limit: int = 20) -> list[Record]:
        ad = self.get_ad(ad_id)
        with self._lock:
            rows = self._conn.execute(
                "SELECT other.ad_id, group_concat(DISTINCT other.kind || ':' || other.value) AS via "
                "FROM ad_entities mine JOIN ad_entities other ON other.kind = mine.kind AND other.value = mine.value "
                "WHERE mine.ad_id = ? AND other.ad_id != ? AND mine.kind IN ('phone', 'handle', 'email') "
                "GROUP BY other.ad_id ORDER BY COUNT(*) DESC, other.ad_id LIMIT ?",
                (ad_id, ad_id, limit),
            ).fetchall()
            related = []
            for row in rows:
                record = _decode_row(
                    self._conn.execute("SELECT * FROM ads WHERE ad_id = ?", (row[0],)).fetchone()
                )
                record["via"] = sorted(row[1].split(","))
                related.append(record)
            if len(related) < limit:
                seen = {ad_id, *(r["ad_id"] for r in related)}
                for record in self._similar_text(ad, limit - len(related) + len(seen)):
                    if record["ad_id"] not in seen:
                        record["via"] = ["text"]
                        related.append(record)
                        seen.add(record["ad_id"])
        return related[:limit]

    def _similar_text(self, ad: Record, limit: int) -> list[Record]:
        """More-like-this: the ad's most distinctive words, OR-ed, ranked by BM25."""
        words = re.findall(
            r"[^\W\d_]{4,}", f"{ad.get('title') or ''} {ad.get('text') or ''}".lower()
        )
        counts: dict[str, int] = {}
        for word in words:
            if word not in STOPWORDS:
                counts[word] = counts.get(word, 0) + 1
        terms = sorted(counts, key=lambda w: (-counts[w], -len(w)))[:12]
        if not terms:
            return []
        match = " OR ".join(_fts_phrase(t) for t in terms)
        rows = self._conn.execute(
            "SELECT ads.* FROM ads JOIN ads_fts ON ads_fts.rowid = ads.seq AND ads_fts MATCH ? "
            "ORDER BY bm25(ads_fts) LIMIT ?",
            (match, limit),
        ).fetchall()
        return [_decode_row(r) for r in rows]

    def stats(self, *, days: int = 30) -> dict[str, Any]:
        since = (datetime.now(UTC) - timedelta(days=days)).isoformat()
        with self._lock:
            per_day: dict[str, dict[str, Any]] = {}
            for day, crawled, flagged in self._conn.execute(
                "SELECT substr(first_seen, 1, 10), COUNT(*), SUM(flagged) FROM ads WHERE first_seen >= ? GROUP BY 1",
                (since,),
            ):
                per_day[day] = {
                    "day": day,
                    "crawled": crawled,
                    "flagged": flagged or 0,
                    "confirmed": 0,
                }
            for day, confirmed in self._conn.execute(
                "SELECT substr(reviewed_at, 1, 10), COUNT(*) FROM ads WHERE status = 'confirmed' AND reviewed_at >= ? "
                "GROUP BY 1",
                (since,),
            ):
                per_day.setdefault(day, {"day": day, "crawled": 0, "flagged": 0, "confirmed": 0})[
                    "confirmed"
                ] = confirmed
            per_source = {
                row[0]: {"ads": row[1], "flagged": row[2] or 0, "confirmed": row[3] or 0}
                for row in self._conn.execute(
                    "SELECT source, COUNT(*), SUM(flagged), SUM(status = 'confirmed') FROM ads GROUP BY 1 ORDER BY 2 DESC"
                )
            }
            per_country = {
                row[0]: {"ads": row[1], "flagged": row[2] or 0, "confirmed": row[3] or 0}
                for row in self._conn.execute(
                    "SELECT e.value, COUNT(*), SUM(ads.flagged), SUM(ads.status = 'confirmed') FROM ad_entities e "
                    "JOIN ads ON ads.ad_id = e.ad_id WHERE e.kind = 'country' GROUP BY 1 ORDER BY 2 DESC"
                )
            }
            waiting = [r[0] for r in self._conn.execute(
                "SELECT first_seen FROM ads WHERE flagged = 1 AND status = 'new' ORDER BY first_seen")]  # fmt: skip
        now = datetime.now(UTC)
        ages = [
            (now - datetime.fromisoformat(first)).total_seconds() / 86400
            for first in waiting
            if first
        ]
        return {
            "per_day": [per_day[d] for d in sorted(per_day)],
            "per_source": per_source,
            "per_country": per_country,
            "backlog": {
                "count": len(waiting),
                "oldest": waiting[0] if waiting else None,
                "median_age_days": round(statistics.median(ages), 2) if ages else 0.0,
            },
        }

    def labelled_ads(self) -> list[Record]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT ad_id, title, text, source, countries, status, reviewed_at FROM ads "
                "WHERE status IN ('confirmed', 'dismissed') ORDER BY reviewed_at"
            ).fetchall()
        return [_decode_row(r) for r in rows]

    # --- incremental crawling -----------------------------------------------------------

    def known_ads(self, source: str) -> dict[str, Record]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT native_id, ad_id, url, content_hash, last_seen, gone_at, "
                "json_extract(extra, '$.fingerprint') AS fingerprint, json_extract(extra, '$.etag') AS etag "
                "FROM ads WHERE source = ?",
                (source,),
            ).fetchall()
        return {r["native_id"]: dict(r) for r in rows}

    def _update_by_ids(self, sql: str, value: str, ad_ids: Sequence[str]) -> int:
        """Run ``sql`` (with one ``?`` value and ``{marks}`` for the ids) over ids in chunks."""
        changed = 0
        with self._tx() as conn:
            for start in range(0, len(ad_ids), 500):
                chunk = list(ad_ids[start : start + 500])
                changed += conn.execute(
                    sql.format(marks=",".join("?" * len(chunk))), [value, *chunk]
                ).rowcount
        return changed

    def touch_ads(self, ad_ids: Sequence[str], seen_at: str) -> int:
        return self._update_by_ids(
            "UPDATE ads SET last_seen = ?, gone_at = NULL WHERE ad_id IN ({marks})", seen_at, ad_ids
        )

    def mark_gone(self, ad_ids: Sequence[str], gone_at: str) -> int:
        return self._update_by_ids(
            "UPDATE ads SET gone_at = ? WHERE gone_at IS NULL AND ad_id IN ({marks})",
            gone_at,
            ad_ids,
        )

    # --- audit log ----------------------------------------------------------------------

    @staticmethod
    def _audit(conn: sqlite3.Connection, actor: str, action: str, target: str, before: Any, after: Any,
               detail: str, at: str | None = None) -> None:  # fmt: skip
        conn.execute(
            "INSERT INTO audit(at, actor, action, target, before, after, detail) VALUES (?,?,?,?,?,?,?)",
            (at or _now(), actor, action, target, json.dumps(before, ensure_ascii=False, default=str),
             json.dumps(after, ensure_ascii=False, default=str), detail),
        )  # fmt: skip

    def append_audit(self, actor: str, action: str, target: str = "", before: Any = None, after: Any = None,
                     detail: str = "") -> None:  # fmt: skip
        with self._tx() as conn:
            self._audit(conn, actor, action, target, before, after, detail)

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
        with self._lock:
            rows = self._conn.execute(
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

    # --- accounts -----------------------------------------------------------------------

    def put_user(self, user: Mapping[str, Any]) -> None:
        values = {
            "active": True,
            "failed_logins": 0,
            "locked_until": None,
            "created_at": _now(),
            "extra": {},
            **user,
        }
        with self._tx() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO users({', '.join(_USER_FIELDS)}) VALUES ({','.join('?' * len(_USER_FIELDS))})",
                [int(values[k]) if k == "active" else (json.dumps(values[k]) if k == "extra" else values[k])
                 for k in _USER_FIELDS],
            )  # fmt: skip

    def get_user(self, name: str) -> Record | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return _user(row) if row else None

    def list_users(self) -> list[Record]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM users ORDER BY name").fetchall()
        return [_user(r) for r in rows]

    # --- runs and saved searches --------------------------------------------------------

    def record_run(self, run: Mapping[str, Any]) -> None:
        values = [json.dumps(run.get(k) or ([] if k == "notes" else {}), default=str) if k in ("notes", "stats")
                  else run.get(k) for k in _RUN_FIELDS]  # fmt: skip
        with self._tx() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO runs({', '.join(_RUN_FIELDS)}) VALUES ({','.join('?' * len(_RUN_FIELDS))})",
                values,
            )

    def list_runs(self, *, source: str = "", limit: int = 50) -> list[Record]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM runs WHERE (? = '' OR source = ?) ORDER BY started_at DESC LIMIT ?",
                (source, source, limit),
            ).fetchall()
        runs = []
        for row in rows:
            run = dict(row)
            run["notes"], run["stats"] = (
                json.loads(run["notes"] or "[]"),
                json.loads(run["stats"] or "{}"),
            )
            runs.append(run)
        return runs

    def save_search(self, owner: str, name: str, query: str, channel: str = "") -> Record:
        record = {"id": uuid.uuid4().hex[:16], "owner": owner, "name": name, "query": query, "channel": channel,
                  "created_at": _now()}  # fmt: skip
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO saved_searches(id, owner, name, query, channel, created_at) VALUES (?,?,?,?,?,?)",
                tuple(record.values()),
            )
        return record

    def list_saved_searches(self, owner: str = "") -> list[Record]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM saved_searches WHERE (? = '' OR owner = ?) ORDER BY created_at",
                (owner, owner),
            ).fetchall()
        return [dict(r) for r in rows]

    def delete_saved_search(self, search_id: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM saved_searches WHERE id = ?", (search_id,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _user(row: sqlite3.Row) -> Record:
    user = dict(row)
    user["active"] = bool(user["active"])
    user["extra"] = json.loads(user["extra"] or "{}")
    return user
