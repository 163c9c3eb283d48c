"""One ad: text with its reasons' cues, entities, sightings, evidence, related ads, decisions."""

from __future__ import annotations

import urllib.parse

from starlette.responses import Response

from patroli.storage import AdNotFound, ReviewConflict
from patroli.storage.schema import DECISIONS
from patroli.web.highlight import render_with_cues
from patroli.web.operations import DecisionError, ad_detail, decide, evidence_snapshot
from patroli.web.present import plausible_id, reasons, whole_number
from patroli.web.routes.queue import FILTER_KEYS, queue_filters
from patroli.web.routing import ANALYST, ANY_ROLE, INVESTIGATOR, Ctx, Page

# The evidence frame: no scripts, no plugins, no requests of any kind, no same-origin access.
EVIDENCE_CSP = "sandbox; default-src 'none'; frame-ancestors 'self'"
_NOT_HTML = ("<?xml", "<item", "<entry", "<rss", "<feed")
MAX_IMAGES_SHOWN = 12
ENTITY_FIELDS = (
    ("phones", "phone"),
    ("whatsapp", "phone"),
    ("telegram", "handle"),
    ("emails", "email"),
)


def _ad_page(ctx: Ctx, ad_id: str, *, status: int = 200, error: str = "") -> Response:
    if not plausible_id(ad_id):
        return ctx.error(404, ctx._("No ad with this id."))
    try:
        detail = ad_detail(ctx.ads, ctx.reviews, ad_id)
    except AdNotFound:
        return ctx.error(404, ctx._("No ad with this id."))
    ad = detail["ad"]
    text, found = render_with_cues(ad.get("text"), ad.get("reason_codes") or [], ctx.language)
    done = ctx.param("done")
    codes = ad.get("reason_codes") or []
    image_text, image_found = render_with_cues(ad.get("image_text"), codes, ctx.language)
    images = [
        {**image, "same_flyer": ctx.ads.same_flyer([image], limit=10, exclude=ad_id)}
        for image in (ad.get("images") or [])[:MAX_IMAGES_SHOWN]
    ]
    investigator = ctx.can(INVESTIGATOR)
    register = next(
        (
            i
            for i in ctx.register.register_imports(kind="licences")
            if ad.get("register_import") and i["import_id"] == ad["register_import"]
        ),
        None,
    )
    return ctx.render(
        "ad.html",
        status=status,
        ad=ad,
        text=text,
        found=found,
        reasons=reasons(ad, ctx.language),
        evidence=detail["evidence"],
        related=detail["related"],
        history=detail["history"],
        images=images,
        image_text=image_text,
        found_in_image=image_found,
        decisions=DECISIONS,
        error=error,
        entity_fields=ENTITY_FIELDS,
        done=done if done in DECISIONS else "",
        register=register,
        back={k: ctx.param(k, max_chars=64) for k in FILTER_KEYS if ctx.param(k)},
        cases_of_ad=ctx.cases.cases_holding("ad", ad_id) if investigator else [],
        open_cases=[c for c in ctx.cases.list_cases(limit=200) if c["status"] != "closed"]
        if investigator
        else [],
    )


def ad_page(ctx: Ctx) -> Response:
    return _ad_page(ctx, ctx.request.path_params["ad_id"])


def review(ctx: Ctx) -> Response:
    ad_id = ctx.request.path_params["ad_id"]
    if not plausible_id(ad_id):
        return ctx.error(404, ctx._("No ad with this id."))
    decision = ctx.field("decision")
    raw_version = ctx.field("expected_version", max_chars=30)
    version = whole_number(raw_version)
    if raw_version and version is None:
        return _ad_page(
            ctx, ad_id, status=400, error=ctx._("The ad's version must be a whole number.")
        )
    try:
        decide(
            ctx.reviews,
            ad_id,
            decision,
            actor=ctx.actor,
            note=ctx.field("note", max_chars=2000),
            expected_version=version,
        )
    except DecisionError:
        return _ad_page(ctx, ad_id, status=400, error=ctx._("Choose a decision."))
    except AdNotFound:
        return ctx.error(404, ctx._("No ad with this id."))
    except ReviewConflict:
        return _ad_page(
            ctx,
            ad_id,
            status=409,
            error=ctx._(
                "Someone else decided on this ad meanwhile. Check the history below and decide again."
            ),
        )
    if ctx.field("return_to") == "queue":
        filters, _, _ = queue_filters({k: ctx.field(k, max_chars=64) for k in FILTER_KEYS})
        return ctx.redirect("/queue?" + urllib.parse.urlencode({**filters, "done": decision}))
    return ctx.redirect(f"/ads/{urllib.parse.quote(ad_id, safe='')}?done={decision}")


def evidence(ctx: Ctx) -> Response:
    ad_id, index = ctx.request.path_params["ad_id"], ctx.request.path_params["index"]
    if not plausible_id(ad_id):
        return ctx.error(404, ctx._("No ad with this id."))
    try:
        snapshot = evidence_snapshot(ctx.ads, ad_id, index)
    except AdNotFound:
        return ctx.error(404, ctx._("No ad with this id."))
    if snapshot is None:
        return ctx.error(404, ctx._("No such snapshot."))
    html = snapshot.get("html") or ""
    # Feed items are XML, not pages: show them as text rather than as a blank document.
    as_text = ctx.param("as") == "text" or html.lstrip()[:64].lower().startswith(_NOT_HTML)
    headers = {
        "Content-Security-Policy": EVIDENCE_CSP,
        "X-Frame-Options": "SAMEORIGIN",
        "Content-Disposition": "inline",
    }
    return Response(html, media_type="text/plain" if as_text else "text/html", headers=headers)


def explain(ctx: Ctx) -> Response:
    """What moves the score: the ad's text scored again, part by part, by the model that scored it
    (the active one if that model is gone), so an analyst can check why."""
    from classifiers.datasets import model_text
    from classifiers.registry import ModelError, active_version, find_model
    from classifiers.scoring import cached_model

    ad_id = ctx.request.path_params["ad_id"]
    try:
        ad = ctx.ads.get_ad(ad_id)
    except AdNotFound:
        return ctx.error(404, ctx._("No ad with this id."))
    try:
        try:
            path = find_model(str(ad.get("model_version") or active_version()))
        except ModelError:
            path = find_model(active_version())
        model = cached_model(str(path))
    except ModelError as exc:
        return ctx.error(503, ctx._("No model can explain this ad:") + f" {exc}")
    result = model.explain(model_text(ad.get("title"), ad.get("text")), ctx.language)
    return ctx.render("explain.html", ad=ad, x=result)


PAGES = [
    Page("/ads/{ad_id}", ad_page, ANY_ROLE),
    Page("/ads/{ad_id}/explain", explain, ANY_ROLE),
    Page("/ads/{ad_id}/review", review, ANALYST, ("POST",)),
    Page("/ads/{ad_id}/evidence/{index:int}", evidence, ANY_ROLE),
]
