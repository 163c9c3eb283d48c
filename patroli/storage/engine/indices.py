"""Index design on the search engines: versioned indices behind aliases, index templates, and the
no-downtime migration that ``patroli index migrate`` runs.

Every kind of record has an alias that readers and writers use (``patroli-ads``) and a versioned
index behind it (``patroli-ads-v1``), created from an index template (``patroli-ads`` matching
``patroli-ads-v*``). Mappings come from ``storage.schema`` (the same field list as the SQLite DDL).
Text fields use the ``patroli_text`` analyzer: Indonesian (stop words, stemmer) where the engine
has it, else the standard analyzer (documented in docs/index.md).

A migration copies the current index into the next version while it stays in use, following
``_seq_no`` so that documents changed during the copy are copied again, then blocks writes on the
old index for the last catch-up, swaps the alias atomically, and keeps the old index (read-only)
unless asked to delete it. Writers see the short write block as a retryable error and retry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from patroli.storage.engine.client import EngineClient, EngineError
from patroli.storage.schema import (
    AUDIT_FIELDS,
    CASE_FIELDS,
    CASE_ITEM_FIELDS,
    CASE_NOTE_FIELDS,
    CLUSTER_FIELDS,
    EVIDENCE_FIELDS,
    GENERIC_FIELDS,
    REGISTER_IMPORT_FIELDS,
    REVIEW_ENTRY_FIELDS,
    RUN_FIELDS,
    SAVED_SEARCH_FIELDS,
    TAKEDOWN_FIELDS,
    TOKEN_FIELDS,
    USER_FIELDS,
    engine_properties,
)

logger = logging.getLogger(__name__)

ANALYZER = "patroli_text"
INDONESIAN: dict[str, Any] = {"type": "indonesian"}
# Fallback where the engine lacks the Indonesian analyzer (e.g. a build without analysis-common):
# Unicode word splitting and lower-casing, no stop words, no stemming.
FALLBACK: dict[str, Any] = {"type": "standard"}

_KEYWORD = {"type": "keyword", "ignore_above": 4096}
_DATE = {"type": "date"}
_LONG = {"type": "long"}
_STORED = {"type": "object", "enabled": False}  # kept in _source, never indexed (any JSON value)
_TEXT = {"type": "text", "analyzer": ANALYZER}
# Engine-only sort keys of an ad (not part of the record): COALESCE(posted_at, first_seen) and
# |risk_margin| (1 when unscored), the same keys as the SQLite store's ORDER BY.
INTERNAL_AD_FIELDS = ("sort_date", "uncertainty")

KINDS = (
    "ads",
    "evidence",
    "reviews",
    "audit",
    "users",
    "runs",
    "searches",
    "tokens",
    "links",
    "clusters",
    "generic",
    "registerimports",
    "register",
    "cases",
    "case_items",
    "case_notes",
    "takedowns",
)
_VERSION_RE = re.compile(r"-v(\d+)$")


def _mapped(
    names: tuple[str, ...], default: dict[str, Any], **types: dict[str, Any]
) -> dict[str, Any]:
    """A mapping for each of a record's ``names`` (from ``storage.schema``): ``default`` unless
    ``types`` says otherwise."""
    unknown = set(types) - set(names)
    if unknown:
        raise ValueError(f"mapping types for fields the schema does not have: {sorted(unknown)}")
    return {name: types.get(name, default) for name in names}


def kind_properties(kind: str) -> dict[str, Any]:
    if kind == "ads":
        return {**engine_properties(ANALYZER), "sort_date": _DATE, "uncertainty": {"type": "float"}}
    if kind == "evidence":
        return _mapped(
            ("ad_id", *EVIDENCE_FIELDS),
            _KEYWORD,
            crawled_at=_DATE,
            url=_STORED,
            html=_STORED,
            warc_offset=_LONG,
            warc_length=_LONG,
        )
    if kind == "reviews":
        return _mapped(
            REVIEW_ENTRY_FIELDS, _KEYWORD, note=_TEXT, at=_DATE, version={"type": "integer"}
        )
    if kind == "audit":
        # The entry's ``id`` is its ``seq``: a time-ordered, unique key.
        names = tuple("seq" if name == "id" else name for name in AUDIT_FIELDS)
        return _mapped(names, _KEYWORD, at=_DATE, before=_STORED, after=_STORED, detail=_TEXT)
    if kind == "users":
        return _mapped(
            USER_FIELDS,
            _KEYWORD,
            password_hash=_STORED,
            active={"type": "boolean"},
            failed_logins={"type": "integer"},
            extra=_STORED,
        )
    if kind == "runs":
        counts = ("pages", "items", "new", "flagged", "errors", "degraded_pages")
        return _mapped(
            RUN_FIELDS, _KEYWORD, notes=_STORED, stats=_STORED, **dict.fromkeys(counts, _LONG)
        )
    if kind == "searches":
        return _mapped(SAVED_SEARCH_FIELDS, _KEYWORD)
    if kind == "tokens":
        dates = ("created_at", "expires_at", "last_used_at", "revoked_at")
        return _mapped(TOKEN_FIELDS, _KEYWORD, secret_hash=_STORED, **dict.fromkeys(dates, _DATE))
    if kind == "links":  # one per ad: its MinHash signature, LSH bands and identifiers
        return _mapped(
            ("ad_id", "signature", "bands", "identifiers", "cluster_id", "network_id"),
            _KEYWORD,
            signature=_STORED,
        )
    if kind == "clusters":
        return _mapped(CLUSTER_FIELDS, _KEYWORD, decided_at=_DATE, note=_TEXT)
    if kind == "generic":
        return _mapped(GENERIC_FIELDS, _KEYWORD, clusters=_LONG, marked_at=_DATE)
    if kind == "registerimports":
        return _mapped(REGISTER_IMPORT_FIELDS, _KEYWORD, imported_at=_DATE, rows=_LONG, note=_TEXT)
    if kind == "register":
        return _mapped(("import_id", "seq", "entry"), _KEYWORD, seq=_LONG, entry=_STORED)
    if kind == "cases":
        return _mapped(
            CASE_FIELDS,
            _KEYWORD,
            title=_TEXT,
            description=_TEXT,
            routing=_STORED,
            created_at=_DATE,
            updated_at=_DATE,
        )
    if kind == "case_items":
        return _mapped(CASE_ITEM_FIELDS, _KEYWORD, note=_TEXT, added_at=_DATE)
    if kind == "case_notes":
        return _mapped(CASE_NOTE_FIELDS, _KEYWORD, at=_DATE, text=_TEXT)
    if kind == "takedowns":
        return _mapped(
            TAKEDOWN_FIELDS,
            _KEYWORD,
            urgent={"type": "boolean"},
            reason=_TEXT,
            submitted_at=_DATE,
            updated_at=_DATE,
            removed_at=_DATE,
            checks=_STORED,
        )
    raise ValueError(f"unknown index kind {kind!r}")


def index_body(kind: str, analyzer: dict[str, Any]) -> dict[str, Any]:
    """Settings and mappings of one kind, with a hash of both in the mapping's ``_meta``."""
    settings = {
        "number_of_shards": 1,  # migrations follow _seq_no, which is per shard
        "auto_expand_replicas": "0-1",
        "analysis": {"analyzer": {ANALYZER: analyzer}},
    }
    mappings: dict[str, Any] = {"dynamic": "strict", "properties": kind_properties(kind)}
    digest = hashlib.sha256(
        json.dumps({"settings": settings, "mappings": mappings}, sort_keys=True).encode()
    ).hexdigest()[:16]
    mappings["_meta"] = {"patroli": {"kind": kind, "schema": digest}}
    return {"settings": settings, "mappings": mappings}


def schema_hash(body: dict[str, Any]) -> str:
    return str(body["mappings"]["_meta"]["patroli"]["schema"])


@dataclass(frozen=True, slots=True)
class IndexNames:
    prefix: str

    def alias(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"

    def index(self, kind: str, version: int) -> str:
        return f"{self.prefix}-{kind}-v{version}"

    def template(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"


def version_of(index: str) -> int:
    match = _VERSION_RE.search(index)
    return int(match.group(1)) if match else 0


def detect_analyzer(client: EngineClient) -> dict[str, Any]:
    """Indonesian if the engine has it, else the documented fallback."""
    try:
        client.request("POST", "/_analyze", body={"analyzer": "indonesian", "text": "pekerjaan"})
    except EngineError as exc:
        if exc.status != 400:
            raise
        logger.info("the search engine has no Indonesian analyzer; text uses the standard analyzer")
        return FALLBACK
    return INDONESIAN


def put_template(client: EngineClient, names: IndexNames, kind: str, body: dict[str, Any]) -> None:
    client.request(
        "PUT",
        f"/_index_template/{names.template(kind)}",
        body={
            "index_patterns": [f"{names.alias(kind)}-v*"],
            "priority": 500,
            "template": body,
            "_meta": {"managed_by": "patroli", "schema": schema_hash(body)},
        },
    )


def alias_targets(client: EngineClient, names: IndexNames) -> dict[str, str]:
    """kind -> the index its alias points at, for the kinds that have one."""
    rows = client.request(
        "GET", f"/_cat/aliases/{names.prefix}-*", params={"format": "json", "h": "alias,index"}
    )
    wanted = {names.alias(kind): kind for kind in KINDS}
    return {wanted[r["alias"]]: r["index"] for r in rows or [] if r.get("alias") in wanted}


def bootstrap(
    client: EngineClient,
    names: IndexNames,
    kinds: tuple[str, ...] = KINDS,
    analyzer: dict[str, Any] | None = None,
) -> set[str]:
    """Create the templates and first index versions of those ``kinds`` that have no alias yet;
    return every kind that has one now (whether asked for or not)."""
    ready = set(alias_targets(client, names))
    missing = [kind for kind in kinds if kind not in ready]
    if missing:
        analyzer = analyzer or detect_analyzer(client)
    for kind in missing:
        body = index_body(kind, analyzer or FALLBACK)
        put_template(client, names, kind, body)
        index = names.index(kind, 1)
        try:
            client.request("PUT", f"/{index}", body={"aliases": {names.alias(kind): {}}})
        except EngineError as exc:
            if exc.type != "resource_already_exists_exception":
                raise
            # Someone else created it meanwhile (another crawler starting); make sure of the alias.
            client.request("PUT", f"/{index}/_alias/{names.alias(kind)}")
        ready.add(kind)
    return ready


def index_status(client: EngineClient, names: IndexNames) -> list[dict[str, Any]]:
    analyzer = detect_analyzer(client)
    targets = alias_targets(client, names)
    status = []
    for kind in KINDS:
        expected = schema_hash(index_body(kind, analyzer))
        index = targets.get(kind)
        row: dict[str, Any] = {"kind": kind, "alias": names.alias(kind), "index": index}
        row["version"] = version_of(index) if index else None
        if index:
            mapping = client.request("GET", f"/{index}/_mapping")
            meta = next(iter(mapping.values()))["mappings"].get("_meta", {}).get("patroli", {})
            settings = client.request(
                "GET", f"/{index}/_settings", params={"filter_path": "*.settings.index.analysis"}
            )
            analysis: dict[str, Any] = next(iter(settings.values()), {}) if settings else {}
            row["analyzer"] = (
                analysis.get("settings", {})
                .get("index", {})
                .get("analysis", {})
                .get("analyzer", {})
                .get(ANALYZER, {})
                .get("type")
            )
            row["docs"] = client.request("GET", f"/{names.alias(kind)}/_count")["count"]
            row["up_to_date"] = meta.get("schema") == expected
        status.append(row)
    return status


def migrate(
    client: EngineClient,
    names: IndexNames,
    *,
    force: bool = False,
    delete_old: bool = False,
    kinds: tuple[str, ...] = KINDS,
    page_size: int = 1000,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Update the templates; move each kind whose schema changed (or all, with ``force``) to a new
    index version by copy + alias swap, without stopping readers or writers."""
    say = progress or (lambda message: logger.info("%s", message))
    analyzer = detect_analyzer(client)
    targets = alias_targets(client, names)
    report: list[dict[str, Any]] = []
    for kind in kinds:
        body = index_body(kind, analyzer)
        put_template(client, names, kind, body)
        current = targets.get(kind)
        if current is None:
            bootstrap(client, names, (kind,), analyzer)
            report.append({"kind": kind, "action": "created", "index": names.index(kind, 1)})
            continue
        mapping = client.request("GET", f"/{current}/_mapping")
        meta = next(iter(mapping.values()))["mappings"].get("_meta", {}).get("patroli", {})
        if meta.get("schema") == schema_hash(body) and not force:
            report.append({"kind": kind, "action": "up to date", "index": current})
            continue
        existing = client.request(
            "GET", f"/_cat/indices/{names.alias(kind)}-v*", params={"format": "json", "h": "index"}
        )
        target = names.index(kind, max([version_of(r["index"]) for r in existing] + [0]) + 1)
        started = time.monotonic()
        say(f"{kind}: copying {current} -> {target}")
        copied = _reindex(client, names.alias(kind), current, target, page_size)
        if delete_old:
            client.request("DELETE", f"/{current}")
        report.append(
            {
                "kind": kind,
                "action": "migrated",
                "from": current,
                "index": target,
                "copied": copied,
                "seconds": round(time.monotonic() - started, 2),
                "old_index": "deleted" if delete_old else "kept, read-only",
            }
        )
        say(f"{kind}: alias {names.alias(kind)} -> {target} ({copied} copies)")
    return report


def _reindex(client: EngineClient, alias: str, old: str, new: str, page_size: int) -> int:
    # No server-side _reindex: some Elasticsearch builds lack the reindex module, and a client-side
    # copy along _seq_no lets us catch up with writes made meanwhile.
    client.request("PUT", f"/{new}", body={"settings": {"index.refresh_interval": "-1"}})
    blocked = False
    try:
        copied, cursor = _copy_since(client, old, new, -1, page_size)
        client.request("PUT", f"/{old}/_settings", body={"index.blocks.write": True})
        blocked = True
        more, cursor = _copy_since(client, old, new, cursor, page_size)
        copied += more
        _drop_deleted(client, old, new)
        client.request("PUT", f"/{new}/_settings", body={"index.refresh_interval": None})
        client.request("POST", f"/{new}/_refresh")
        client.request(
            "POST",
            "/_aliases",
            body={
                "actions": [
                    {"remove": {"index": old, "alias": alias}},
                    {"add": {"index": new, "alias": alias}},
                ]
            },
        )
    except BaseException:
        if blocked:
            client.request("PUT", f"/{old}/_settings", body={"index.blocks.write": None})
        client.request("DELETE", f"/{new}", params={"ignore_unavailable": "true"})
        raise
    return copied


def _pages_since(
    client: EngineClient, index: str, cursor: int, page_size: int
) -> Iterator[list[dict[str, Any]]]:
    after = [cursor]
    while True:
        page = client.request(
            "POST",
            f"/{index}/_search",
            body={
                "size": page_size,
                "sort": [{"_seq_no": "asc"}],
                "search_after": after,
                "seq_no_primary_term": True,
                "track_total_hits": False,
            },
        )["hits"]["hits"]
        if not page:
            return
        yield page
        after = [page[-1]["_seq_no"]]


def _copy_since(
    client: EngineClient, old: str, new: str, cursor: int, page_size: int
) -> tuple[int, int]:
    """Copy every document whose _seq_no is past ``cursor``; a document changed during the copy
    gets a higher _seq_no, so it comes again later in the same walk."""
    copied = 0
    client.request("POST", f"/{old}/_refresh")
    for page in _pages_since(client, old, cursor, page_size):
        lines = []
        for hit in page:
            lines.append(json.dumps({"index": {"_index": new, "_id": hit["_id"]}}))
            lines.append(json.dumps(hit["_source"], ensure_ascii=False))
        result = client.request(
            "POST", "/_bulk", body=("\n".join(lines) + "\n").encode(), ndjson=True
        )
        if result.get("errors"):
            failed = [i["index"] for i in result["items"] if i["index"].get("error")]
            raise EngineError(
                500, "copy_failed", f"{len(failed)} documents could not be copied, e.g. {failed[0]}"
            )
        copied += len(page)
        cursor = page[-1]["_seq_no"]
        client.request("POST", f"/{old}/_refresh")
    return copied, cursor


def _drop_deleted(client: EngineClient, old: str, new: str) -> None:
    """Documents deleted from the old index during the copy (saved searches) go from the new one."""
    client.request("POST", f"/{new}/_refresh")
    old_count = client.request("GET", f"/{old}/_count")["count"]
    new_count = client.request("GET", f"/{new}/_count")["count"]
    if new_count <= old_count:
        return
    old_ids = set(_ids(client, old))
    extra = [doc_id for doc_id in _ids(client, new) if doc_id not in old_ids]
    for doc_id in extra:
        client.request("DELETE", f"/{new}/_doc/{doc_id}", params={"refresh": "false"})


def _ids(client: EngineClient, index: str) -> Iterator[str]:
    for page in _pages_since(client, index, -1, 5000):
        for hit in page:
            yield hit["_id"]
