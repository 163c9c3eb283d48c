"""The roles a store plays, one protocol each, so that every caller depends only on what it uses.

- ``AdStore``: ads and search (the crawl writes ads, investigators query them);
- ``ReviewStore``: the analysts' decisions and the labels they make for retraining;
- ``CrawlLedger``: what a source's crawl knows, saw again or lost, and its runs;
- ``AccountStore``: the web app's users and the append-only audit log;
- ``SavedSearchStore``: queries kept to be re-run after every patrol;
- ``TokenStore``: the users' API tokens (hashed), for the HTTP API and the metrics endpoint.
- ``CaseStore``: investigators' cases (items, notes, routing) and the takedown requests sent;
- ``EvidenceStore``: an ad's hold for investigation, its capture record, what retention keeps;
- ``NetworkStore``: template clusters and recruiter networks (``storage.linking``), and decisions
  taken once for a whole cluster;
- ``AgencyRegister``: the licensed-agency (P3MI) register, its imports kept as history.

A backend is one object playing every role (``Store``) over one connection, so ``open_store(url)``
serves every caller; its code is split by role (``storage.sqlite``, ``storage.engine``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, Self, runtime_checkable

from patroli.storage.base import Record, SearchResult, SortOrder, WriteResult


@runtime_checkable
class StoreHandle(Protocol):
    """What every role shares: the store's URL, and closing it (also as a context manager)."""

    url: str

    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@runtime_checkable
class AdStore(StoreHandle, Protocol):
    """Ads, their evidence, and the investigators' queries over them."""

    def upsert_ads(self, records: Sequence[Mapping[str, Any]]) -> WriteResult:
        """Insert new ads; for known ones update content and ``last_seen`` only.

        ``first_seen`` and every review field are never touched by this call, so a re-crawl can
        never undo an analyst's decision. Each record's ``html`` is kept as evidence.
        """

    def get_ad(self, ad_id: str, *, with_evidence: bool = False) -> Record:
        """Return one ad; raise ``AdNotFound``."""

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

    def count(self, query: str = "") -> int: ...

    def related(self, ad_id: str, *, limit: int = 20) -> list[Record]:
        """Ads sharing a phone, WhatsApp number, handle or e-mail with ``ad_id`` (each with a
        ``via`` list naming what they share), then ads showing the same flyer (``via`` has
        "flyer"), then ads with similar text (``via`` = ["text"])."""

    def same_flyer(
        self, images: Sequence[Mapping[str, Any]], *, limit: int = 50, exclude: str = ""
    ) -> list[Record]:
        """Ads showing one of ``images`` (fingerprints from ``patroli.images``: resized,
        recompressed, slightly cropped, re-watermarked or mirrored copies count), closest first,
        each with ``via`` = ["flyer"] and ``flyer_distance`` = [pHash, dHash]. Low-information
        images find nothing. Candidates come from an index of hash bands, never a full scan."""

    def stats(self, *, days: int = 30) -> dict[str, Any]:
        """Dashboard aggregates: ``per_day`` [{day, crawled, flagged, confirmed}], ``per_source`` and
        ``per_country`` {key: {ads, flagged, confirmed}}, ``backlog`` {count, oldest, median_age_days}
        (flagged ads still ``new``)."""

    def trends(self, *, days: int = 30) -> dict[str, Any]:
        """Leads for the dashboard over ads first seen in the last ``days``: ``per_route``
        {"origin → transit → destination": {ads, flagged, confirmed}}, ``per_agency``,
        ``per_job_type`` and ``per_province`` (same shape)."""


@runtime_checkable
class ReviewStore(StoreHandle, Protocol):
    """The analysts' decisions on ads: record one, read an ad's history, collect the labels."""

    def review(
        self,
        ad_id: str,
        decision: str,
        *,
        reviewer: str,
        note: str = "",
        expected_version: int | None = None,
    ) -> Record:
        """Record an analyst's decision and audit it; return the ad as it is now.

        Raise ``ReviewConflict`` if ``expected_version`` is stale, ``AdNotFound`` if there is no
        such ad."""

    def review_history(self, ad_id: str) -> list[Record]:
        """Every decision ever taken on the ad, oldest first (``schema.REVIEW_ENTRY_FIELDS``)."""

    def labelled_ads(self) -> list[Record]:
        """Ads with a final decision (confirmed = illegal, dismissed = not): labels for retraining,
        with the fields of ``schema.LABELLED_FIELDS``."""

    def decision_counts(self, *, since: str = "") -> dict[str, int]:
        """decision -> how many decisions were recorded at or after ``since`` (ISO 8601; every
        one when empty). Decisions are never deleted, so the totals only grow (a metrics counter)."""


@runtime_checkable
class CrawlLedger(StoreHandle, Protocol):
    """What incremental crawls and the patrol keep per source: sightings and runs."""

    def known_ads(self, source: str) -> dict[str, Record]:
        """native_id -> {ad_id, url, content_hash, last_seen, gone_at, fingerprint, etag} for one
        source (``fingerprint`` and ``etag`` come from the ad's ``extra``; None when absent)."""

    def touch_ads(self, ad_ids: Sequence[str], seen_at: str) -> int:
        """Record that unchanged ads were seen again (``last_seen``, clears ``gone_at``)."""

    def mark_gone(self, ad_ids: Sequence[str], gone_at: str) -> int:
        """Mark ads that disappeared from their source; they are kept, as evidence."""

    def record_run(self, run: Mapping[str, Any]) -> None:
        """Store (or update, by ``run_id``) one crawl run (``schema.RUN_FIELDS``)."""

    def list_runs(self, *, source: str = "", limit: int = 50) -> list[Record]:
        """Runs newest first."""


@runtime_checkable
class AccountStore(StoreHandle, Protocol):
    """The web app's accounts, and the audit log of who did what."""

    def put_user(self, user: Mapping[str, Any]) -> None:
        """Insert or replace a user (``schema.USER_FIELDS``; missing ones get their defaults)."""

    def get_user(self, name: str) -> Record | None: ...

    def list_users(self) -> list[Record]: ...

    def count_login_failure(self, name: str, *, max_failures: int, lock_until: str) -> int | None:
        """Add one failed login to ``name`` atomically (concurrent wrong passwords all count).

        When the count reaches ``max_failures`` the account is locked until ``lock_until`` and the
        count starts again from zero. Return the count this failure reached (``max_failures``: this
        one locked the account), or None if there is no such user."""

    def append_audit(
        self,
        actor: str,
        action: str,
        target: str = "",
        before: Any = None,
        after: Any = None,
        detail: str = "",
    ) -> None:
        """Append one entry; entries are never changed or deleted."""

    def audit_log(
        self, *, limit: int = 100, offset: int = 0, actor: str = "", target: str = ""
    ) -> list[Record]:
        """Entries newest first (``schema.AUDIT_FIELDS``)."""


@runtime_checkable
class SavedSearchStore(StoreHandle, Protocol):
    """Queries investigators keep, re-run after every patrol to alert on new hits."""

    def save_search(self, owner: str, name: str, query: str, channel: str = "") -> Record: ...

    def list_saved_searches(self, owner: str = "") -> list[Record]: ...

    def delete_saved_search(self, search_id: str) -> None: ...


@runtime_checkable
class TokenStore(StoreHandle, Protocol):
    """Per-user API tokens: only a hash of each token's secret is kept; revoked ones stay listed."""

    def put_token(self, token: Mapping[str, Any]) -> None:
        """Store a new token (``schema.TOKEN_FIELDS``); an existing id is an error (``StoreError``)."""

    def get_token(self, token_id: str) -> Record | None: ...

    def list_tokens(self, owner: str = "") -> list[Record]:
        """Tokens oldest first, of one owner or of everyone."""

    def revoke_token(self, token_id: str, at: str) -> bool:
        """Mark the token revoked at ``at``; False if it is unknown or was revoked already."""

    def touch_token(self, token_id: str, at: str) -> None:
        """Record a use of the token (``last_used_at`` only: a use never undoes a revocation)."""


@runtime_checkable
class CaseStore(StoreHandle, Protocol):
    """Cases that group ads, identifiers, clusters and networks for a referral, and the takedown
    requests sent for ads. Every change is audited (``AccountStore.audit_log``, target = the id)."""

    def create_case(self, case: Mapping[str, Any], *, actor: str) -> Record:
        """Store a new case (``schema.CASE_FIELDS``: title required; status ``open`` by default)."""

    def get_case(self, case_id: str) -> Record:
        """One case with its ``items`` and ``notes`` (oldest first); raise ``NotFound``."""

    def list_cases(self, *, status: str = "", assignee: str = "", limit: int = 200) -> list[Record]:
        """Cases, most recently updated first (without items and notes)."""

    def update_case(self, case_id: str, changes: Mapping[str, Any], *, actor: str) -> Record:
        """Change title, description, status, assignee, province or routing; audit before → after."""

    def add_case_item(
        self, case_id: str, kind: str, value: str, *, actor: str, note: str = ""
    ) -> Record:
        """Add an ad, identifier (``phone:+62…``), cluster or network; adding one twice returns
        the item already there."""

    def remove_case_item(self, case_id: str, item_id: str, *, actor: str) -> None: ...

    def add_case_note(self, case_id: str, text: str, *, actor: str) -> Record: ...

    def cases_holding(self, kind: str, value: str) -> list[Record]:
        """The cases that hold this item (an ad's page lists its cases)."""

    def add_takedown(self, request: Mapping[str, Any], *, actor: str) -> Record:
        """Record a takedown request as submitted (``schema.TAKEDOWN_FIELDS``)."""

    def update_takedown(
        self,
        request_id: str,
        changes: Mapping[str, Any],
        *,
        actor: str,
        check: Mapping[str, Any] | None = None,
    ) -> Record:
        """Change a request's status (removed, refused with a reason, live); ``check`` appends
        one re-check of its URL ({at, http_status, outcome})."""

    def list_takedowns(
        self, *, status: str = "", case_id: str = "", ad_id: str = "", limit: int = 1000
    ) -> list[Record]:
        """Requests, newest submission first."""


@runtime_checkable
class EvidenceStore(StoreHandle, Protocol):
    """What the evidence around an ad needs from the store: holds, captures, retention."""

    def set_hold(self, ad_id: str, hold: bool, *, actor: str, reason: str = "") -> Record:
        """Hold an ad for investigation (its evidence outlives retention) or release it; audited."""

    def record_capture(self, ad_id: str, capture: Mapping[str, Any]) -> None:
        """Keep the capture record at first sight (``evidence.capture``); a second one is ignored."""

    def ads_to_capture(self, *, limit: int = 100) -> list[Record]:
        """Flagged ads without a capture record yet, newest first."""

    def held_evidence(self) -> list[Record]:
        """{ad_id, warc_file} of every kept version of a held ad, and of every ad in a case:
        retention never removes these files."""


@runtime_checkable
class NetworkStore(StoreHandle, Protocol):
    """Template clusters and recruiter networks, kept up to date by every ``upsert_ads``."""

    def get_cluster(self, cluster_id: str, *, limit: int = 500) -> Record:
        """A cluster (a merged cluster's old id leads to the cluster it went into): ``members``,
        ``size``, ``sources``, ``first_seen``, ``last_seen``, its ``decision`` record and its
        ``template`` ([(fragment, varies)]). Raise ``KeyError`` when no ad is in it."""

    def get_network(self, network_id: str, *, limit: int = 500) -> Record:
        """A network: ``ads``, ``identifiers`` [{key, kind, value, ads, generic}], ``clusters``,
        ``edges`` [(ad_id, node)], ``size``, ``sources``, ``destinations``, ``first_seen``,
        ``last_seen``, ``risk`` {max, mean}, ``decisions`` {status: n}. Raise ``KeyError``."""

    def largest_networks(self, *, limit: int = 10, active_days: int = 30) -> list[Record]:
        """Networks of two or more ads with an ad seen in the last ``active_days``, largest
        first: {network_id, ads, sources, flagged, confirmed, last_seen}."""

    def review_cluster(
        self,
        cluster_id: str,
        decision: str,
        *,
        reviewer: str,
        note: str = "",
        expected_versions: Mapping[str, int] | None = None,
    ) -> Record:
        """Decide once for every member (each one reviewed and audited as an ad, with the same
        version check); members whose version moved are skipped. Later members of the cluster are
        marked with its decision (``cluster_status``). Returns {decided, skipped, cluster_id}."""

    def generic_identifiers(self) -> list[Record]:
        """Identifiers marked generic (``schema.GENERIC_FIELDS``)."""

    def relink(self, ad_ids: Sequence[str] | None = None) -> dict[str, int]:
        """Link these ads (every ad when None) again from their stored text and identifiers."""

    def unlink_ads(self, ad_ids: Sequence[str]) -> int:
        """Take ads out of their clusters and networks; return how many were linked."""


@runtime_checkable
class AgencyRegister(StoreHandle, Protocol):
    """The licensed-agency register: imports kept as history, the current entries, job orders."""

    def record_register_import(
        self, meta: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]
    ) -> Record:
        """Keep one import (``schema.REGISTER_IMPORT_FIELDS``) and its entries; nothing earlier is
        overwritten. An import whose ``sha256`` was imported before is not kept twice: the earlier
        import is returned."""

    def register_imports(self, *, kind: str = "") -> list[Record]:
        """Every import, newest first."""

    def register_entries(self, *, kind: str = "", import_id: str = "") -> list[Record]:
        """The entries of one import (the newest of ``kind`` when no ``import_id``)."""


@runtime_checkable
class Store(
    AdStore,
    ReviewStore,
    CrawlLedger,
    AccountStore,
    SavedSearchStore,
    TokenStore,
    CaseStore,
    EvidenceStore,
    NetworkStore,
    AgencyRegister,
    Protocol,
):
    """Every role at once: for code that needs them all (the web app, the contract tests)."""


ROLES: tuple[type[StoreHandle], ...] = (
    AdStore,
    ReviewStore,
    CrawlLedger,
    AccountStore,
    SavedSearchStore,
    TokenStore,
    CaseStore,
    EvidenceStore,
    NetworkStore,
    AgencyRegister,
)
