"""The web app's accounts and the audit log on the search engines (the ``AccountStore`` role).
Audit entries are only ever created (``_create``), never updated or deleted."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from patroli.storage.base import Record
from patroli.storage.engine.connection import EngineConnection
from patroli.storage.schema import AUDIT_FIELDS, new_user, now, user_record


def write_audit(
    conn: EngineConnection,
    actor: str,
    action: str,
    target: str,
    before: Any,
    after: Any,
    detail: str,
    at: str | None = None,
) -> None:
    """Append one entry; its id sorts in time order and is unique."""
    seq = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
    conn.put(
        "audit",
        seq,
        {
            "seq": seq,
            "at": at or now(),
            "actor": actor,
            "action": action,
            "target": target,
            "before": before,
            "after": after,
            "detail": detail,
        },
        create=True,
    )


class EngineAccounts:
    conn: EngineConnection

    def put_user(self, user: Mapping[str, Any]) -> None:
        doc = new_user(user)
        self.conn.put("users", str(doc["name"]), doc)

    def get_user(self, name: str) -> Record | None:
        doc = self.conn.get("users", name)
        return user_record(doc["_source"]) if doc else None

    def list_users(self) -> list[Record]:
        return [
            user_record(h["_source"])
            for h in self.conn.scan("users", {"match_all": {}}, [{"name": "asc"}])
        ]

    def append_audit(
        self,
        actor: str,
        action: str,
        target: str = "",
        before: Any = None,
        after: Any = None,
        detail: str = "",
    ) -> None:
        write_audit(self.conn, actor, action, target, before, after, detail)

    def audit_log(
        self, *, limit: int = 100, offset: int = 0, actor: str = "", target: str = ""
    ) -> list[Record]:
        filters = [{"term": {k: v}} for k, v in (("actor", actor), ("target", target)) if v]
        hits = self.conn.search(
            "audit",
            {
                "query": {"bool": {"filter": filters}},
                "sort": [{"seq": "desc"}],
                "from": offset,
                "size": limit,
            },
        )["hits"]["hits"]
        return [
            {k: h["_source"]["seq"] if k == "id" else h["_source"].get(k) for k in AUDIT_FIELDS}
            for h in hits
        ]
