"""The embedded store: one SQLite file in WAL mode, with FTS5 full-text search.

One ``Database`` (``connection``) is shared by one module per role: ``ads`` and ``search``
(``AdStore``), ``reviews``, ``ledger``, ``accounts`` and ``saved_searches``.
"""

from __future__ import annotations

from patroli.storage.roles import Store
from patroli.storage.sqlite.accounts import SQLiteAccounts
from patroli.storage.sqlite.ads import SQLiteAds
from patroli.storage.sqlite.connection import Database, sqlite_path
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
    Store,
):
    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self.db = Database(url, create=create)
        self.path = self.db.path

    def close(self) -> None:
        self.db.close()


__all__ = ["SQLiteStore", "sqlite_path"]
