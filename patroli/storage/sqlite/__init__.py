"""The embedded store: one SQLite file in WAL mode, with FTS5 full-text search.

One ``Database`` (``connection``) is shared by one module per role: ``ads`` and ``search``
(``AdStore``), ``reviews``, ``ledger``, ``accounts``, ``saved_searches``, ``tokens``,
``cases`` and ``evidence``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from patroli.storage.base import Record, WriteResult
from patroli.storage.linking.role import LinkingRole
from patroli.storage.roles import Store
from patroli.storage.sqlite.accounts import SQLiteAccounts
from patroli.storage.sqlite.ads import SQLiteAds
from patroli.storage.sqlite.cases import SQLiteCases
from patroli.storage.sqlite.connection import Database, sqlite_path
from patroli.storage.sqlite.evidence import SQLiteEvidence
from patroli.storage.sqlite.ledger import SQLiteLedger
from patroli.storage.sqlite.links import SQLiteLinks
from patroli.storage.sqlite.register import SQLiteRegister
from patroli.storage.sqlite.reviews import SQLiteReviews
from patroli.storage.sqlite.saved_searches import SQLiteSavedSearches
from patroli.storage.sqlite.search import SQLiteSearch, SQLiteTrends
from patroli.storage.sqlite.tokens import SQLiteTokens


class SQLiteStore(
    SQLiteAds,
    SQLiteSearch,
    SQLiteReviews,
    SQLiteLedger,
    SQLiteAccounts,
    SQLiteSavedSearches,
    SQLiteTokens,
    SQLiteCases,
    SQLiteEvidence,
    SQLiteTrends,
    SQLiteRegister,
    LinkingRole,
    Store,
):
    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self.db = Database(url, create=create)
        self.path = self.db.path

    @contextmanager
    def link_backend(self) -> Iterator[SQLiteLinks]:
        """One transaction for a whole link run: it is never seen half done."""
        with self.db.write() as conn:
            if not conn.in_transaction:
                # Take the write lock before the first read: another process linking at the same
                # time waits instead of deciding on what this run is about to change.
                conn.execute("BEGIN IMMEDIATE")
            yield SQLiteLinks(conn)

    def largest_networks(self, *, limit: int = 10, active_days: int = 30) -> list[Record]:
        since = (datetime.now(UTC) - timedelta(days=active_days)).isoformat()
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT network_id, COUNT(*) AS ads, COUNT(DISTINCT source) AS sources, "
                "SUM(flagged) AS flagged, SUM(status = 'confirmed') AS confirmed, "
                "MAX(last_seen) AS last_seen FROM ads WHERE network_id != '' GROUP BY network_id "
                "HAVING COUNT(*) >= 2 AND MAX(last_seen) >= ? ORDER BY COUNT(*) DESC, network_id "
                "LIMIT ?",
                (since, limit),
            ).fetchall()
        return [
            {**dict(r), "flagged": r["flagged"] or 0, "confirmed": r["confirmed"] or 0}
            for r in rows
        ]

    def upsert_ads(self, records: Sequence[Mapping[str, Any]]) -> WriteResult:
        result = SQLiteAds.upsert_ads(self, records)
        self.link_after_upsert(records)
        return result

    def close(self) -> None:
        self.db.close()


__all__ = ["SQLiteStore", "sqlite_path"]
