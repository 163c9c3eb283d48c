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
        after: list[Any] | None = None,
    ) -> SearchResult:
        """Run a query in the syntax of ``storage.query``.

        ``after`` continues from a previous result's ``next_after`` (search_after-style deep
        pagination, stable while ads are added); ``offset`` suits shallow pages. Hits carry a
        ``highlight`` (text with matches between ``MARK_START`` and ``MARK_END``) when the query
        has words."""

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

    # --- investigation ------------------------------------------------------------------

    @abstractmethod
    def related(self, ad_id: str, *, limit: int = 20) -> list[Record]:
        """Ads sharing a phone, WhatsApp number, handle or e-mail with ``ad_id`` (each with a
        ``via`` list naming what they share), then ads with similar text (``via`` = ["text"])."""

    @abstractmethod
    def stats(self, *, days: int = 30) -> dict[str, Any]:
        """Dashboard aggregates: ``per_day`` [{day, crawled, flagged, confirmed}], ``per_source`` and
        ``per_country`` {key: {ads, flagged, confirmed}}, ``backlog`` {count, oldest, median_age_days}
        (flagged ads still ``new``)."""

    @abstractmethod
    def labelled_ads(self) -> list[Record]:
        """Ads with a final decision (confirmed = illegal, dismissed = not): labels for retraining.
        Each record: ad_id, title, text, source, countries, status, reviewed_at."""

    # --- incremental crawling -----------------------------------------------------------

    @abstractmethod
    def known_ads(self, source: str) -> dict[str, Record]:
        """native_id -> {ad_id, url, content_hash, last_seen, gone_at, fingerprint, etag} for one
        source (``fingerprint`` and ``etag`` come from the ad's ``extra``; None when absent)."""

    @abstractmethod
    def touch_ads(self, ad_ids: Sequence[str], seen_at: str) -> int:
        """Record that unchanged ads were seen again (``last_seen``, clears ``gone_at``)."""

    @abstractmethod
    def mark_gone(self, ad_ids: Sequence[str], gone_at: str) -> int:
        """Mark ads that disappeared from their source; they are kept, as evidence."""

    # --- audit log (append-only) --------------------------------------------------------

    @abstractmethod
    def append_audit(self, actor: str, action: str, target: str = "", before: Any = None, after: Any = None,
                     detail: str = "") -> None:  # fmt: skip
        """Append one entry; entries are never changed or deleted."""

    @abstractmethod
    def audit_log(
        self, *, limit: int = 100, offset: int = 0, actor: str = "", target: str = ""
    ) -> list[Record]:
        """Entries newest first: id, at, actor, action, target, before, after, detail."""

    # --- accounts (web app) -------------------------------------------------------------

    @abstractmethod
    def put_user(self, user: Mapping[str, Any]) -> None:
        """Insert or replace a user: name, role, password_hash, active, failed_logins, locked_until,
        created_at."""

    @abstractmethod
    def get_user(self, name: str) -> Record | None: ...

    @abstractmethod
    def list_users(self) -> list[Record]: ...

    # --- crawl runs and saved searches --------------------------------------------------

    @abstractmethod
    def record_run(self, run: Mapping[str, Any]) -> None:
        """Store (or update, by ``run_id``) one crawl run: run_id, source, started_at, finished_at,
        status, pages, items, new, flagged, errors, degraded_pages, notes, stats."""

    @abstractmethod
    def list_runs(self, *, source: str = "", limit: int = 50) -> list[Record]:
        """Runs newest first."""

    @abstractmethod
    def save_search(self, owner: str, name: str, query: str, channel: str = "") -> Record: ...

    @abstractmethod
    def list_saved_searches(self, owner: str = "") -> list[Record]: ...

    @abstractmethod
    def delete_saved_search(self, search_id: str) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
