"""Investigators' saved searches on the search engines (the ``SavedSearchStore`` role)."""

from __future__ import annotations

from patroli.storage.base import Record
from patroli.storage.engine.client import EngineError
from patroli.storage.engine.connection import EngineConnection, quote_id
from patroli.storage.schema import new_saved_search


class EngineSavedSearches:
    conn: EngineConnection

    def save_search(self, owner: str, name: str, query: str, channel: str = "") -> Record:
        record = new_saved_search(owner, name, query, channel)
        self.conn.put("searches", record["id"], record, create=True)
        return record

    def list_saved_searches(self, owner: str = "") -> list[Record]:
        query = {"term": {"owner": owner}} if owner else {"match_all": {}}
        return [
            dict(h["_source"])
            for h in self.conn.scan("searches", query, [{"created_at": "asc"}, {"id": "asc"}])
        ]

    def delete_saved_search(self, search_id: str) -> None:
        try:
            self.conn.client.request(
                "DELETE", f"/{self.conn.alias('searches')}/_doc/{quote_id(search_id)}"
            )
        except EngineError as exc:
            if exc.status != 404:
                raise
        self.conn.wrote("searches")
