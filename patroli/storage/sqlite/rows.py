"""How an ad's fields are kept in SQLite columns: lists and JSON as JSON text, booleans as 0/1."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from patroli.storage.base import Record
from patroli.storage.schema import FIELDS

_JSON_TYPES = {"keywords", "json"}
_TYPES = {f.name: f.type for f in FIELDS}


def encode(name: str, value: Any) -> Any:
    """The column value of ad field ``name``."""
    field_type = _TYPES[name]
    if field_type in _JSON_TYPES:
        return json.dumps(
            value if value is not None else ([] if field_type == "keywords" else {}),
            ensure_ascii=False,
            default=str,
        )
    if field_type == "bool":
        return int(bool(value))
    if field_type == "date" and isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def decode_row(row: sqlite3.Row) -> Record:
    """An ``ads`` row (or any subset of its columns) as a record."""
    record: Record = {}
    for key in row.keys():  # noqa: SIM118 - sqlite3.Row has keys() but no __iter__ over names
        if key == "seq":
            continue
        value = row[key]
        field_type = _TYPES.get(key)
        if field_type in _JSON_TYPES and isinstance(value, str):
            value = json.loads(value)
        elif field_type == "bool" and value is not None:
            value = bool(value)
        record[key] = value
    return record
