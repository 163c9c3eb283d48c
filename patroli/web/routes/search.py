"""Investigator search (the store's query syntax, facets, highlights), exports, entity pages.

Exports are POSTed forms (CSRF-checked like every state change: each is audited), so that no
cross-site link or image can make an investigator's browser export and audit anything."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections import Counter
from datetime import UTC, datetime
from typing import Any, cast

from starlette.responses import Response

from patroli.storage.base import SortOrder
from patroli.storage.query import QuerySyntaxError, normalize_filter_value
from patroli.web.present import reasons
from patroli.web.routing import INVESTIGATOR, Ctx, Page

SORTS = ("relevance", "risk", "date", "uncertainty")
ENTITY_KINDS = ("phone", "handle", "email")
EXPORT_FIELDS = ("ad_id", "url", "source", "title", "risk", "flagged", "status", "countries", "phones",
                 "whatsapp", "telegram", "emails", "posted_at", "first_seen", "last_seen", "gone_at",
                 "reasons", "model_version", "reviewed_by", "reviewed_at")  # fmt: skip
# What a spreadsheet runs as a formula when a cell starts with it (full-width forms included).
_FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
# Invisible characters a spreadsheet may skip before it reads the first visible one: format
# characters (bidi controls, zero-width), marks, separators, controls, and the blank fillers.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Mn", "Me", "Zs", "Zl", "Zp", "Co", "Cn", "Cs"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")


def _query_and_sort(ctx: Ctx, *, form: bool = False) -> tuple[str, SortOrder]:
    read = ctx.field if form else ctx.param
    sort = read("sort", "relevance", max_chars=20)
    return read("q", max_chars=1000).strip(), cast(
        SortOrder, sort if sort in SORTS else "relevance"
    )


def search(ctx: Ctx) -> Response:
    query, sort = _query_and_sort(ctx)
    error, result = "", None
    try:
        after = ctx.cursor(query, sort)
    except ValueError:
        after = None
        error = ctx._("This page link is not valid here; start again from the first page.")
    try:
        if not error:
            result = ctx.ads.search(
                query, limit=ctx.settings.page_size, sort=sort, facets=True, after=after
            )
    except (QuerySyntaxError, ValueError) as exc:
        error = str(exc)  # the parser's message names the bad part of the query
    hits = [{**h, "reason_list": reasons(h, ctx.language)} for h in (result.hits if result else [])]
    return ctx.render(
        "search.html", status=400 if error else 200, q=query, sort=sort, sorts=SORTS, error=error,
        total=result.total if result else 0, hits=hits, facets=result.facets if result else {},
        next_after=ctx.next_cursor(result.next_after if result else None, query, sort), paged=bool(after),
    )  # fmt: skip


def _rows(ctx: Ctx, query: str, sort: SortOrder) -> tuple[list[dict[str, Any]], int]:
    """Every hit of the query up to the export limit, paged with the store's cursor."""
    rows: list[dict[str, Any]] = []
    after: list[Any] | None = None
    total = 0
    limit = ctx.settings.export_max_rows
    while len(rows) < limit:
        result = ctx.ads.search(query, limit=min(500, limit - len(rows)), sort=sort, after=after)
        total = result.total
        rows += result.hits
        after = result.next_after
        if not after or not result.hits:
            break
    return rows, total


def _export_record(hit: dict[str, Any], language: str) -> dict[str, Any]:
    record = {name: hit.get(name) for name in EXPORT_FIELDS}
    record["reasons"] = [text for _, text in reasons(hit, language)]
    return record


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


def _export(ctx: Ctx, fmt: str) -> Response:
    query, sort = _query_and_sort(ctx, form=True)
    try:
        hits, total = _rows(ctx, query, sort)
    except (QuerySyntaxError, ValueError) as exc:
        return ctx.error(400, str(exc))
    records = [_export_record(h, ctx.language) for h in hits]
    ctx.accounts.append_audit(ctx.actor, "export", fmt, None, {"rows": len(records), "total": total},
                           detail=f"query: {query} | sort: {sort}")  # fmt: skip
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {"Content-Disposition": f'attachment; filename="patroli-{stamp}.{fmt}"'}
    if fmt == "json":
        body = json.dumps({"query": query, "total": total, "exported": len(records), "ads": records},
                          ensure_ascii=False, default=str, indent=1)  # fmt: skip
        return Response(body, media_type="application/json", headers=headers)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_FIELDS)
    for record in records:
        writer.writerow([_cell(record[name]) for name in EXPORT_FIELDS])
    return Response(
        "\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers
    )


def export_csv(ctx: Ctx) -> Response:
    return _export(ctx, "csv")


def export_json(ctx: Ctx) -> Response:
    return _export(ctx, "json")


def entity(ctx: Ctx) -> Response:
    kind, raw = ctx.request.path_params["kind"], ctx.request.path_params["value"][:256]
    if kind not in ENTITY_KINDS or not raw or '"' in raw or any(c.isspace() for c in raw):
        return ctx.error(404, ctx._("Unknown entity."))
    try:
        value = normalize_filter_value(kind, raw)
    except QuerySyntaxError as exc:
        return ctx.error(400, str(exc))
    try:
        hits, total = _rows(ctx, f'{kind}:"{value}"', "date")
    except (QuerySyntaxError, ValueError) as exc:
        return ctx.error(400, str(exc))
    hits = hits[:1000]
    firsts = [h["first_seen"] for h in hits if h.get("first_seen")]
    lasts = [h["last_seen"] for h in hits if h.get("last_seen")]
    return ctx.render(
        "entity.html", kind=kind, value=value, hits=hits, total=total,
        per_source=Counter(h.get("source") for h in hits).most_common(),
        per_status=Counter(h.get("status") for h in hits).most_common(),
        first=min(firsts) if firsts else None, last=max(lasts) if lasts else None,
    )  # fmt: skip


PAGES = [
    Page("/search", search, INVESTIGATOR),
    Page("/search/export.csv", export_csv, INVESTIGATOR, ("POST",)),
    Page("/search/export.json", export_json, INVESTIGATOR, ("POST",)),
    Page("/entities/{kind}/{value}", entity, INVESTIGATOR),
]
