"""The review queue: flagged, unreviewed ads by risk or uncertainty; quick and bulk decisions."""

from __future__ import annotations

import urllib.parse

from starlette.responses import Response

from patroli.storage import AdNotFound, ReviewConflict
from patroli.storage.base import SortOrder
from patroli.storage.schema import DECISIONS
from patroli.web.present import dump_after, parse_after, queue_filters, reasons
from patroli.web.routing import ANALYST, Ctx, Page

FILTER_KEYS = ("source", "country", "since", "until", "min_risk", "sort")
DONE_KEYS = {"confirmed", "dismissed", "escalated", "bulk", "conflict", "missing"}


def sort_order(filters: dict[str, str]) -> SortOrder:
    return "uncertainty" if filters.get("sort") == "uncertainty" else "risk"


def queue(ctx: Ctx) -> Response:
    params = {k: ctx.param(k, max_chars=64) for k in FILTER_KEYS}
    filters, query, ignored = queue_filters(params)
    after = parse_after(ctx.param("after", max_chars=300))
    result = ctx.ads.search(query, limit=ctx.settings.page_size, sort=sort_order(filters),
                              facets=True, after=after)  # fmt: skip
    options = ctx.ads.search("attention:true status:new", limit=1, facets=True).facets
    rows = [{**hit, "reason_list": reasons(hit, ctx.language)} for hit in result.hits]
    done = ctx.param("done")
    return ctx.render(
        "queue.html", rows=rows, total=result.total, filters=filters, ignored=ignored,
        sources=sorted((options.get("source") or {}).items()),
        countries=sorted((options.get("country") or {}).items()),
        next_after=dump_after(result.next_after), paged=bool(after),
        done=done if done in DONE_KEYS else "", done_n=ctx.param("n", max_chars=6),
        done_skipped=ctx.param("skipped", max_chars=6), decisions=DECISIONS, bulk_max=ctx.settings.bulk_max,
    )  # fmt: skip


def queue_url(ctx: Ctx, **extra: str) -> str:
    params = {k: ctx.field(k, max_chars=64) for k in FILTER_KEYS}
    filters, _, _ = queue_filters(params)
    return "/queue?" + urllib.parse.urlencode({**filters, **extra})


def bulk(ctx: Ctx) -> Response:
    decision = ctx.field("decision")
    if decision not in DECISIONS:
        return ctx.error(400, ctx._("Choose a decision."))
    note = ctx.field("note", max_chars=2000).strip()
    targets: list[tuple[str, int | None]] = []
    if ctx.field("scope") == "filter":
        params = {k: ctx.field(k, max_chars=64) for k in FILTER_KEYS}
        filters, query, _ = queue_filters(params)
        result = ctx.ads.search(query, limit=ctx.settings.bulk_max, sort=sort_order(filters))
        targets = [(hit["ad_id"], hit.get("version")) for hit in result.hits]
        scope = query
    else:
        for value in ctx.fields("ids", max_items=ctx.settings.bulk_max):
            ad_id, _, seen = value.partition(":")
            targets.append((ad_id, int(seen) if seen.isdigit() else None))
        scope = "selected"
    if not targets:
        return ctx.redirect(queue_url(ctx))
    decided, skipped = 0, 0
    for ad_id, version in targets:
        try:
            ctx.reviews.review(
                ad_id, decision, reviewer=ctx.actor, note=note, expected_version=version
            )
            decided += 1
        except (ReviewConflict, AdNotFound):
            skipped += 1  # someone else decided meanwhile, or the id is unknown: never overwrite
    ctx.accounts.append_audit(ctx.actor, "bulk_review", f"{decided} ads", None,
                           {"decision": decision, "count": decided, "skipped": skipped},
                           detail=f"scope: {scope}" + (f"; note: {note}" if note else ""))  # fmt: skip
    return ctx.redirect(queue_url(ctx, done="bulk", n=str(decided), skipped=str(skipped)))


PAGES = [
    Page("/queue", queue, ANALYST),
    Page("/queue/bulk", bulk, ANALYST, ("POST",)),
]
