"""What every store speaks in, whatever its backend: records, results and errors.

Records are plain dicts keyed by the field names of ``storage.schema`` (lists as lists, dates as
ISO 8601 UTC strings), so that the crawl, the CLI and the web app share one shape. The roles a
store plays are in ``storage.roles``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Self

Record = dict[str, Any]
# Highlight markers: control characters that never occur in stored text, so that a renderer can
# escape the (hostile) text first and only then turn the markers into <mark> tags.
MARK_START, MARK_END = "\x02", "\x03"
SortOrder = Literal["risk", "date", "relevance", "uncertainty"]


class StoreError(Exception):
    """Base class for store failures."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or opened; the message says which and why."""


class AdNotFound(StoreError, KeyError):
    def __init__(self, ad_id: str) -> None:
        super().__init__(ad_id)
        self.ad_id = ad_id

    def __str__(self) -> str:
        return f"no ad with id {self.ad_id}"


class NotFound(StoreError, KeyError):
    """No case, case item or takedown request with this id; the message says which."""

    def __init__(self, what: str, key: str) -> None:
        super().__init__(key)
        self.what, self.key = what, key

    def __str__(self) -> str:
        return f"no {self.what} with id {self.key}"


class ReviewConflict(StoreError):
    """Someone else changed the ad's review since the caller read it."""

    def __init__(self, ad_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"ad {ad_id} was reviewed by someone else meanwhile "
            f"(you saw version {expected}, it is now {actual}); reload it and decide again"
        )
        self.ad_id, self.expected, self.actual = ad_id, expected, actual


@dataclass(slots=True)
class WriteResult:
    new: int = 0
    updated: int = 0
    failed: int = 0
    new_ids: list[str] = field(default_factory=list)
    failed_ids: list[str] = field(default_factory=list)  # ads the backend rejected (logged by id)

    def __iadd__(self, other: WriteResult) -> Self:
        self.new += other.new
        self.updated += other.updated
        self.failed += other.failed
        self.new_ids += other.new_ids
        self.failed_ids += other.failed_ids
        return self


@dataclass(slots=True)
class SearchResult:
    total: int
    hits: list[Record]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    next_after: list[Any] | None = None  # pass as ``after`` to get the next page (deep pagination)


def chunks(values: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """``values`` in lists of at most ``size``: bounded SQL parameter lists and bulk requests."""
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
