"""How requests travel through Redis: JSON, never pickle.

scrapy-redis pickles queued requests by default; anyone who can write to the Redis could then run
code in every worker. This module is the ``SCHEDULER_SERIALIZER`` of the frontier: ``dumps`` and
``loads`` of ``Request.to_dict()`` as JSON, with bytes (bodies, header names and values) tagged as
base64. A request whose ``meta`` or ``cb_kwargs`` hold anything else than JSON values, bytes, lists
and dicts cannot be queued (``TypeError`` naming the type).
"""

from __future__ import annotations

import base64
import json
from typing import Any

_BYTES = "$b"
_PAIRS = "$d"  # a dict whose keys are not all strings (Scrapy headers have bytes names)


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not {_BYTES, _PAIRS} & value.keys():
            return {k: _encode(v) for k, v in value.items()}
        return {_PAIRS: [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    raise TypeError(f"a queued request cannot carry a {type(value).__name__} (JSON values only)")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if _BYTES in value and len(value) == 1:
            return base64.b64decode(value[_BYTES])
        if _PAIRS in value and len(value) == 1:
            return {_decode(k): _decode(v) for k, v in value[_PAIRS]}
        return {k: _decode(v) for k, v in value.items()}
    return value


def dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(_encode(obj), separators=(",", ":"), sort_keys=False).encode("utf-8")


def loads(data: bytes | str) -> dict[str, Any]:
    decoded: dict[str, Any] = _decode(json.loads(data))
    return decoded
