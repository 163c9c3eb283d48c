"""Reading a JSON Lines file a user hands to a command, line by line in bounded memory.

Any file may arrive: binary data, another encoding, a 200 MB line, JSON nested a million levels
deep, strings with lone surrogates (``"\\ud800"``, which cannot be written back as UTF-8). Each bad
line is one ``BadLine`` with its number and the reason; the good ones are ``(number, value)``. A
line longer than ``max_line_bytes`` is skipped without being held in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

MAX_DEPTH = 32
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class BadLine:
    number: int
    reason: str


def read_lines(source: IO[bytes], max_line_bytes: int) -> Iterator[tuple[int, Any] | BadLine]:
    """The parsed value of each non-blank line, or a ``BadLine`` saying why it is unusable."""
    number = 0
    while True:
        raw = source.readline(max_line_bytes + 1)
        if not raw:
            return
        number += 1
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line, chunk by chunk
                raw = source.readline(_CHUNK)
            yield BadLine(number, f"longer than {max_line_bytes} bytes")
            continue
        problem, value = parse_line(raw, first=number == 1)
        if problem:
            yield BadLine(number, problem)
        elif value is not _BLANK:
            yield number, value


_BLANK = object()


def parse_line(raw: bytes, *, first: bool = False) -> tuple[str, Any]:
    """("", value) for a good line, ("", _BLANK) for a blank one, (reason, None) otherwise."""
    if b"\x00" in raw:
        return "binary data (a NUL byte), not a line of text", None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text (byte {exc.start + 1} of the line)", None
    if first:
        text = text.removeprefix("\ufeff")
    if not text.strip():
        return "", _BLANK
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg}, column {exc.colno})", None
    except RecursionError:
        return f"nested too deeply (more than {MAX_DEPTH} levels)", None
    return _check_value(value), value


def _check_value(value: Any) -> str:
    """Why a parsed value cannot be used: too deep, or a string that is not valid Unicode."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nested too deeply (more than {MAX_DEPTH} levels)"
        if isinstance(item, dict):
            for key, child in item.items():
                stack += [(key, depth), (child, depth + 1)]
        elif isinstance(item, list):
            stack += [(child, depth + 1) for child in item]
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                return f"a lone surrogate (U+{ord(item[exc.start]):04X}) in a string"
    return ""
