"""The search-engine store: Elasticsearch and OpenSearch behind the store roles.

One implementation for both engines. ``client`` is the request interface both official clients
are adapted to (``elastic``, ``opensearch``; ``storage.open_store`` picks one by the engine's
family); ``indices`` holds index names, templates and migrations; ``dsl`` translates the query
syntax. One ``EngineConnection`` (``connection``) is shared by one module per role: ``ads`` and
``search`` (``AdStore``), ``reviews``, ``ledger``, ``accounts``, ``saved_searches``, ``tokens``,
``cases`` and ``evidence``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from patroli.storage.base import StoreError, WriteResult
from patroli.storage.engine.accounts import EngineAccounts
from patroli.storage.engine.ads import EngineAds
from patroli.storage.engine.cases import EngineCases
from patroli.storage.engine.client import EngineClient, EngineError
from patroli.storage.engine.connection import EngineConnection
from patroli.storage.engine.evidence import EngineEvidence
from patroli.storage.engine.indices import index_status, migrate
from patroli.storage.engine.ledger import EngineLedger
from patroli.storage.engine.links import EngineLinks, EngineNetworkQueries
from patroli.storage.engine.register import EngineRegister
from patroli.storage.engine.reviews import EngineReviews
from patroli.storage.engine.saved_searches import EngineSavedSearches
from patroli.storage.engine.search import EngineSearch
from patroli.storage.engine.tokens import EngineTokens
from patroli.storage.linking.role import LinkingRole
from patroli.storage.roles import Store


class EngineStore(
    EngineAds,
    EngineSearch,
    EngineReviews,
    EngineLedger,
    EngineAccounts,
    EngineSavedSearches,
    EngineTokens,
    EngineCases,
    EngineEvidence,
    EngineNetworkQueries,
    EngineRegister,
    LinkingRole,
    Store,
):
    def __init__(self, client: EngineClient, url: str) -> None:
        self.url = url
        self.client = client
        self.family = client.family
        try:
            self.conn = EngineConnection(client)
        except EngineError as exc:
            client.close()
            raise StoreError(f"cannot prepare the indices of {url}: {exc}") from exc
        except BaseException:
            client.close()
            raise
        self.names = self.conn.names

    @contextmanager
    def link_backend(self) -> Iterator[EngineLinks]:
        yield EngineLinks(self.conn)

    def upsert_ads(self, records: Sequence[Mapping[str, Any]]) -> WriteResult:
        result = EngineAds.upsert_ads(self, records)
        failed = set(result.failed_ids)
        self.link_after_upsert([r for r in records if r["ad_id"] not in failed])
        return result

    # --- index administration (``patroli index``) ----------------------------------------------

    def index_status(self) -> list[dict[str, Any]]:
        return index_status(self.client, self.names)

    def migrate(
        self, *, force: bool = False, delete_old: bool = False, **kwargs: Any
    ) -> list[dict[str, Any]]:
        return migrate(self.client, self.names, force=force, delete_old=delete_old, **kwargs)

    def close(self) -> None:
        self.conn.close()


__all__ = ["EngineStore"]
