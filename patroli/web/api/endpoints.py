"""The HTTP API's endpoints: each does what its page does (``web.operations``) and answers JSON.

Roles are the pages' (``web.routing``): search and export for investigators, the queue and
decisions for analysts, ads and runs for every role, sources for admins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from patroli.storage import AdNotFound, Record, ReviewConflict
from patroli.storage.schema import DECISIONS
from patroli.web.api.routing import ApiCtx, ApiError, Endpoint, Param
from patroli.web.i18n import N_
from patroli.web.operations import (
    EXPORT_FORMATS,
    QUEUE_FILTER_KEYS,
    SORTS,
    DecisionError,
    ad_detail,
    decide,
    decide_many,
    evidence_snapshot,
    export,
    export_response,
    queue_page,
    search_ads,
    search_sort,
    sources_status,
)
from patroli.web.present import reasons
from patroli.web.routing import ADMIN, ANALYST, ANY_ROLE, INVESTIGATOR

EXAMPLE_AD = "5f1e0c9a7b3d2e8f4a6c1b0d"  # the documented example ad (tests seed it)
MAX_PAGE = 200


def explained(ad: Mapping[str, Any], language: str) -> Record:
    """An ad record with its reasons explained in ``language``."""
    return {**ad, "explanations": [{"code": c, "text": t} for c, t in reasons(ad, language)]}


def parse_after(raw: str) -> list[Any] | None:
    """A pagination cursor from the query string (the ``next_after`` of the previous page, as
    JSON): a list of one or two scalars, else ``None``. The API returns cursors in the open: a
    token holder may page anywhere its role may search."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, list) or not 1 <= len(value) <= 2:
        return None
    if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
        return None
    return value


def _after(ctx: ApiCtx) -> list[Any] | None:
    raw = ctx.param("after", max_chars=300)
    after = parse_after(raw)
    if raw and after is None:
        raise ApiError(400, "bad_parameter", N_("after: pass the next_after of the previous page."))
    return after


def _ad_id(ctx: ApiCtx) -> str:
    return str(ctx.request.path_params["ad_id"])[:64]


def _not_found() -> ApiError:
    return ApiError(404, "not_found", N_("No ad with this id."))


def me(ctx: ApiCtx) -> dict[str, Any]:
    keys = ("id", "name", "scope", "created_at", "expires_at", "last_used_at")
    return {
        "name": ctx.user["name"],
        "role": ctx.user["role"],
        "token": {k: ctx.token.get(k) for k in keys},
    }


def search(ctx: ApiCtx) -> dict[str, Any]:
    query = ctx.param("q", max_chars=1000).strip()
    sort = search_sort(ctx.param("sort", "relevance"))
    limit = ctx.int_param("limit", ctx.state.settings.page_size, 1, MAX_PAGE)
    result = search_ads(ctx.ads, query, sort=sort, limit=limit, after=_after(ctx))
    return {
        "total": result.total,
        "hits": [explained(h, ctx.language) for h in result.hits],
        "facets": result.facets,
        "next_after": result.next_after,
    }


def ad(ctx: ApiCtx) -> dict[str, Any]:
    try:
        detail = ad_detail(ctx.ads, ctx.reviews, _ad_id(ctx))
    except AdNotFound:
        raise _not_found() from None
    detail["ad"] = explained(detail["ad"], ctx.language)
    detail["related"] = [explained(r, ctx.language) for r in detail["related"]]
    return detail


def related(ctx: ApiCtx) -> dict[str, Any]:
    ad_id = _ad_id(ctx)
    limit = ctx.int_param("limit", 20, 1, MAX_PAGE)
    try:
        ctx.ads.get_ad(ad_id)
    except AdNotFound:
        raise _not_found() from None
    return {"related": [explained(r, ctx.language) for r in ctx.ads.related(ad_id, limit=limit)]}


def evidence(ctx: ApiCtx) -> dict[str, Any]:
    index = int(ctx.request.path_params["index"])
    try:
        snapshot = evidence_snapshot(ctx.ads, _ad_id(ctx), index)
    except AdNotFound:
        raise _not_found() from None
    if snapshot is None:
        raise ApiError(404, "not_found", N_("No such snapshot."))
    return {
        "index": index,
        **{k: snapshot.get(k) for k in ("crawled_at", "url", "content_hash")},
        "html": snapshot.get("html") or "",
    }


def _decision_fields(body: Mapping[str, Any]) -> tuple[str, str]:
    decision, note = body.get("decision"), body.get("note", "")
    if decision not in DECISIONS:
        raise ApiError(400, "bad_decision", N_("Choose a decision."), {"allowed": list(DECISIONS)})
    if not isinstance(note, str):
        raise ApiError(400, "bad_parameter", N_("note: expected text."))
    return str(decision), note


def _version(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "bad_parameter", N_("expected_version: expected a whole number."))
    return value


def decision(ctx: ApiCtx) -> dict[str, Any]:
    choice, note = _decision_fields(ctx.body)
    ad_id = _ad_id(ctx)
    try:
        updated = decide(
            ctx.reviews,
            ad_id,
            choice,
            actor=ctx.actor,
            note=note,
            expected_version=_version(ctx.body.get("expected_version")),
        )
    except AdNotFound:
        raise _not_found() from None
    except ReviewConflict as exc:
        raise ApiError(
            409,
            "conflict",
            N_(
                "Someone else decided on this ad meanwhile. Check the history below and decide again."
            ),
            {"expected_version": exc.expected, "version": exc.actual},
        ) from None
    return {"ad": explained(updated, ctx.language)}


def queue(ctx: ApiCtx) -> dict[str, Any]:
    params = {k: ctx.param(k, max_chars=64) for k in QUEUE_FILTER_KEYS}
    limit = ctx.int_param("limit", ctx.state.settings.page_size, 1, MAX_PAGE)
    filters, ignored, result, options = queue_page(ctx.ads, params, limit=limit, after=_after(ctx))
    return {
        "filters": filters,
        "ignored": ignored,
        "total": result.total,
        "hits": [explained(h, ctx.language) for h in result.hits],
        "facets": result.facets,
        "options": options,
        "next_after": result.next_after,
    }


def decisions(ctx: ApiCtx) -> dict[str, Any]:
    choice, note = _decision_fields(ctx.body)
    items = ctx.body.get("ads")
    if not isinstance(items, list) or not items:
        raise ApiError(
            400, "bad_parameter", N_("ads: expected a list of {ad_id, expected_version}.")
        )
    if len(items) > ctx.state.settings.bulk_max:
        raise ApiError(
            400, "too_many", N_("At most %(n)s ads at once."), n=ctx.state.settings.bulk_max
        )
    targets = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("ad_id"), str):
            raise ApiError(
                400, "bad_parameter", N_("ads: expected a list of {ad_id, expected_version}.")
            )
        targets.append((item["ad_id"][:64], _version(item.get("expected_version"))))
    try:
        decided, skipped = decide_many(
            ctx.reviews,
            ctx.accounts,
            targets,
            choice,
            actor=ctx.actor,
            note=note,
            scope="selected",
            via=ctx.via,
        )
    except DecisionError:
        raise ApiError(400, "bad_decision", N_("Choose a decision.")) from None
    return {"decided": decided, "skipped": skipped}


def runs(ctx: ApiCtx) -> dict[str, Any]:
    source = ctx.param("source", max_chars=64)
    limit = ctx.int_param("limit", 50, 1, 1000)
    return {"runs": ctx.ledger.list_runs(source=source, limit=limit)}


def sources(ctx: ApiCtx) -> dict[str, Any]:
    status = sources_status(ctx.ledger)
    listed = [
        {
            "name": s.name,
            "kind": s.kind,
            "enabled": s.enabled,
            "schedule": s.schedule,
            "latest_run": status["latest"].get(s.name),
        }
        for s in status["sources"]
    ]
    return {"sources": listed, "problems": status["problems"], "error": status["error"]}


def export_ads(ctx: ApiCtx) -> Response:
    fmt = ctx.param("format", "json")
    if fmt not in EXPORT_FORMATS:
        raise ApiError(400, "bad_parameter", N_("format: json or csv."))
    query = ctx.param("q", max_chars=1000).strip()
    sort = search_sort(ctx.param("sort", "relevance"))
    records, total = export(
        ctx.ads,
        ctx.accounts,
        actor=ctx.actor,
        query=query,
        sort=sort,
        fmt=fmt,
        max_rows=ctx.state.settings.export_max_rows,
        language=ctx.language,
        via=ctx.via,
    )
    return export_response(fmt, query, total, records)


# --- the declarations (routes and the OpenAPI document) -----------------------------------------

_AD_ID = Param(
    "ad_id", {"type": "string", "maxLength": 64}, "The ad's id.", "path", True, EXAMPLE_AD
)
_LIMIT = Param(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
    "Hits per page (default 25).",
    example=10,
)
_AFTER = Param(
    "after",
    {"type": "string"},
    "The previous page's `next_after`, as JSON: continues the same query (deep paging).",
)
_Q = Param(
    "q",
    {"type": "string", "maxLength": 1000},
    'A query in patroli\'s syntax: words, "phrases", `phone:`, `handle:`, `email:`, `country:`, '
    "`source:`, `kind:`, `status:`, `flagged:`, `risk>=`, `posted>=`, `seen>=`, `first>=`; "
    "`-word` excludes (README, 'Query syntax').",
    example="flagged:true country:KH",
)
_SORT = Param("sort", {"type": "string", "enum": list(SORTS)}, "Order of the hits.", example="risk")
_QUEUE_PARAMS = (
    Param(
        "source", {"type": "string", "maxLength": 64}, "Only this source.", example="demo_telegram"
    ),
    Param(
        "country",
        {"type": "string", "pattern": "^[A-Za-z]{2}$"},
        "Only ads naming this destination (ISO 3166 alpha-2).",
        example="KH",
    ),
    Param(
        "since",
        {"type": "string", "format": "date"},
        "First seen on or after this day.",
        example="2026-11-01",
    ),
    Param("until", {"type": "string", "format": "date"}, "First seen on or before this day."),
    Param(
        "min_risk",
        {"type": "number", "minimum": 0, "maximum": 1},
        "Lowest risk score.",
        example=0.5,
    ),
    Param(
        "sort",
        {"type": "string", "enum": ["risk", "uncertainty"]},
        "`risk` (riskiest first) or `uncertainty` (closest to the threshold first).",
        example="uncertainty",
    ),
)
_AD_ERRORS = {404: ("Error", "No such ad.")}

ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "/me",
        me,
        ANY_ROLE,
        "Who the token acts as",
        tag="account",
        description="The token's owner, role and the token itself (never its secret).",
        responses={200: ("Me", "The token's owner.")},
    ),
    Endpoint(
        "/ads",
        search,
        INVESTIGATOR,
        "Search ads",
        tag="ads",
        description="The investigators' search (the page /search): the query syntax, facets, "
        "highlights, cursor paging.",
        params=(_Q, _SORT, _LIMIT, _AFTER),
        responses={200: ("SearchResult", "One page of hits with the facets of the whole result.")},
    ),
    Endpoint(
        "/ads/{ad_id}",
        ad,
        ANY_ROLE,
        "An ad with its evidence, related ads and decisions",
        tag="ads",
        params=(_AD_ID,),
        responses={200: ("AdDetail", "The ad as its page shows it."), **_AD_ERRORS},
    ),
    Endpoint(
        "/ads/{ad_id}/related",
        related,
        ANY_ROLE,
        "Related ads",
        tag="ads",
        description="Ads sharing a phone, WhatsApp number, handle or e-mail with the ad, then "
        "ads with similar text.",
        params=(
            _AD_ID,
            Param(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                "How many (default 20).",
                example=5,
            ),
        ),
        responses={200: ("RelatedAds", "Related ads, the closest first."), **_AD_ERRORS},
    ),
    Endpoint(
        "/ads/{ad_id}/evidence/{index:int}",
        evidence,
        ANY_ROLE,
        "One kept snapshot of the ad's page",
        tag="ads",
        description="The raw HTML as crawled: hostile content, never render it unsandboxed.",
        params=(
            _AD_ID,
            Param(
                "index",
                {"type": "integer", "minimum": 0},
                "Which snapshot (AdDetail.evidence[].index).",
                "path",
                True,
                0,
            ),
        ),
        responses={200: ("Evidence", "The snapshot."), 404: ("Error", "No such ad or snapshot.")},
    ),
    Endpoint(
        "/ads/{ad_id}/decision",
        decision,
        ANALYST,
        "Decide on an ad",
        method="POST",
        tag="review",
        description="Record an analyst's decision, as the ad page does: checked against the "
        "version you saw (409 if someone else decided meanwhile) and audited.",
        params=(_AD_ID,),
        body="Decision",
        body_example={
            "decision": "escalated",
            "note": "Modus admin Kamboja, diteruskan ke BP2MI.",
            "expected_version": 1,
        },
        responses={
            200: ("DecisionResult", "The ad as it is now."),
            **_AD_ERRORS,
            409: ("Error", "Someone else decided meanwhile; nothing was changed."),
        },
    ),
    Endpoint(
        "/queue",
        queue,
        ANALYST,
        "The review queue",
        tag="review",
        description="Flagged ads nobody decided on yet, riskiest or most uncertain first (the "
        "page /queue), with its filters.",
        params=(*_QUEUE_PARAMS, _LIMIT, _AFTER),
        responses={200: ("Queue", "One page of the queue.")},
    ),
    Endpoint(
        "/queue/decisions",
        decisions,
        ANALYST,
        "Decide on many ads",
        method="POST",
        tag="review",
        description="One decision on a selection (the queue's bulk decision); each ad with the "
        "version you saw: ads someone else decided meanwhile are skipped, never "
        "overwritten. Audited once.",
        body="Decisions",
        body_example={
            "decision": "dismissed",
            "note": "Lowongan resmi, sudah dicek.",
            "ads": [{"ad_id": EXAMPLE_AD, "expected_version": 2}],
        },
        responses={200: ("DecisionsResult", "How many were decided; which were skipped.")},
    ),
    Endpoint(
        "/runs",
        runs,
        ANY_ROLE,
        "Crawl runs",
        tag="patrol",
        description="The run history, newest first: per source pages, ads, new, flagged, errors, "
        "degraded pages, status and notes.",
        params=(
            Param(
                "source",
                {"type": "string", "maxLength": 64},
                "Only this source.",
                example="demo_telegram",
            ),
            Param(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 1000},
                "How many (default 50).",
                example=20,
            ),
        ),
        responses={200: ("Runs", "Runs, newest first.")},
    ),
    Endpoint(
        "/sources",
        sources,
        ADMIN,
        "Sources and their status",
        tag="patrol",
        description="The registry's sources with each one's latest run, and invalid entries.",
        responses={200: ("Sources", "Every source of the registry.")},
    ),
    Endpoint(
        "/export",
        export_ads,
        INVESTIGATOR,
        "Export a search",
        tag="ads",
        description="Every hit of a query up to PATROLI_WEB_EXPORT_MAX_ROWS, as JSON or CSV "
        "(the page's export; audited).",
        params=(
            _Q,
            _SORT,
            Param(
                "format",
                {"type": "string", "enum": list(EXPORT_FORMATS)},
                "json (default) or csv.",
                example="json",
            ),
        ),
        responses={200: ("Export", "The export (CSV: the same columns, UTF-8 with BOM).")},
        csv=True,
    ),
]
