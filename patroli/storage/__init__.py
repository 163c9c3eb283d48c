"""Where ads are kept: ``open_store(url)`` returns the backend for a store URL.

``sqlite:///path.db`` (the embedded default) is built in; ``http(s)://host:port`` reaches
Elasticsearch or OpenSearch (detected from the engine), or name it with
``elasticsearch+https://`` / ``opensearch+https://`` (see ``storage.engine_client``).
"""

from __future__ import annotations

from collections.abc import Mapping

from patroli.storage.base import (
    AdNotFound,
    Record,
    ReviewConflict,
    SearchResult,
    Store,
    StoreError,
    StoreUnavailable,
    WriteResult,
)


def open_store(url: str, *, env: Mapping[str, str] | None = None) -> Store:
    """Open the store at ``url``; raise ``StoreUnavailable`` with what to do when it cannot.

    ``env`` holds the engine settings (credentials, TLS); the process environment by default."""
    url = url.strip()
    if url.startswith("sqlite:") or url.endswith((".db", ".sqlite", ".sqlite3")):
        from patroli.storage.sqlite import SQLiteStore

        return SQLiteStore(url)
    from patroli.storage.engine_client import is_engine_url

    if is_engine_url(url):
        from patroli.storage.engine import EngineStore
        from patroli.storage.engine_client import open_client, parse_engine_url

        return EngineStore(open_client(parse_engine_url(url, env)), url)
    raise StoreUnavailable(
        f"unknown store URL {url!r}: use sqlite:///path/to/file.db, http(s)://host:port, "
        "elasticsearch+https://host:port or opensearch+https://host:port (see README, 'Stores')"
    )


__all__ = [
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
