"""What went wrong during a listing walk: the stats keys, and the notes a run summary shows for them.

A walk that met hostile or broken input cannot be trusted to have seen the whole listing, so an ad it
did not see must not be marked gone (``crawler/incremental.py``), and the run is *degraded*
(``crawler/runs.py``) with a note per kind of incident:

- requests refused by the crawl scope (``crawler/scope.py``, ``crawler/addresses.py``);
- links a spider could not use (``javascript:``, ``mailto:``, malformed) and skipped;
- errors raised in a spider callback (Scrapy's ``spider_exceptions/count``);
- requests beyond the depth budget, and a crawl stopped by its budget (``crawler/budget.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SCOPE_REFUSED = "patroli/scope/refused"  # + /<reason>: scheme, malformed, off_host, private_address
REFUSED_REDIRECTS = "patroli/scope/refused_redirects"  # of those, redirects and meta refreshes
LINKS_UNUSABLE = "patroli/links/unusable"  # + /<kind>: javascript, mailto, …, malformed
SPIDER_ERRORS = "spider_exceptions/count"  # Scrapy's
DEPTH_REFUSED = "patroli/budget/depth_refused"
BUDGET_STOPPED = (
    "patroli/budget/stopped"  # the budget that stopped a crawl: requests, bytes, seconds
)
BUDGET_DROPPED = "patroli/budget/dropped"  # requests pages yielded after the budget was spent
GONE_WITHHELD = "patroli/incremental/gone_withheld"  # 1 when a complete walk was disturbed

# Requests for an ad's media (its images, fetched by the images pipeline with this meta key) are no
# part of the listing walk: their refusals are counted apart, so that the walk stays trusted.
MEDIA_META = "patroli_image"
SCOPE_REFUSED_MEDIA = "patroli/scope/refused_media"  # + /<reason>, as SCOPE_REFUSED

BUDGET_FINISH_PREFIX = "budget_"  # finish reasons budget_requests, budget_bytes, budget_seconds

SCOPE_REASONS = {
    "off_host": "off the source's hosts",
    "scheme": "not http(s)",
    "private_address": "to a loopback, private or other special address",
    "malformed": "malformed",
}


def _count(stats: Mapping[str, Any], key: str) -> int:
    return int(stats.get(key) or 0)


def _breakdown(
    stats: Mapping[str, Any], prefix: str, labels: Mapping[str, str] | None = None
) -> str:
    parts = []
    for key, value in sorted(stats.items()):
        if key.startswith(prefix + "/") and value:
            kind = key.removeprefix(prefix + "/")
            parts.append(f"{int(value)} {(labels or {}).get(kind, kind)}")
    return ", ".join(parts)


def walk_incidents(stats: Mapping[str, Any]) -> list[str]:
    """One note per kind of incident in a run's stats (empty when the walk was undisturbed)."""
    notes = []
    if refused := _count(stats, SCOPE_REFUSED):
        redirects = _count(stats, REFUSED_REDIRECTS)
        via = f"; {redirects} of them redirects or meta refreshes" if redirects else ""
        notes.append(
            f"{refused} request(s) refused by the crawl scope "
            f"({_breakdown(stats, SCOPE_REFUSED, SCOPE_REASONS)}{via})"
        )
    if unusable := _count(stats, LINKS_UNUSABLE):
        notes.append(f"{unusable} unusable link(s) skipped ({_breakdown(stats, LINKS_UNUSABLE)})")
    if errors := _count(stats, SPIDER_ERRORS):
        notes.append(f"{errors} error(s) in the spider while reading pages")
    if deep := _count(stats, DEPTH_REFUSED):
        notes.append(f"{deep} request(s) beyond the depth budget not made")
    return notes


def refused_key(meta: Mapping[str, Any]) -> str:
    """The stats key a refused request is counted under: media apart from the walk's requests."""
    return SCOPE_REFUSED_MEDIA if meta.get(MEDIA_META) else SCOPE_REFUSED


def media_refusals(stats: Mapping[str, Any]) -> list[str]:
    """The run summary's note on refused media requests (none when there were none)."""
    refused = _count(stats, SCOPE_REFUSED_MEDIA)
    if not refused:
        return []
    reasons = _breakdown(stats, SCOPE_REFUSED_MEDIA, SCOPE_REASONS)
    note = f"{refused} image request(s) refused by the crawl scope ({reasons})"
    return [f"{note}; an image host the source trusts goes into its `allowed_hosts`"]


def budget_stop(finish_reason: str) -> str:
    """The budget that stopped a crawl (``requests``, ``bytes``, ``seconds``), or ``""``."""
    return (
        finish_reason.removeprefix(BUDGET_FINISH_PREFIX)
        if finish_reason.startswith(BUDGET_FINISH_PREFIX)
        else ""
    )
