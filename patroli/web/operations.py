"""What a page and an HTTP API endpoint both do, written once: search, export, the queue,
decisions, an ad with its history, runs and sources.

Each function takes the store by the role it uses and plain values, and returns data (or raises
the store's errors); a page renders the result, the API sends it as JSON. Audit entries are
written here, so a page and its endpoint audit alike (``via`` says which way the call came).
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from starlette.responses import Response

from patroli.storage import AccountStore, AdStore, CrawlLedger, Record, ReviewStore, SearchResult
from patroli.storage.base import SortOrder
from patroli.storage.schema import DECISIONS
from patroli.web.present import queue_filters, reasons

SORTS = ("relevance", "risk", "date", "uncertainty")
QUEUE_FILTER_KEYS = ("source", "country", "since", "until", "min_risk", "sort")
EXPORT_FIELDS = (
    "ad_id",
    "url",
    "source",
    "title",
    "risk",
    "flagged",
    "status",
    "countries",
    "phones",
    "whatsapp",
    "telegram",
    "emails",
    "posted_at",
    "first_seen",
    "last_seen",
    "gone_at",
    "reasons",
    "model_version",
    "reviewed_by",
    "reviewed_at",
)
EXPORT_FORMATS = ("csv", "json")
# What a spreadsheet runs as a formula when a cell starts with it (full-width forms included).
_FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
# Invisible characters a spreadsheet may skip before it reads the first visible one: format
# characters (bidi controls, zero-width), marks, separators, controls, and the blank fillers.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Mn", "Me", "Zs", "Zl", "Zp", "Co", "Cn", "Cs"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
MAX_NOTE_CHARS = 2000


class DecisionError(ValueError):
    """Not one of ``schema.DECISIONS``."""


def search_sort(raw: str) -> SortOrder:
    return cast(SortOrder, raw if raw in SORTS else "relevance")


def search_ads(
    ads: AdStore, query: str, *, sort: SortOrder, limit: int, after: list[Any] | None = None
) -> SearchResult:
    """One page of an investigator's search with facets; raises ``QuerySyntaxError`` (a
    ``ValueError``) naming the bad part of the query."""
    return ads.search(query, limit=limit, sort=sort, facets=True, after=after)


def collect_hits(
    ads: AdStore, query: str, sort: SortOrder, max_rows: int
) -> tuple[list[Record], int]:
    """Every hit of the query up to ``max_rows``, paged with the store's cursor; and the total."""
    rows: list[Record] = []
    after: list[Any] | None = None
    total = 0
    while len(rows) < max_rows:
        result = ads.search(query, limit=min(500, max_rows - len(rows)), sort=sort, after=after)
        total = result.total
        rows += result.hits
        after = result.next_after
        if not after or not result.hits:
            break
    return rows, total


def export_record(hit: Mapping[str, Any], language: str) -> dict[str, Any]:
    record = {name: hit.get(name) for name in EXPORT_FIELDS}
    record["reasons"] = [text for _, text in reasons(hit, language)]
    return record


def export(
    ads: AdStore,
    accounts: AccountStore,
    *,
    actor: str,
    query: str,
    sort: SortOrder,
    fmt: str,
    max_rows: int,
    language: str,
    via: str = "",
) -> tuple[list[dict[str, Any]], int]:
    """The export records of a query (up to ``max_rows``) and its total; audited."""
    hits, total = collect_hits(ads, query, sort, max_rows)
    records = [export_record(h, language) for h in hits]
    accounts.append_audit(
        actor,
        "export",
        fmt,
        None,
        {"rows": len(records), "total": total},
        detail=f"query: {query} | sort: {sort}" + _via(via),
    )
    return records, total


def _runs_as_formula(text: str) -> bool:
    """Whether the first character a spreadsheet reads, past invisible ones, starts a formula."""
    for char in text:
        if char in _FORMULA_START:
            return True
        if char not in _BLANK_LETTERS and unicodedata.category(char) not in _INVISIBLE_CATEGORIES:
            return False
    return False


def _cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula (also behind invisible
    characters such as U+202E or U+2066) is prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if _runs_as_formula(text) else text


def export_response(fmt: str, query: str, total: int, records: list[dict[str, Any]]) -> Response:
    """The export as a download: JSON (query, totals, ads) or CSV (UTF-8 with BOM, formula-safe)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {"Content-Disposition": f'attachment; filename="patroli-{stamp}.{fmt}"'}
    if fmt == "json":
        body = json.dumps(
            {"query": query, "total": total, "exported": len(records), "ads": records},
            ensure_ascii=False,
            default=str,
            indent=1,
        )
        return Response(body, media_type="application/json", headers=headers)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_FIELDS)
    for record in records:
        writer.writerow([_cell(record[name]) for name in EXPORT_FIELDS])
    return Response(
        "\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers
    )


def queue_sort(filters: Mapping[str, str]) -> SortOrder:
    return "uncertainty" if filters.get("sort") == "uncertainty" else "risk"


def queue_page(
    ads: AdStore, params: Mapping[str, str], *, limit: int, after: list[Any] | None = None
) -> tuple[dict[str, str], list[str], SearchResult, dict[str, dict[str, int]]]:
    """The review queue: (clean filters, ignored filter names, one page of flagged unreviewed ads,
    the facets of the whole queue for the filter choices)."""
    filters, query, ignored = queue_filters(params)
    result = ads.search(query, limit=limit, sort=queue_sort(filters), facets=True, after=after)
    options = ads.search("attention:true status:new", limit=1, facets=True).facets
    return filters, ignored, result, options


def decide(
    reviews: ReviewStore,
    ad_id: str,
    decision: str,
    *,
    actor: str,
    note: str = "",
    expected_version: int | None = None,
) -> Record:
    """Record one decision (the store checks the version and audits it); raises ``DecisionError``,
    ``AdNotFound`` or ``ReviewConflict``."""
    if decision not in DECISIONS:
        raise DecisionError(decision)
    return reviews.review(
        ad_id,
        decision,
        reviewer=actor,
        note=note[:MAX_NOTE_CHARS].strip(),
        expected_version=expected_version,
    )


def decide_many(
    reviews: ReviewStore,
    accounts: AccountStore,
    targets: list[tuple[str, int | None]],
    decision: str,
    *,
    actor: str,
    note: str,
    scope: str,
    via: str = "",
) -> tuple[int, list[str]]:
    """One decision on many ads, each with the version the analyst saw: (how many were decided,
    the ids skipped because someone else decided meanwhile or they are unknown). Audited once."""
    from patroli.storage import AdNotFound, ReviewConflict

    if decision not in DECISIONS:
        raise DecisionError(decision)
    note = note[:MAX_NOTE_CHARS].strip()
    decided, skipped = 0, []
    for ad_id, version in targets:
        try:
            reviews.review(ad_id, decision, reviewer=actor, note=note, expected_version=version)
            decided += 1
        except (ReviewConflict, AdNotFound):
            skipped.append(ad_id)  # never overwrite another analyst's decision
    accounts.append_audit(
        actor,
        "bulk_review",
        f"{decided} ads",
        None,
        {"decision": decision, "count": decided, "skipped": len(skipped)},
        detail=f"scope: {scope}" + (f"; note: {note}" if note else "") + _via(via),
    )
    return decided, skipped


def ad_detail(ads: AdStore, reviews: ReviewStore, ad_id: str, *, related: int = 20) -> Record:
    """An ad with what its page shows: ``ad`` (without the raw evidence), ``evidence`` (what each
    kept snapshot is, not its HTML), ``related`` ads and the decision ``history``. Raises
    ``AdNotFound``."""
    ad = ads.get_ad(ad_id, with_evidence=True)
    evidence = [
        {
            "index": i,
            "crawled_at": e.get("crawled_at"),
            "url": e.get("url"),
            "content_hash": e.get("content_hash"),
            "size": len(e.get("html") or ""),
        }
        for i, e in enumerate(ad.pop("evidence", []) or [])
    ]
    return {
        "ad": ad,
        "evidence": evidence,
        "related": ads.related(ad_id, limit=related),
        "history": reviews.review_history(ad_id),
    }


def evidence_snapshot(ads: AdStore, ad_id: str, index: int) -> Record | None:
    """One kept snapshot of an ad's page (its raw, hostile HTML), or None; raises ``AdNotFound``."""
    snapshots = ads.get_ad(ad_id, with_evidence=True).get("evidence") or []
    return dict(snapshots[index]) if 0 <= index < len(snapshots) else None


def sources_status(ledger: CrawlLedger) -> Record:
    """The registry's sources with each one's latest run: ``sources`` (``SourceConfig``),
    ``problems`` (invalid entries), ``error`` (an unreadable registry), ``latest`` {source: run},
    ``runs`` (the latest runs)."""
    from crawler.sources import RegistryError, load_registry

    try:
        registry = load_registry(None)
        entries, problems, error = registry.sources, [str(p) for p in registry.problems], ""
    except RegistryError as exc:
        entries, problems, error = [], [], str(exc)
    runs = ledger.list_runs(limit=100)
    latest: dict[str, Record] = {}
    for run in runs:
        latest.setdefault(run.get("source", ""), run)
    return {
        "sources": entries,
        "problems": problems,
        "error": error,
        "latest": latest,
        "runs": runs,
    }


def _via(via: str) -> str:
    return f" | via: {via}" if via else ""
