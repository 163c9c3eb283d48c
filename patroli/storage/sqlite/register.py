"""The licensed-agency register in SQLite (the ``AgencyRegister`` role): every import is a row of
``register_imports`` with its entries in ``register_entries``; nothing is ever updated or deleted,
which the database itself enforces."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from patroli.storage.base import Record
from patroli.storage.schema import REGISTER_IMPORT_FIELDS
from patroli.storage.sqlite.connection import Database


def new_import_record(meta: Mapping[str, Any]) -> Record:
    record = {k: meta.get(k) for k in REGISTER_IMPORT_FIELDS}
    record["import_id"] = record["import_id"] or uuid.uuid4().hex[:16]
    return record


class SQLiteRegister:
    db: Database

    def record_register_import(
        self, meta: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]
    ) -> Record:
        record = new_import_record(meta)
        with self.db.write() as conn:
            known = conn.execute(
                "SELECT * FROM register_imports WHERE sha256 = ? AND kind = ?",
                (record["sha256"], record["kind"]),
            ).fetchone()
            if known is not None:
                return {**dict(known), "duplicate": True}
            conn.execute(
                f"INSERT INTO register_imports({', '.join(REGISTER_IMPORT_FIELDS)}) "
                f"VALUES ({','.join('?' * len(REGISTER_IMPORT_FIELDS))})",
                [record[k] for k in REGISTER_IMPORT_FIELDS],
            )
            conn.executemany(
                "INSERT INTO register_entries(import_id, seq, entry) VALUES (?,?,?)",
                [
                    (record["import_id"], i, json.dumps(dict(e), ensure_ascii=False, default=str))
                    for i, e in enumerate(entries)
                ],
            )
        return record

    def register_imports(self, *, kind: str = "") -> list[Record]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM register_imports WHERE (? = '' OR kind = ?) "
                "ORDER BY imported_at DESC, rowid DESC",
                (kind, kind),
            ).fetchall()
        return [dict(r) for r in rows]

    def register_entries(self, *, kind: str = "", import_id: str = "") -> list[Record]:
        if not import_id:
            imports = self.register_imports(kind=kind)
            if not imports:
                return []
            import_id = imports[0]["import_id"]
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT entry FROM register_entries WHERE import_id = ? ORDER BY seq", (import_id,)
            ).fetchall()
        return [{**json.loads(r[0]), "import_id": import_id} for r in rows]
