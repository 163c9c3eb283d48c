"""The store interface every backend implements, and the errors and results it speaks in.

Records are plain dicts keyed by the field names of ``storage.schema`` (lists as lists, dates as
ISO 8601 UTC strings), so that the crawl, the CLI and the web app share one shape.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Self

Record = dict[str, Any]
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

    def __iadd__(self, other: WriteResult) -> Self:
        self.new += other.new
        self.updated += other.updated
        self.failed += other.failed
        self.new_ids += other.new_ids
        return self


@dataclass(slots=True)
class SearchResult:
    total: int
    hits: list[Record]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


class Store(ABC):
    """Where ads, their evidence and the analysts' decisions are kept."""

    url: str

    @abstractmethod
    def upsert_ads(self, records: Sequence[Mapping[str, Any]]) -> WriteResult:
        """Insert new ads; for known ones update content and ``last_seen`` only.

        ``first_seen`` and every review field are never touched by this call, so a re-crawl can
        never undo an analyst's decision. Each record's ``html`` is kept as evidence.
        """

    @abstractmethod
    def get_ad(self, ad_id: str, *, with_evidence: bool = False) -> Record:
        """Return one ad; raise ``AdNotFound``."""

    @abstractmethod
    def search(
        self,
        query: str = "",
        *,
        limit: int = 20,
        offset: int = 0,
        sort: SortOrder = "relevance",
        facets: bool = False,
    ) -> SearchResult:
        """Run a query in the syntax of ``storage.query``."""

    @abstractmethod
    def review(
        self,
        ad_id: str,
        decision: str,
        *,
        reviewer: str,
        note: str = "",
        expected_version: int | None = None,
    ) -> Record:
        """Record an analyst's decision; raise ``ReviewConflict`` if ``expected_version`` is stale."""

    @abstractmethod
    def review_history(self, ad_id: str) -> list[Record]:
        """Every decision ever taken on the ad, oldest first."""

    @abstractmethod
    def count(self, query: str = "") -> int: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
