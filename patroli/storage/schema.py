"""The records' fields, defined once for every backend: the ad's fields feed the SQLite DDL and
the search-engine mappings; the other records' field lists (users, runs, audit entries, saved
searches, review history) and their defaults are shared by the SQLite and engine stores.

Each ad field belongs to a group that decides who may write it:

- ``content``: what a crawl saw; a re-crawl overwrites it.
- ``first``: set when the ad is first stored and never changed (``first_seen``).
- ``sighting``: bookkeeping a crawl updates (``last_seen``, ``gone_at``).
- ``review``: the analysts' decisions; only the review path writes them, never a crawl.
- ``case``: the investigators' hold for investigation and the capture record at first sight;
  only the evidence role (``roles.EvidenceStore``) writes them, never a crawl.
- ``link``: the ad's template cluster and recruiter network (``storage.linking``); only the linker
  writes them, after each upsert, never the crawl's record itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from patroli.storage.base import Record

FieldType = Literal["keyword", "keywords", "text", "float", "int", "bool", "date", "json"]
Group = Literal["key", "content", "first", "sighting", "review", "case", "link"]


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: FieldType
    group: Group
    # Entity kind for list fields that investigators look up by value (phone:, handle:, country:).
    entity: str = ""


FIELDS: tuple[Field, ...] = (
    Field("ad_id", "keyword", "key"),
    Field("source", "keyword", "content"),
    Field("source_kind", "keyword", "content"),
    Field("native_id", "keyword", "content"),
    Field("url", "keyword", "content"),
    Field("title", "text", "content"),
    Field("text", "text", "content"),
    Field("author", "keyword", "content"),
    Field("location", "text", "content"),
    Field("salary_text", "keyword", "content"),
    Field("posted_at", "date", "content"),
    Field("crawled_at", "date", "content"),
    Field("content_hash", "keyword", "content"),
    Field("phones", "keywords", "content", entity="phone"),
    Field("whatsapp", "keywords", "content", entity="phone"),
    Field("telegram", "keywords", "content", entity="handle"),
    Field("emails", "keywords", "content", entity="email"),
    Field("links", "keywords", "content"),
    Field("countries", "keywords", "content", entity="country"),
    Field("salary_amount", "float", "content"),
    Field("salary_currency", "keyword", "content"),
    Field("salary_period", "keyword", "content"),
    Field("fees", "json", "content"),
    Field("extra", "json", "content"),
    # The ad's images (patroli.images): one record each (sha256, size, pHash/dHash and their
    # mirror's, linkable, OCR text) or {url, refused}; the text read in them, searched with the ad's
    # text and by ``ocr:``; the flyer look-up keys of the linkable ones (bands of their pHash).
    Field("images", "json", "content"),
    Field("image_text", "text", "content"),
    Field("image_keys", "keywords", "content", entity="flyer"),
    Field("risk", "float", "content"),
    Field(
        "risk_margin", "float", "content"
    ),  # risk minus the model's threshold: 0 = most uncertain
    Field("flagged", "bool", "content"),  # risky and an ad
    Field("risky", "bool", "content"),  # risk at the threshold, any genre (reports too)
    Field("genre", "keyword", "content"),  # ad, report or other
    Field("lang", "keyword", "content"),  # ISO 639-1; risk is empty for languages not scored
    Field("reasons", "keywords", "content"),
    Field("reason_codes", "keywords", "content"),  # language-neutral: "indicator:visit_visa_work"
    Field("model_version", "keyword", "content"),
    Field("first_seen", "date", "first"),
    Field("last_seen", "date", "sighting"),
    Field("gone_at", "date", "sighting"),
    Field("status", "keyword", "review"),
    Field("reviewed_by", "keyword", "review"),
    Field("reviewed_at", "date", "review"),
    Field("review_note", "text", "review"),
    Field("version", "int", "review"),
    Field("hold", "bool", "case"),  # held for investigation: exempt from evidence retention
    Field("captured_at", "date", "case"),  # when the capture record at first sight was made
    Field("capture", "json", "case"),  # that capture record (``evidence.capture``)
    # Leads (extraction, pipelines/extract.py) and the register check (pipelines/register.py).
    Field("bank_accounts", "keywords", "content", entity="bank"),
    Field("agency_names", "keywords", "content"),
    Field("licence_numbers", "keywords", "content", entity="licence"),
    Field("province", "keyword", "content"),
    Field("transit", "keywords", "content"),
    Field("job_type", "keyword", "content"),
    Field("agency_id", "keyword", "content"),
    Field("register_import", "keyword", "content"),
    # Template cluster and recruiter network (storage.linking).
    Field("cluster_id", "keyword", "link"),
    Field("network_id", "keyword", "link"),
    Field("cluster_status", "keyword", "link"),  # the decision taken for the whole cluster, or ""
)

FIELD_BY_NAME = {f.name: f for f in FIELDS}
CONTENT_FIELDS = tuple(f.name for f in FIELDS if f.group == "content")
REVIEW_FIELDS = tuple(f.name for f in FIELDS if f.group == "review")
LINK_FIELDS = tuple(f.name for f in FIELDS if f.group == "link")
ENTITY_FIELDS = tuple(f for f in FIELDS if f.entity)

STATUSES = ("new", "confirmed", "dismissed", "escalated")
DECISIONS = ("confirmed", "dismissed", "escalated")

# --- the other records ---------------------------------------------------------------------------

# One kept version of an ad's page, and the WARC record of the response it was read from (file
# relative to the evidence directory, offset and length of the record, its id, the SHA-256 of the
# payload as sent): empty when the crawl wrote no WARC.
WARC_POINTER_FIELDS = ("warc_file", "warc_offset", "warc_length", "warc_record_id", "warc_digest")
EVIDENCE_FIELDS = ("content_hash", "crawled_at", "url", "html", *WARC_POINTER_FIELDS)


def warc_pointer(record: Mapping[str, Any]) -> Record:
    """The ``warc_*`` evidence fields of an ad record from its ``warc`` ({file, offset, length,
    record_id, digest}, set by the crawl's WARC middleware); all None when it has none."""
    warc = record.get("warc") or {}
    return {
        f"warc_{key}": warc.get(key) for key in ("file", "offset", "length", "record_id", "digest")
    }


REVIEW_ENTRY_FIELDS = ("ad_id", "decision", "note", "reviewer", "at", "previous_status", "version")
LABELLED_FIELDS = ("ad_id", "title", "text", "source", "countries", "status", "reviewed_at")
# What an incremental crawl needs to know of each stored ad of its source (plus ``fingerprint``
# and ``etag``, read from the ad's ``extra``).
KNOWN_AD_FIELDS = ("native_id", "ad_id", "url", "content_hash", "last_seen", "gone_at")
AUDIT_FIELDS = ("id", "at", "actor", "action", "target", "before", "after", "detail")
USER_FIELDS = (
    "name",
    "role",
    "password_hash",
    "active",
    "failed_logins",
    "locked_until",
    "created_at",
    "extra",
)
RUN_FIELDS = (
    "run_id",
    "source",
    "started_at",
    "finished_at",
    "status",
    "pages",
    "items",
    "new",
    "flagged",
    "errors",
    "degraded_pages",
    "notes",
    "stats",
)
SAVED_SEARCH_FIELDS = ("id", "owner", "name", "query", "channel", "created_at")
# A per-user API token: only a hash of its secret is kept (the token itself is shown once).
TOKEN_FIELDS = (
    "id",
    "owner",
    "name",
    "scope",
    "secret_hash",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
)
TOKEN_SCOPES = ("api", "metrics")  # the HTTP API as the owner's role; or /metrics only
# A template cluster's decision, and where it went when it merged into another (storage.linking).
CLUSTER_FIELDS = ("cluster_id", "decision", "decided_by", "decided_at", "note", "merged_into")
# One import of the licensed-agency register (patroli.agencies), kept for ever, and its entries.
REGISTER_IMPORT_FIELDS = (
    "import_id",
    "kind",
    "source",
    "imported_at",
    "parser_version",
    "sha256",
    "rows",
    "published_at",
    "note",
)
REGISTER_KINDS = ("licences", "sanctions", "job_orders")
# An identifier seen in too many unrelated clusters to link ads (a hotline, a platform's number).
GENERIC_FIELDS = ("key", "kind", "value", "clusters", "marked_at")

# --- cases, referrals and takedown requests (``roles.CaseStore``) -------------------------------

CASE_STATUSES = ("open", "investigating", "referred", "closed")
CASE_FIELDS = (
    "id",
    "title",
    "description",
    "status",
    "assignee",
    "province",
    "routing",
    "created_by",
    "created_at",
    "updated_at",
)
# What a case may hold: ads and identifiers resolve here; clusters and networks through the
# network store of issue 15 (``patroli.cases.items``).
CASE_ITEM_KINDS = ("ad", "identifier", "cluster", "network")
CASE_ITEM_FIELDS = ("id", "case_id", "kind", "value", "note", "added_by", "added_at")
CASE_NOTE_FIELDS = ("id", "case_id", "author", "at", "text")
# Where a case was sent (practice.md): a takedown request, a police cyber or PPA unit, a regional
# BP3MI for verification.
ROUTING_KINDS = ("takedown", "police", "bp3mi")
TAKEDOWN_CHANNELS = ("saman", "aduankonten")
TAKEDOWN_STATUSES = ("submitted", "removed", "refused", "live")
TAKEDOWN_FIELDS = (
    "id",
    "ad_id",
    "case_id",
    "channel",
    "platform",
    "url",
    "batch_id",
    "letter_number",
    "agency",
    "urgent",
    "status",
    "reason",
    "submitted_by",
    "submitted_at",
    "updated_at",
    "removed_at",
    "checks",
)


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def case_record(stored: Mapping[str, Any]) -> Record:
    """A case as every backend returns it: each field of ``CASE_FIELDS``, routing never None."""
    case = {k: stored.get(k) for k in CASE_FIELDS}
    case["routing"] = case["routing"] or []
    case["description"] = case["description"] or ""
    case["assignee"] = case["assignee"] or ""
    case["province"] = case["province"] or ""
    return case


def takedown_record(stored: Mapping[str, Any]) -> Record:
    """A takedown request as every backend returns it: ``urgent`` a bool, checks never None."""
    request = {k: stored.get(k) for k in TAKEDOWN_FIELDS}
    request["urgent"] = bool(request["urgent"])
    request["checks"] = request["checks"] or []
    request["reason"] = request["reason"] or ""
    return request


def now() -> str:
    """The current time as stored: ISO 8601, UTC."""
    return datetime.now(UTC).isoformat()


def new_user(user: Mapping[str, Any]) -> Record:
    """A user to store: ``user``'s fields over the defaults of a new, active account."""
    values = {
        "active": True,
        "failed_logins": 0,
        "locked_until": None,
        "created_at": now(),
        "extra": {},
        **user,
    }
    return user_record(values)


def user_record(stored: Mapping[str, Any]) -> Record:
    """A user as every backend returns it: each field of ``USER_FIELDS``, ``active`` a bool."""
    user = {k: stored.get(k) for k in USER_FIELDS}
    user["active"] = bool(user["active"])
    user["extra"] = user["extra"] or {}
    return user


def run_record(run: Mapping[str, Any]) -> Record:
    """A crawl run as stored and returned: each field of ``RUN_FIELDS``, notes and stats never None."""
    record = {k: run.get(k) for k in RUN_FIELDS}
    record["notes"] = record["notes"] or []
    record["stats"] = record["stats"] or {}
    return record


def token_record(stored: Mapping[str, Any]) -> Record:
    """A token as every backend returns it: each field of ``TOKEN_FIELDS`` (unset ones None)."""
    return {k: stored.get(k) for k in TOKEN_FIELDS}


def new_saved_search(owner: str, name: str, query: str, channel: str = "") -> Record:
    return {
        "id": uuid.uuid4().hex[:16],
        "owner": owner,
        "name": name,
        "query": query,
        "channel": channel,
        "created_at": now(),
    }


_SQLITE_TYPES = {
    "keyword": "TEXT",
    "keywords": "TEXT",
    "text": "TEXT",
    "float": "REAL",
    "int": "INTEGER",
    "bool": "INTEGER",
    "date": "TEXT",
    "json": "TEXT",
}


def sqlite_columns() -> list[str]:
    """Column definitions for the ``ads`` table (lists and JSON are stored as JSON text).

    ``seq`` is an explicit rowid so that the FTS index keeps pointing at the right row after VACUUM.
    """
    cols = ["seq INTEGER PRIMARY KEY"]
    for f in FIELDS:
        definition = f"{f.name} {_SQLITE_TYPES[f.type]}"
        if f.group == "key":
            definition += " NOT NULL UNIQUE"
        elif f.name == "status":
            definition += " NOT NULL DEFAULT 'new'"
        elif f.name == "version":
            definition += " NOT NULL DEFAULT 1"
        cols.append(definition)
    return cols


def engine_properties(analyzer: str = "patroli_text") -> dict[str, Any]:
    """Mapping properties for Elasticsearch / OpenSearch, from the same field list.

    Text fields use ``analyzer`` (the index settings define it: Indonesian where the engine has
    it). Raw HTML evidence is not part of the ad document: it lives, stored but not indexed, in
    the evidence index (``storage.engine.indices``)."""
    props: dict[str, Any] = {}
    for f in FIELDS:
        if f.type in ("keyword", "keywords"):
            # ignore_above: a hostile, huge value is kept in _source instead of failing the ad.
            props[f.name] = {"type": "keyword", "ignore_above": 4096}
        elif f.type == "text":
            props[f.name] = {"type": "text", "analyzer": analyzer}
        elif f.type == "float":
            props[f.name] = {"type": "float"}
        elif f.type == "int":
            props[f.name] = {"type": "integer"}
        elif f.type == "bool":
            props[f.name] = {"type": "boolean"}
        elif f.type == "date":
            props[f.name] = {"type": "date"}
        elif f.type == "json":
            props[f.name] = {"type": "object", "enabled": False}
    return props
