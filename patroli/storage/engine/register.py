"""The licensed-agency register on the search engines (the ``AgencyRegister`` role): one document
per import (created, never overwritten) and one per entry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from patroli.storage.base import Record
from patroli.storage.engine.connection import BulkAction, EngineConnection
from patroli.storage.schema import REGISTER_IMPORT_FIELDS
from patroli.storage.sqlite.register import new_import_record


class EngineRegister:
    conn: EngineConnection

    def record_register_import(
        self, meta: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]
    ) -> Record:
        record = new_import_record(meta)
        known = self.conn.search(
            "registerimports",
            {
                "query": {
                    "bool": {
                        "filter": [
                            {"term": {"sha256": record["sha256"] or ""}},
                            {"term": {"kind": record["kind"]}},
                        ]
                    }
                },
                "size": 1,
            },
        )["hits"]["hits"]
        if known:
            return {
                **{k: known[0]["_source"].get(k) for k in REGISTER_IMPORT_FIELDS},
                "duplicate": True,
            }
        self.conn.ensure("register")
        actions: list[BulkAction] = [
            (
                {
                    "create": {
                        "_index": self.conn.alias("register"),
                        "_id": f"{record['import_id']}:{i}",
                    }
                },
                {"import_id": record["import_id"], "seq": i, "entry": dict(entry)},
            )
            for i, entry in enumerate(entries)
        ]
        for start in range(0, len(actions), 2000):
            self.conn.bulk(actions[start : start + 2000])
        self.conn.wrote("register")
        # The import record last: an import is visible only once all its entries are in.
        self.conn.put("registerimports", record["import_id"], record, create=True)
        return record

    def register_imports(self, *, kind: str = "") -> list[Record]:
        query = {"term": {"kind": kind}} if kind else {"match_all": {}}
        hits = self.conn.scan(
            "registerimports", query, [{"imported_at": "desc"}, {"import_id": "desc"}]
        )
        return [{k: h["_source"].get(k) for k in REGISTER_IMPORT_FIELDS} for h in hits]

    def register_entries(self, *, kind: str = "", import_id: str = "") -> list[Record]:
        if not import_id:
            imports = self.register_imports(kind=kind)
            if not imports:
                return []
            import_id = imports[0]["import_id"]
        hits = self.conn.scan("register", {"term": {"import_id": import_id}}, [{"seq": "asc"}])
        return [{**h["_source"]["entry"], "import_id": import_id} for h in hits]
