"""Cases for investigators: the list, one case (items, notes, routing, its ads), changes, the bundle
export; holding an ad for investigation; the takedown tracker with its clocks and monthly counts.
Every change goes through the store's ``CaseStore`` / ``EvidenceStore`` roles, which audit it.
"""

from __future__ import annotations

import tempfile
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

from starlette.responses import Response

from patroli.cases.bundle import export_case
from patroli.cases.items import resolve
from patroli.cases.takedown import clock, monthly_counts
from patroli.storage import AdNotFound, NotFound
from patroli.storage.schema import (
    CASE_ITEM_KINDS,
    CASE_STATUSES,
    ROUTING_KINDS,
    TAKEDOWN_STATUSES,
)
from patroli.text.provinces import PROVINCES
from patroli.web.i18n import N_
from patroli.web.routing import INVESTIGATOR, Ctx, Page

# Labels of the choices, marked for the catalogues (translated where they are shown).
LABELS = (
    N_("open"),
    N_("investigating"),
    N_("referred"),
    N_("closed"),
    N_("ad"),
    N_("identifier"),
    N_("cluster"),
    N_("network"),
    N_("takedown"),
    N_("police"),
    N_("bp3mi"),
    N_("submitted"),
    N_("removed"),
    N_("refused"),
    N_("live"),
    N_("saman"),
    N_("aduankonten"),
)


def _case_url(case_id: str, done: str = "") -> str:
    return f"/cases/{urllib.parse.quote(case_id, safe='')}" + (f"?done={done}" if done else "")


def case_list(ctx: Ctx) -> Response:
    status = ctx.param("status", max_chars=32)
    status = status if status in CASE_STATUSES else ""
    return ctx.render(
        "cases.html",
        cases=ctx.cases.list_cases(status=status),
        selected_status=status,
        statuses=CASE_STATUSES,
        provinces=PROVINCES,
        error="",
    )


def create_case(ctx: Ctx) -> Response:
    try:
        case = ctx.cases.create_case(
            {
                "title": ctx.field("title", max_chars=200),
                "description": ctx.field("description", max_chars=10_000),
                "assignee": ctx.field("assignee", max_chars=64) or ctx.actor,
                "province": ctx.field("province", max_chars=60),
            },
            actor=ctx.actor,
        )
    except ValueError as exc:
        return ctx.render(
            "cases.html",
            status=400,
            cases=ctx.cases.list_cases(),
            statuses=CASE_STATUSES,
            provinces=PROVINCES,
            error=str(exc),
        )
    return ctx.redirect(_case_url(case["id"], "created"))


def _case_page(ctx: Ctx, case_id: str, *, status: int = 200, error: str = "") -> Response:
    try:
        case = ctx.cases.get_case(case_id)
    except NotFound:
        return ctx.error(404, ctx._("No case with this id."))
    resolution = resolve(ctx.state.store, case["items"])
    ads = []
    for ad_id in resolution.ad_ids[:500]:
        try:
            ads.append({**ctx.ads.get_ad(ad_id), "via": resolution.via.get(ad_id, [])})
        except AdNotFound:
            continue
    takedowns = [{**t, "clock": clock(t)} for t in ctx.cases.list_takedowns(case_id=case_id)]
    done = ctx.param("done", max_chars=32)
    return ctx.render(
        "case.html",
        status=status,
        case=case,
        ads=ads,
        unresolved=resolution.unresolved,
        error=error,
        statuses=CASE_STATUSES,
        item_kinds=CASE_ITEM_KINDS,
        routing_kinds=ROUTING_KINDS,
        provinces=PROVINCES,
        groups=resolution.groups,
        takedowns=takedowns,
        audit=ctx.accounts.audit_log(target=case_id, limit=50),
        done=done,
    )


def case_page(ctx: Ctx) -> Response:
    return _case_page(ctx, ctx.request.path_params["case_id"])


def _change(ctx: Ctx, action: str) -> Response:
    case_id = ctx.request.path_params["case_id"]
    try:
        if action == "update":
            changes: dict[str, str] = {
                name: ctx.field(name, max_chars=10_000)
                for name in ("title", "description", "status", "assignee", "province")
                if name in ctx.form
            }
            ctx.cases.update_case(case_id, changes, actor=ctx.actor)
        elif action == "item":
            ctx.cases.add_case_item(
                case_id,
                ctx.field("kind", max_chars=32),
                ctx.field("value", max_chars=300),
                actor=ctx.actor,
                note=ctx.field("note", max_chars=1000),
            )
        elif action == "remove":
            ctx.cases.remove_case_item(case_id, ctx.request.path_params["item_id"], actor=ctx.actor)
        elif action == "note":
            ctx.cases.add_case_note(case_id, ctx.field("text", max_chars=10_000), actor=ctx.actor)
        elif action == "route":
            current = ctx.cases.get_case(case_id)
            entry = {
                "kind": ctx.field("kind", max_chars=32),
                "to": ctx.field("to", max_chars=200),
                "reference": ctx.field("reference", max_chars=200),
                "by": ctx.actor,
                "at": datetime.now(UTC).isoformat(),
            }
            ctx.cases.update_case(
                case_id, {"routing": [*current["routing"], entry]}, actor=ctx.actor
            )
    except NotFound:
        return ctx.error(404, ctx._("No case with this id."))
    except ValueError as exc:
        return _case_page(ctx, case_id, status=400, error=str(exc))
    return ctx.redirect(_case_url(case_id, "saved"))


def update_case(ctx: Ctx) -> Response:
    return _change(ctx, "update")


def add_item(ctx: Ctx) -> Response:
    return _change(ctx, "item")


def remove_item(ctx: Ctx) -> Response:
    return _change(ctx, "remove")


def add_note(ctx: Ctx) -> Response:
    return _change(ctx, "note")


def add_route(ctx: Ctx) -> Response:
    return _change(ctx, "route")


def export(ctx: Ctx) -> Response:
    """The case bundle as a ZIP download (rendering takes a few seconds per page)."""
    case_id = ctx.request.path_params["case_id"]
    with tempfile.TemporaryDirectory(prefix="patroli-web-bundle-") as scratch:
        target = Path(scratch) / f"kasus-{case_id}.zip"
        try:
            export_case(
                ctx.state.store,
                case_id,
                target,
                evidence_dir=Path(ctx.settings.evidence_dir),
                chromium=ctx.settings.chromium,
                actor=ctx.actor,
            )
        except NotFound:
            return ctx.error(404, ctx._("No case with this id."))
        data = target.read_bytes()
    headers = {**ctx.headers, "Content-Disposition": f'attachment; filename="kasus-{case_id}.zip"'}
    return Response(data, media_type="application/zip", headers=headers)


def hold(ctx: Ctx) -> Response:
    ad_id = ctx.request.path_params["ad_id"]
    try:
        ctx.evidence.set_hold(
            ad_id,
            ctx.field("hold") == "1",
            actor=ctx.actor,
            reason=ctx.field("reason", max_chars=500),
        )
    except AdNotFound:
        return ctx.error(404, ctx._("No ad with this id."))
    return ctx.redirect(f"/ads/{urllib.parse.quote(ad_id, safe='')}")


def add_ad_to_case(ctx: Ctx) -> Response:
    ad_id = ctx.request.path_params["ad_id"]
    case_id = ctx.field("case_id", max_chars=100)
    try:
        ctx.ads.get_ad(ad_id)
        ctx.cases.add_case_item(case_id, "ad", ad_id, actor=ctx.actor)
    except AdNotFound:
        return ctx.error(404, ctx._("No ad with this id."))
    except (NotFound, ValueError):
        return ctx.error(400, ctx._("Choose a case."))
    return ctx.redirect(_case_url(case_id, "saved"))


def add_to_case(ctx: Ctx) -> Response:
    """From a network's or a cluster's page: add it (or any item) to a chosen case."""
    case_id = ctx.field("case_id", max_chars=100)
    try:
        ctx.cases.add_case_item(
            case_id,
            ctx.field("kind", max_chars=32),
            ctx.field("value", max_chars=300),
            actor=ctx.actor,
        )
    except (NotFound, ValueError):
        return ctx.error(400, ctx._("Choose a case."))
    return ctx.redirect(_case_url(case_id, "saved"))


def open_cases(ctx: Ctx) -> list[dict[str, str]]:
    """The cases an investigator may still add to (for the add-to-case forms)."""
    if not ctx.can(INVESTIGATOR):
        return []
    return [c for c in ctx.cases.list_cases(limit=200) if c["status"] != "closed"]


def takedowns(ctx: Ctx) -> Response:
    status = ctx.param("status", max_chars=32)
    status = status if status in TAKEDOWN_STATUSES else ""
    month = ctx.param("month", max_chars=7) or datetime.now(UTC).strftime("%Y-%m")
    try:
        counts = monthly_counts(ctx.state.store, month)
    except ValueError:
        month, counts = (
            datetime.now(UTC).strftime("%Y-%m"),
            monthly_counts(ctx.state.store, datetime.now(UTC).strftime("%Y-%m")),
        )
    requests = [
        {**r, "clock": clock(r)} for r in ctx.cases.list_takedowns(status=status, limit=500)
    ]
    return ctx.render(
        "takedowns.html",
        requests=requests,
        selected_status=status,
        statuses=TAKEDOWN_STATUSES,
        month=month,
        counts=counts,
    )


def takedown_status(ctx: Ctx) -> Response:
    request_id = ctx.request.path_params["request_id"]
    try:
        ctx.cases.update_takedown(
            request_id,
            {
                "status": ctx.field("status", max_chars=32),
                "reason": ctx.field("reason", max_chars=200),
            },
            actor=ctx.actor,
        )
    except NotFound:
        return ctx.error(404, ctx._("No such takedown request."))
    except ValueError as exc:
        return ctx.error(400, str(exc))
    return ctx.redirect("/takedowns")


PAGES = [
    Page("/cases", case_list, INVESTIGATOR),
    Page("/cases", create_case, INVESTIGATOR, ("POST",)),
    Page("/cases/{case_id}", case_page, INVESTIGATOR),
    Page("/cases/{case_id}/update", update_case, INVESTIGATOR, ("POST",)),
    Page("/cases/{case_id}/items", add_item, INVESTIGATOR, ("POST",)),
    Page("/cases/{case_id}/items/{item_id}/remove", remove_item, INVESTIGATOR, ("POST",)),
    Page("/cases/{case_id}/notes", add_note, INVESTIGATOR, ("POST",)),
    Page("/cases/{case_id}/routing", add_route, INVESTIGATOR, ("POST",)),
    Page("/cases/{case_id}/export", export, INVESTIGATOR, ("POST",)),
    Page("/cases/add", add_to_case, INVESTIGATOR, ("POST",)),
    Page("/ads/{ad_id}/hold", hold, INVESTIGATOR, ("POST",)),
    Page("/ads/{ad_id}/case", add_ad_to_case, INVESTIGATOR, ("POST",)),
    Page("/takedowns", takedowns, INVESTIGATOR),
    Page("/takedowns/{request_id}/status", takedown_status, INVESTIGATOR, ("POST",)),
]
