"""The review queue: flagged, unreviewed ads by risk or uncertainty; quick and bulk decisions."""

from __future__ import annotations

import threading
import time
import urllib.parse

from starlette.responses import Response

from patroli.storage.schema import DECISIONS
from patroli.web.operations import QUEUE_FILTER_KEYS, DecisionError, decide_many
from patroli.web.operations import queue_sort as sort_order
from patroli.web.present import plausible_id, queue_filters, reasons, whole_number
from patroli.web.routing import ANALYST, Ctx, Page

FILTER_KEYS = QUEUE_FILTER_KEYS
DONE_KEYS = {"confirmed", "dismissed", "escalated", "bulk", "conflict", "missing"}
# The filters' choices (sources and countries of the backlog) change with crawls, not with each
# page: counted over the whole backlog once per this many seconds, not on every queue page.
OPTIONS_SECONDS = 120.0


def queue(ctx: Ctx) -> Response:
    params = {k: ctx.param(k, max_chars=64) for k in FILTER_KEYS}
    filters, query, ignored = queue_filters(params)
    try:
        after = ctx.cursor(query, sort_order(filters))
    except ValueError:
        return ctx.error(
            400, ctx._("This page link is not valid here; start again from the first page.")
        )
    result = ctx.ads.search(
        query, limit=ctx.settings.page_size, sort=sort_order(filters), after=after
    )
    options = _filter_options(ctx)
    rows = [{**hit, "reason_list": reasons(hit, ctx.language)} for hit in result.hits]
    done = ctx.param("done")
    return ctx.render(
        "queue.html",
        rows=rows,
        total=result.total,
        filters=filters,
        ignored=ignored,
        sources=sorted((options.get("source") or {}).items()),
        countries=sorted((options.get("country") or {}).items()),
        next_after=ctx.next_cursor(result.next_after, query, sort_order(filters)),
        paged=bool(after),
        done=done if done in DONE_KEYS else "",
        done_n=ctx.param("n", max_chars=6),
        done_skipped=ctx.param("skipped", max_chars=6),
        decisions=DECISIONS,
        bulk_max=ctx.settings.bulk_max,
    )


def _filter_options(ctx: Ctx) -> dict[str, dict[str, int]]:
    """The backlog's sources and countries with their counts, counted by one request at a time
    (the others show the previous counts meanwhile) at most once per ``OPTIONS_SECONDS``."""
    cache = ctx.state.cache
    at, options = cache.get("queue_options", (0.0, None))
    if options is not None and time.monotonic() - at <= OPTIONS_SECONDS:
        return options
    lock = cache.setdefault("queue_options_lock", threading.Lock())
    if not lock.acquire(blocking=options is None):
        return options  # someone is counting: the previous counts will do meanwhile
    try:
        at, options = cache.get("queue_options", (0.0, None))
        if options is None or time.monotonic() - at > OPTIONS_SECONDS:
            options = ctx.ads.search("attention:true status:new", limit=1, facets=True).facets
            cache["queue_options"] = (time.monotonic(), options)
        return options
    finally:
        lock.release()


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
            ad_id, colon, seen = value.partition(":")
            version = whole_number(seen)
            if not plausible_id(ad_id) or (colon and version is None):
                return ctx.error(400, ctx._("A selected ad is not of the form id:version."))
            targets.append((ad_id, version))
        scope = "selected"
    if not targets:
        return ctx.redirect(queue_url(ctx))
    try:
        decided, skipped_ids = decide_many(
            ctx.reviews, ctx.accounts, targets, decision, actor=ctx.actor, note=note, scope=scope
        )
    except DecisionError:
        return ctx.error(400, ctx._("Choose a decision."))
    skipped = len(skipped_ids)
    return ctx.redirect(queue_url(ctx, done="bulk", n=str(decided), skipped=str(skipped)))


PAGES = [
    Page("/queue", queue, ANALYST),
    Page("/queue/bulk", bulk, ANALYST, ("POST",)),
]
