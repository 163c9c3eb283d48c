"""The web app's accounts and the audit log on the search engines (the ``AccountStore`` role).
Audit entries are only ever created (``_create``), never updated or deleted."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Mapping
from typing import Any

from patroli.storage.base import Record, StoreError
from patroli.storage.engine.client import EngineError
from patroli.storage.engine.connection import EngineConnection, quote_id
from patroli.storage.schema import AUDIT_FIELDS, new_user, now, user_record

# Tries of the read-compare-write of a failed login before giving up (each loses only to another
# writer that succeeded, so 60 concurrent wrong passwords need at most 60).
_MAX_ATTEMPTS = 500


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

    def count_login_failure(self, name: str, *, max_failures: int, lock_until: str) -> int | None:
        # Optimistic concurrency: write the new count only if nobody wrote the user since it was
        # read (``if_seq_no``/``if_primary_term``), else read again. No script, so it also works on
        # engines without a scripting language; every failure counts exactly once.
        for attempt in range(_MAX_ATTEMPTS):
            current = self.conn.get("users", name)
            if current is None:
                return None
            doc = dict(current["_source"])
            count = int(doc.get("failed_logins") or 0) + 1
            doc["failed_logins"] = 0 if count >= max_failures else count
            if count >= max_failures:
                doc["locked_until"] = lock_until
            try:
                self.conn.client.request(
                    "PUT",
                    f"/{quote_id(current['_index'])}/_doc/{quote_id(name)}",
                    params={
                        "if_seq_no": str(current["_seq_no"]),
                        "refresh": "true",
                        "if_primary_term": str(current["_primary_term"]),
                    },
                    body=doc,
                )
            except EngineError as exc:
                if exc.status != 409:
                    raise
                time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 25)))  # noqa: S311 - jitter
                continue
            self.conn.wrote("users")
            return min(count, max_failures)
        raise StoreError(f"user {name} keeps changing; the failed login could not be counted")

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
