"""The embedded store: one SQLite file in WAL mode, with FTS5 full-text search.

One ``Database`` (``connection``) is shared by one module per role: ``ads`` and ``search``
(``AdStore``), ``reviews``, ``ledger``, ``accounts``, ``saved_searches``, ``cases`` and
``evidence``.
"""

from __future__ import annotations

from patroli.storage.roles import Store
from patroli.storage.sqlite.accounts import SQLiteAccounts
from patroli.storage.sqlite.ads import SQLiteAds
from patroli.storage.sqlite.cases import SQLiteCases
from patroli.storage.sqlite.connection import Database, sqlite_path
from patroli.storage.sqlite.evidence import SQLiteEvidence
from patroli.storage.sqlite.ledger import SQLiteLedger
from patroli.storage.sqlite.reviews import SQLiteReviews
from patroli.storage.sqlite.saved_searches import SQLiteSavedSearches
from patroli.storage.sqlite.search import SQLiteSearch


class SQLiteStore(
    SQLiteAds,
    SQLiteSearch,
    SQLiteReviews,
    SQLiteLedger,
    SQLiteAccounts,
    SQLiteSavedSearches,
    SQLiteCases,
    SQLiteEvidence,
    Store,
):
    def __init__(self, url: str) -> None:
        self.url = url
        self.db = Database(url)
        self.path = self.db.path

    def close(self) -> None:
        self.db.close()


__all__ = ["SQLiteStore", "sqlite_path"]
