"""Investigator search (the store's query syntax, facets, highlights), exports, entity pages.

Exports are POSTed forms (CSRF-checked like every state change: each is audited), so that no
cross-site link or image can make an investigator's browser export and audit anything."""

from __future__ import annotations

from collections import Counter

from starlette.responses import Response

from patroli.storage.base import SortOrder
from patroli.storage.query import QuerySyntaxError, normalize_filter_value
from patroli.web.operations import (
    SORTS,
    collect_hits,
    export,
    export_response,
    search_ads,
    search_sort,
)
from patroli.web.present import reasons
from patroli.web.routing import INVESTIGATOR, Ctx, Page

ENTITY_KINDS = ("phone", "handle", "email")


def _query_and_sort(ctx: Ctx, *, form: bool = False) -> tuple[str, SortOrder]:
    read = ctx.field if form else ctx.param
    return read("q", max_chars=1000).strip(), search_sort(read("sort", "relevance", max_chars=20))


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
            result = search_ads(
                ctx.ads, query, sort=sort, limit=ctx.settings.page_size, after=after
            )
    except (QuerySyntaxError, ValueError) as exc:
        error = str(exc)  # the parser's message names the bad part of the query
    hits = [{**h, "reason_list": reasons(h, ctx.language)} for h in (result.hits if result else [])]
    return ctx.render(
        "search.html",
        status=400 if error else 200,
        q=query,
        sort=sort,
        sorts=SORTS,
        error=error,
        total=result.total if result else 0,
        hits=hits,
        facets=result.facets if result else {},
        next_after=ctx.next_cursor(result.next_after if result else None, query, sort),
        paged=bool(after),
    )


def _export(ctx: Ctx, fmt: str) -> Response:
    query, sort = _query_and_sort(ctx, form=True)
    try:
        records, total = export(
            ctx.ads,
            ctx.accounts,
            actor=ctx.actor,
            query=query,
            sort=sort,
            fmt=fmt,
            max_rows=ctx.settings.export_max_rows,
            language=ctx.language,
        )
    except (QuerySyntaxError, ValueError) as exc:
        return ctx.error(400, str(exc))
    return export_response(fmt, query, total, records)


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
        hits, total = collect_hits(
            ctx.ads, f'{kind}:"{value}"', "date", ctx.settings.export_max_rows
        )
    except (QuerySyntaxError, ValueError) as exc:
        return ctx.error(400, str(exc))
    hits = hits[:1000]
    firsts = [h["first_seen"] for h in hits if h.get("first_seen")]
    lasts = [h["last_seen"] for h in hits if h.get("last_seen")]
    return ctx.render(
        "entity.html",
        kind=kind,
        value=value,
        hits=hits,
        total=total,
        per_source=Counter(h.get("source") for h in hits).most_common(),
        per_status=Counter(h.get("status") for h in hits).most_common(),
        first=min(firsts) if firsts else None,
        last=max(lasts) if lasts else None,
    )


PAGES = [
    Page("/search", search, INVESTIGATOR),
    Page("/search/export.csv", export_csv, INVESTIGATOR, ("POST",)),
    Page("/search/export.json", export_json, INVESTIGATOR, ("POST",)),
    Page("/entities/{kind}/{value}", entity, INVESTIGATOR),
]
