"""Storing and reading ads in SQLite (the writing half of the ``AdStore`` role).

Lists are stored as JSON text and copied into ``ad_entities`` so that phone, handle and country
look-ups use an index. Every distinct version of an ad's HTML is kept in ``evidence``, with the
pointer to the WARC record of the response it was read from (the record's ``warc``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from patroli.storage.base import AdNotFound, Record, WriteResult
from patroli.storage.schema import (
    CONTENT_FIELDS,
    ENTITY_FIELDS,
    EVIDENCE_FIELDS,
    WARC_POINTER_FIELDS,
    now,
    warc_pointer,
)
from patroli.storage.sqlite.connection import Database
from patroli.storage.sqlite.rows import decode_row, encode


def read_ad(db: Database, ad_id: str, *, with_evidence: bool = False) -> Record:
    """One ad (with its kept pages when asked); raise ``AdNotFound``."""
    with db.read() as conn:
        row = conn.execute("SELECT * FROM ads WHERE ad_id = ?", (ad_id,)).fetchone()
        if row is None:
            raise AdNotFound(ad_id)
        record = decode_row(row)
        if with_evidence:
            record["evidence"] = [
                dict(r)
                for r in conn.execute(
                    f"SELECT {', '.join(EVIDENCE_FIELDS)} FROM evidence WHERE ad_id = ? "
                    "ORDER BY crawled_at",
                    (ad_id,),
                )
            ]
    return record


class SQLiteAds:
    db: Database

    def upsert_ads(self, records: Sequence[Mapping[str, Any]]) -> WriteResult:
        result = WriteResult()
        if not records:
            return result
        # The last copy wins if a batch holds the same ad twice.
        by_id = {r["ad_id"]: r for r in records}
        with self.db.write() as conn:
            known = _known_hashes(conn, list(by_id))
            for ad_id, record in by_id.items():
                seen_at = encode("last_seen", record.get("crawled_at")) or now()
                if ad_id not in known:
                    _insert(conn, record, seen_at)
                    result.new += 1
                    result.new_ids.append(ad_id)
                elif known[ad_id] == record.get("content_hash") and record.get("content_hash"):
                    conn.execute(
                        "UPDATE ads SET last_seen = ?, gone_at = NULL, crawled_at = ?, risk = ?, "
                        "risk_margin = ?, flagged = ?, reasons = ?, model_version = ?, risky = ?, "
                        "genre = ?, lang = ? WHERE ad_id = ?",
                        (
                            seen_at,
                            seen_at,
                            record.get("risk"),
                            record.get("risk_margin"),
                            encode("flagged", record.get("flagged")),
                            encode("reasons", record.get("reasons")),
                            record.get("model_version"),
                            encode("risky", record.get("risky")),
                            record.get("genre"),
                            record.get("lang"),
                            ad_id,
                        ),
                    )
                    result.updated += 1
                else:
                    assignments = ", ".join(f"{name} = ?" for name in CONTENT_FIELDS)
                    conn.execute(
                        f"UPDATE ads SET {assignments}, last_seen = ?, gone_at = NULL WHERE ad_id = ?",
                        [encode(n, record.get(n)) for n in CONTENT_FIELDS] + [seen_at, ad_id],
                    )
                    _replace_entities(conn, ad_id, record)
                    result.updated += 1
                _keep_evidence(conn, record, seen_at)
        return result

    def get_ad(self, ad_id: str, *, with_evidence: bool = False) -> Record:
        return read_ad(self.db, ad_id, with_evidence=with_evidence)


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


def _insert(conn: sqlite3.Connection, record: Mapping[str, Any], seen_at: str) -> None:
    names = ["ad_id", *CONTENT_FIELDS, "first_seen", "last_seen", "status", "version"]
    values = [
        record["ad_id"],
        *(encode(n, record.get(n)) for n in CONTENT_FIELDS),
        seen_at,
        seen_at,
        "new",
        1,
    ]
    marks = ",".join("?" * len(names))
    conn.execute(f"INSERT INTO ads ({', '.join(names)}) VALUES ({marks})", values)
    _replace_entities(conn, record["ad_id"], record)


def _replace_entities(conn: sqlite3.Connection, ad_id: str, record: Mapping[str, Any]) -> None:
    conn.execute("DELETE FROM ad_entities WHERE ad_id = ?", (ad_id,))
    rows = {(f.entity, value, ad_id) for f in ENTITY_FIELDS for value in record.get(f.name) or ()}
    conn.executemany("INSERT OR IGNORE INTO ad_entities(kind, value, ad_id) VALUES (?, ?, ?)", rows)


def _keep_evidence(conn: sqlite3.Connection, record: Mapping[str, Any], seen_at: str) -> None:
    if not record.get("html"):
        return
    pointer = warc_pointer(record)
    # A version kept before WARC writing was on gets the pointer of its first archived sighting.
    conn.execute(
        f"INSERT INTO evidence(ad_id, content_hash, crawled_at, url, html, "
        f"{', '.join(WARC_POINTER_FIELDS)}) VALUES (?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT(ad_id, content_hash) DO UPDATE SET "
        + ", ".join(f"{n} = excluded.{n}" for n in WARC_POINTER_FIELDS)
        + " WHERE evidence.warc_file IS NULL AND excluded.warc_file IS NOT NULL",
        (
            record["ad_id"],
            record.get("content_hash") or "",
            seen_at,
            record.get("url"),
            record["html"],
            *(pointer[n] for n in WARC_POINTER_FIELDS),
        ),
    )
