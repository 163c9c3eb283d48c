"""The dashboard: ads crawled, flagged and confirmed per day, source and destination; backlog; runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from starlette.responses import Response

from patroli.config.table import PATROLI_NETWORK_ACTIVE_DAYS
from patroli.text.regions import PROVINCE_NAME
from patroli.web.charts import grouped_bars, ranked
from patroli.web.routing import ANY_ROLE, Ctx, Page

SERIES = ("crawled", "flagged", "confirmed")


def dashboard(ctx: Ctx) -> Response:
    try:
        days = max(1, min(int(ctx.param("days", "30")), 365))
    except ValueError:
        days = 30
    stats = ctx.ads.stats(days=days)
    backlog = stats.get("backlog") or {}
    oldest_days = None
    if backlog.get("oldest"):
        oldest = datetime.fromisoformat(backlog["oldest"])
        oldest_days = round((datetime.now(UTC) - oldest).total_seconds() / 86400, 1)
    per_day = _every_day(stats.get("per_day") or [], days)
    trends = ctx.ads.trends(days=days)
    return ctx.render(
        "dashboard.html",
        days=days,
        per_day=grouped_bars(per_day, "day", SERIES, max_groups=days),
        sources=ranked(stats.get("per_source") or {}),
        countries=ranked(stats.get("per_country") or {}, limit=15),
        backlog=backlog,
        oldest_days=oldest_days,
        runs=ctx.ledger.list_runs(limit=10),
        networks=ctx.networks.largest_networks(
            limit=10, active_days=PATROLI_NETWORK_ACTIVE_DAYS.from_env()
        ),
        routes=ranked(trends.get("per_route") or {}, limit=10),
        agencies=ranked(trends.get("per_agency") or {}, limit=10),
        job_types=ranked(trends.get("per_job_type") or {}, limit=10),
        provinces=ranked(trends.get("per_province") or {}, limit=10),
        province_names=PROVINCE_NAME,
        totals={
            "ads": ctx.ads.count(),
            "flagged": ctx.ads.count("flagged:true"),
            "confirmed": ctx.ads.count("status:confirmed"),
            "escalated": ctx.ads.count("status:escalated"),
        },
    )


def _every_day(rows: list[dict], days: int) -> list[dict]:
    """One row per day of the window, zeros where nothing happened (a true time axis)."""
    by_day = {str(r.get("day")): r for r in rows}
    today = datetime.now(UTC).date()
    start = today - timedelta(days=days - 1)
    if by_day:
        start = min(start, min(date.fromisoformat(d) for d in by_day))
    filled = []
    for offset in range((today - start).days + 1):
        day = (start + timedelta(days=offset)).isoformat()
        filled.append(by_day.get(day, {"day": day, "crawled": 0, "flagged": 0, "confirmed": 0}))
    return filled[-days:]


PAGES = [Page("/", dashboard, ANY_ROLE)]
