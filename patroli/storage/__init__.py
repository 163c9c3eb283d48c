"""Where ads are kept: ``open_store(url)`` returns the backend for a store URL.

``sqlite:///path.db`` (the embedded default) is built in; ``http(s)://host:port`` reaches
Elasticsearch or OpenSearch (detected from the engine), or name it with
``elasticsearch+https://`` / ``opensearch+https://`` (see ``storage.engine.client``).

A store plays several roles (``storage.roles``); callers type what they hold by the role they use
(``AdStore``, ``ReviewStore``, ``CrawlLedger``, ``AccountStore``, ``SavedSearchStore``,
``TokenStore``, ``NetworkStore``, ``AgencyRegister``, ``CaseStore``, ``EvidenceStore``), and
``Store`` is all of them at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from patroli.storage.base import (
    AdNotFound,
    NotFound,
    Record,
    ReviewConflict,
    SearchResult,
    StoreError,
    StoreUnavailable,
    WriteResult,
)
from patroli.storage.roles import (
    AccountStore,
    AdStore,
    AgencyRegister,
    CaseStore,
    CrawlLedger,
    EvidenceStore,
    NetworkStore,
    ReviewStore,
    SavedSearchStore,
    Store,
    StoreHandle,
    TokenStore,
)

if TYPE_CHECKING:
    from patroli.storage.engine.client import EngineClient, EngineSettings


def open_store(url: str, *, env: Mapping[str, str] | None = None, create: bool = True) -> Store:
    """Open the store at ``url``; raise ``StoreUnavailable`` with what to do when it cannot.

    ``env`` holds the engine settings (credentials, TLS); the process environment by default.
    ``create=False`` (for commands that only read) opens an existing SQLite store only, and makes
    no file or directory."""
    url = url.strip()
    if url.startswith("sqlite:") or url.split("?")[0].endswith((".db", ".sqlite", ".sqlite3")):
        from patroli.storage.sqlite import SQLiteStore

        return SQLiteStore(url, create=create)
    from patroli.storage.engine.client import is_engine_url, parse_engine_url

    if is_engine_url(url):
        from patroli.storage.engine import EngineStore

        return EngineStore(open_engine_client(parse_engine_url(url, env)), url)
    raise StoreUnavailable(
        f"unknown store URL {url!r}: use sqlite:///path/to/file.db, http(s)://host:port, "
        "elasticsearch+https://host:port or opensearch+https://host:port (see README, 'Stores')"
    )


def open_engine_client(settings: EngineSettings) -> EngineClient:
    """The engine family switch: detect the engine, then build the official client that speaks it
    (each adapter imports the client base, never the other way round)."""
    from patroli.storage.engine.client import detect_engine

    info = detect_engine(settings)
    if info.family == "elasticsearch":
        from patroli.storage.engine.elastic import ElasticsearchClient

        return ElasticsearchClient(settings, info)
    from patroli.storage.engine.opensearch import OpenSearchClient

    return OpenSearchClient(settings, info)


__all__ = [
    "AccountStore",
    "AdNotFound",
    "AdStore",
    "AgencyRegister",
    "CaseStore",
    "CrawlLedger",
    "EvidenceStore",
    "NetworkStore",
    "NotFound",
    "Record",
    "ReviewConflict",
    "ReviewStore",
    "SavedSearchStore",
    "SearchResult",
    "Store",
    "StoreError",
    "StoreHandle",
    "StoreUnavailable",
    "TokenStore",
    "WriteResult",
    "open_engine_client",
    "open_store",
]
