"""Where ads are kept: ``open_store(url)`` returns the backend for a store URL.

``sqlite:///path.db`` (the embedded default) is built in; search-engine URLs are added by the
index backends.
"""

from __future__ import annotations

from storage.base import (
    AdNotFound,
    Record,
    ReviewConflict,
    SearchResult,
    Store,
    StoreError,
    StoreUnavailable,
    WriteResult,
)

DEFAULT_STORE_URL = "sqlite:///var/patroli.db"


def open_store(url: str) -> Store:
    """Open the store at ``url``; raise ``StoreUnavailable`` with what to do when it cannot."""
    url = url.strip()
    if url.startswith("sqlite:") or url.endswith((".db", ".sqlite", ".sqlite3")):
        from storage.sqlite import SQLiteStore

        return SQLiteStore(url)
    raise StoreUnavailable(
        f"unknown store URL {url!r}: use sqlite:///path/to/file.db (see README, 'Stores')"
    )


__all__ = [
    "DEFAULT_STORE_URL",
    "AdNotFound",
    "Record",
    "ReviewConflict",
    "SearchResult",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "WriteResult",
    "open_store",
]
