"""One ad: text with its reasons' cues, entities, sightings, evidence, related ads, decisions."""

from __future__ import annotations

import urllib.parse

from starlette.responses import Response

from patroli.storage import AdNotFound, ReviewConflict
from patroli.storage.schema import DECISIONS
from patroli.web.highlight import render_with_cues
from patroli.web.present import reasons
from patroli.web.routes.queue import FILTER_KEYS, queue_filters
from patroli.web.routing import ANALYST, ANY_ROLE, INVESTIGATOR, Ctx, Page

# The evidence frame: no scripts, no plugins, no requests of any kind, no same-origin access.
EVIDENCE_CSP = "sandbox; default-src 'none'; frame-ancestors 'self'"
_NOT_HTML = ("<?xml", "<item", "<entry", "<rss", "<feed")
ENTITY_FIELDS = (
    ("phones", "phone"),
    ("whatsapp", "phone"),
    ("telegram", "handle"),
    ("emails", "email"),
)


def _ad_page(ctx: Ctx, ad_id: str, *, status: int = 200, error: str = "") -> Response:
    try:
        ad = ctx.ads.get_ad(ad_id, with_evidence=True)
    except AdNotFound:
        return ctx.error(404, ctx._("No ad with this id."))
    text, found = render_with_cues(ad.get("text"), ad.get("reason_codes") or [], ctx.language)
    evidence = [{"index": i, "crawled_at": e.get("crawled_at"), "url": e.get("url"),
                 "content_hash": e.get("content_hash"), "size": len(e.get("html") or "")}
                for i, e in enumerate(ad.pop("evidence", []) or [])]  # fmt: skip
    done = ctx.param("done")
    investigator = ctx.can(INVESTIGATOR)
    register = next((i for i in ctx.register.register_imports(kind="licences")
                     if ad.get("register_import") and i["import_id"] == ad["register_import"]), None)  # fmt: skip
    return ctx.render(
        "ad.html", status=status, ad=ad, text=text, found=found, reasons=reasons(ad, ctx.language),
        evidence=evidence, related=ctx.ads.related(ad_id, limit=20),
        history=ctx.reviews.review_history(ad_id), decisions=DECISIONS, error=error,
        entity_fields=ENTITY_FIELDS, done=done if done in DECISIONS else "", register=register,
        back={k: ctx.param(k, max_chars=64) for k in FILTER_KEYS if ctx.param(k)},
        cases_of_ad=ctx.cases.cases_holding("ad", ad_id) if investigator else [],
        open_cases=[c for c in ctx.cases.list_cases(limit=200) if c["status"] != "closed"] if investigator else [],
    )  # fmt: skip


def ad_page(ctx: Ctx) -> Response:
    return _ad_page(ctx, ctx.request.path_params["ad_id"])


def review(ctx: Ctx) -> Response:
    ad_id = ctx.request.path_params["ad_id"]
    decision = ctx.field("decision")
    if decision not in DECISIONS:
        return _ad_page(ctx, ad_id, status=400, error=ctx._("Choose a decision."))
    version = ctx.field("expected_version")
    try:
        ctx.reviews.review(ad_id, decision, reviewer=ctx.actor, note=ctx.field("note", max_chars=2000).strip(),
                         expected_version=int(version) if version.isdigit() else None)  # fmt: skip
    except AdNotFound:
        return ctx.error(404, ctx._("No ad with this id."))
    except ReviewConflict:
        return _ad_page(ctx, ad_id, status=409,
                        error=ctx._("Someone else decided on this ad meanwhile. Check the history below and decide again."))  # fmt: skip
    if ctx.field("return_to") == "queue":
        filters, _, _ = queue_filters({k: ctx.field(k, max_chars=64) for k in FILTER_KEYS})
        return ctx.redirect("/queue?" + urllib.parse.urlencode({**filters, "done": decision}))
    return ctx.redirect(f"/ads/{urllib.parse.quote(ad_id, safe='')}?done={decision}")


def evidence(ctx: Ctx) -> Response:
    ad_id, index = ctx.request.path_params["ad_id"], ctx.request.path_params["index"]
    try:
        snapshots = ctx.ads.get_ad(ad_id, with_evidence=True).get("evidence") or []
    except AdNotFound:
        return ctx.error(404, ctx._("No ad with this id."))
    if not 0 <= index < len(snapshots):
        return ctx.error(404, ctx._("No such snapshot."))
    html = snapshots[index].get("html") or ""
    # Feed items are XML, not pages: show them as text rather than as a blank document.
    as_text = ctx.param("as") == "text" or html.lstrip()[:64].lower().startswith(_NOT_HTML)
    headers = {"Content-Security-Policy": EVIDENCE_CSP, "X-Frame-Options": "SAMEORIGIN",
               "Content-Disposition": "inline"}  # fmt: skip
    return Response(html, media_type="text/plain" if as_text else "text/html", headers=headers)


PAGES = [
    Page("/ads/{ad_id}", ad_page, ANY_ROLE),
    Page("/ads/{ad_id}/review", review, ANALYST, ("POST",)),
    Page("/ads/{ad_id}/evidence/{index:int}", evidence, ANY_ROLE),
]
