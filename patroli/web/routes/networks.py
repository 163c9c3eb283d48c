"""Template clusters (with the decision taken once for all members), recruiter networks drawn as a
graph, and the licensed-agency register with each agency's ads."""

from __future__ import annotations

import urllib.parse

from starlette.responses import Response

from patroli.agencies.check import RegisterSnapshot, agency_id_of
from patroli.config.table import PATROLI_NETWORK_ACTIVE_DAYS
from patroli.storage.schema import DECISIONS
from patroli.web.graph import draw
from patroli.web.present import reasons
from patroli.web.routes.cases import open_cases
from patroli.web.routing import ANALYST, ANY_ROLE, INVESTIGATOR, Ctx, Page


def cluster_page(ctx: Ctx, *, status: int = 200, error: str = "") -> Response:
    cluster_id = ctx.request.path_params["cluster_id"][:64]
    try:
        cluster = ctx.networks.get_cluster(cluster_id)
    except KeyError:
        return ctx.error(404, ctx._("No such cluster."))
    if cluster["cluster_id"] != cluster_id:  # merged into another: go where it went
        return ctx.redirect(f"/clusters/{urllib.parse.quote(cluster['cluster_id'], safe='')}")
    members = [{**m, "reason_list": reasons(m, ctx.language)} for m in cluster["members"]]
    done = ctx.param("done")
    return ctx.render(
        "cluster.html",
        status=status,
        cluster=cluster,
        members=members,
        decisions=DECISIONS,
        error=error,
        done=done if done in DECISIONS else "",
        decided=ctx.param("n", max_chars=6),
        skipped=ctx.param("skipped", max_chars=6),
        open_cases=open_cases(ctx),
    )


def cluster(ctx: Ctx) -> Response:
    return cluster_page(ctx)


def cluster_review(ctx: Ctx) -> Response:
    cluster_id = ctx.request.path_params["cluster_id"][:64]
    decision = ctx.field("decision")
    if decision not in DECISIONS:
        return cluster_page(ctx, status=400, error=ctx._("Choose a decision."))
    versions: dict[str, int] = {}
    for value in ctx.fields("versions", max_items=5000):
        ad_id, _, seen = value.partition(":")
        if seen.isdigit():
            versions[ad_id] = int(seen)
    try:
        outcome = ctx.networks.review_cluster(
            cluster_id,
            decision,
            reviewer=ctx.actor,
            note=ctx.field("note", max_chars=2000).strip(),
            expected_versions=versions,
        )
    except KeyError:
        return ctx.error(404, ctx._("No such cluster."))
    query = urllib.parse.urlencode(
        {"done": decision, "n": len(outcome["decided"]), "skipped": len(outcome["skipped"])}
    )
    return ctx.redirect(f"/clusters/{urllib.parse.quote(outcome['cluster_id'], safe='')}?{query}")


def network(ctx: Ctx) -> Response:
    network_id = ctx.request.path_params["network_id"][:64]
    try:
        found = ctx.networks.get_network(network_id)
    except KeyError:
        return ctx.error(404, ctx._("No such network."))
    return ctx.render(
        "network.html", network=found, drawing=draw(found), open_cases=open_cases(ctx)
    )


def networks(ctx: Ctx) -> Response:
    days = PATROLI_NETWORK_ACTIVE_DAYS.from_env()
    rows = ctx.networks.largest_networks(limit=100, active_days=days)
    return ctx.render(
        "networks.html", rows=rows, days=days, generic=ctx.networks.generic_identifiers()
    )


def agencies(ctx: Ctx) -> Response:
    snapshot = RegisterSnapshot.from_store(ctx.register)
    rows = [{**e, "agency_id": agency_id_of(e)} for e in (snapshot.licences if snapshot else [])]
    return ctx.render(
        "agencies.html", snapshot=snapshot, rows=rows, imports=ctx.register.register_imports()
    )


def agency(ctx: Ctx) -> Response:
    agency_id = ctx.request.path_params["agency_id"][:128]
    snapshot = RegisterSnapshot.from_store(ctx.register)
    offices = snapshot.agency(agency_id) if snapshot else []
    hits = (
        ctx.ads.search(f'agency:"{agency_id}"', limit=500, sort="date").hits
        if '"' not in agency_id
        else []
    )
    if not offices and not hits:
        return ctx.error(404, ctx._("No such agency in the register."))
    sanctions = [
        s for s in (snapshot.sanctions if snapshot else []) if agency_id_of(s) == agency_id
    ]
    orders = [
        o for o in ((snapshot.job_orders or []) if snapshot else []) if agency_id_of(o) == agency_id
    ]
    ads = [{**h, "reason_list": reasons(h, ctx.language)} for h in hits]
    return ctx.render(
        "agency.html",
        agency_id=agency_id,
        offices=offices,
        sanctions=sanctions,
        orders=orders,
        ads=ads,
        snapshot=snapshot,
    )


PAGES = [
    Page("/clusters/{cluster_id}", cluster, ANY_ROLE),
    Page("/clusters/{cluster_id}/review", cluster_review, ANALYST, ("POST",)),
    Page("/networks", networks, ANY_ROLE),
    Page("/networks/{network_id}", network, INVESTIGATOR | ANALYST),
    Page("/agencies", agencies, ANY_ROLE),
    Page("/agencies/{agency_id:path}", agency, ANY_ROLE),
]
