"""Users' API tokens on the search engines (the ``TokenStore`` role): hashes only, revocations
kept. A use or a revocation is a partial update of one field, so neither can undo the other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from patroli.storage.base import Record, StoreError
from patroli.storage.engine.client import EngineError
from patroli.storage.engine.connection import EngineConnection, quote_id
from patroli.storage.schema import token_record


class EngineTokens:
    conn: EngineConnection

    def put_token(self, token: Mapping[str, Any]) -> None:
        record = token_record(token)
        self.conn.ensure("tokens")
        try:
            self.conn.client.request(
                "PUT",
                f"/{self.conn.alias('tokens')}/_create/{quote_id(str(record['id']))}",
                body=record,
                params={"refresh": "true"},
            )
        except EngineError as exc:
            if exc.status == 409:
                raise StoreError(f"a token with id {record['id']} exists already") from exc
            raise
        self.conn.wrote("tokens")

    def get_token(self, token_id: str) -> Record | None:
        doc = self.conn.get("tokens", token_id)
        return token_record(doc["_source"]) if doc else None

    def list_tokens(self, owner: str = "") -> list[Record]:
        query = {"term": {"owner": owner}} if owner else {"match_all": {}}
        return [
            token_record(h["_source"])
            for h in self.conn.scan("tokens", query, [{"created_at": "asc"}, {"id": "asc"}])
        ]

    def revoke_token(self, token_id: str, at: str) -> bool:
        token = self.get_token(token_id)
        if token is None or token.get("revoked_at"):
            return False
        self._update(token_id, {"revoked_at": at})
        return True

    def touch_token(self, token_id: str, at: str) -> None:
        self._update(token_id, {"last_used_at": at})

    def _update(self, token_id: str, fields: dict[str, Any]) -> None:
        try:
            self.conn.client.request(
                "POST",
                f"/{self.conn.alias('tokens')}/_update/{quote_id(token_id)}",
                body={"doc": fields},
                params={"refresh": "true", "retry_on_conflict": "3"},
            )
        except EngineError as exc:
            if exc.status != 404:
                raise
        self.conn.wrote("tokens")
