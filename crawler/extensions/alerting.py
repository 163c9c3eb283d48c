"""Which alerts a finished run deserves, and their delivery; a failed delivery becomes a run note.

Three events (``patroli/alerts/``): ``high_risk`` (this run's new ads at or above the configured
risk threshold), ``monitor_failed`` (a check of ``crawler.monitors`` failed) and ``saved_search``
(this run's new ads matching an investigator's saved search, to the channel it names). Each alert
lists at most ``MAX_ADS_PER_ALERT`` ads, riskiest first. Stats: ``patroli/alerts/sent``,
``patroli/alerts/failed``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from crawler.monitors import CheckResult
from crawler.runs import SourceRun
from patroli.alerts.channels import Alert, deliver
from patroli.alerts.config import AlertConfig
from patroli.storage import AdStore, SavedSearchStore
from patroli.storage.query import restrict_to_source

logger = logging.getLogger(__name__)

MAX_ADS_PER_ALERT = 20
MAX_DEGRADED_URLS_PER_ALERT = 5


class AlertSource(AdStore, SavedSearchStore, Protocol):
    """What alerts read: the run's new ads, and the saved searches to run again."""


ALERTS_SENT = "patroli/alerts/sent"
ALERTS_FAILED = "patroli/alerts/failed"


@dataclass(slots=True)
class Delivery:
    sent: list[tuple[str, str]] = field(default_factory=list)  # (channel, title)
    errors: list[str] = field(default_factory=list)  # notes for the run, safe to log


def alerts_for(
    run: SourceRun, failures: Sequence[CheckResult], store: AlertSource, config: AlertConfig
) -> list[tuple[str, Alert]]:
    """(channel name, alert) for every alert the run deserves."""
    messages: list[tuple[str, Alert]] = []
    if run.new and run.started_at and config.for_event("high_risk"):
        alert = _high_risk(run, store, config)
        if alert is not None:
            messages += [(c.name, alert) for c in config.for_event("high_risk")]
    if failures:
        alert = _monitor_failed(run, failures)
        messages += [(c.name, alert) for c in config.for_event("monitor_failed")]
    if run.new and run.started_at:
        messages += _saved_searches(run, store, config)
    return messages


def send(messages: Sequence[tuple[str, Alert]], config: AlertConfig, backoff: float) -> Delivery:
    """Deliver each alert; what fails is reported, never raised: a channel never fails a crawl."""
    delivery = Delivery()
    for channel_name, alert in messages:
        channel = config.channel(channel_name)
        if channel is None:
            delivery.errors.append(f"saved search names unknown channel {channel_name!r}")
            continue
        error = deliver(channel, alert, backoff=backoff)
        if error:
            note = f"alert to {channel.name} ({channel.kind}) failed: {error}"
            delivery.errors.append(note)
            logger.error("%s", note)
        else:
            delivery.sent.append((channel.name, alert.title))
            logger.info("alert sent to %s: %s", channel.name, alert.title)
    return delivery


def _ad_link(config: AlertConfig, hit: dict[str, Any]) -> str:
    if config.web_url:
        return f"{config.web_url}/ads/{hit['ad_id']}"
    return str(hit.get("url") or hit["ad_id"])


def _high_risk(run: SourceRun, store: AlertSource, config: AlertConfig) -> Alert | None:
    query = f"source:{run.source} first>={run.started_at} risk>={config.threshold}"
    result = store.search(query, limit=MAX_ADS_PER_ALERT, sort="risk")
    if not result.total:
        return None
    return Alert(
        event="high_risk",
        title=f"{result.total} iklan berisiko tinggi baru dari {run.source} / "
        f"{result.total} new high-risk ads from {run.source}",
        lines=[f"{h['risk']:.2f}  {h['title'][:100]}" for h in result.hits],
        links=[_ad_link(config, h) for h in result.hits],
        source=run.source,
        data={"ad_ids": [h["ad_id"] for h in result.hits], "total": result.total},
    )


def _monitor_failed(run: SourceRun, failures: Sequence[CheckResult]) -> Alert:
    return Alert(
        event="monitor_failed",
        title=f"Patroli {run.source} gagal / patrol of {run.source} failed: "
        + ", ".join(c.check for c in failures),
        lines=[f"{c.check}: {c.message}" for c in failures]
        + [f"degraded page: {u}" for u in run.degraded_urls[:MAX_DEGRADED_URLS_PER_ALERT]],
        source=run.source,
        data={"checks": [c.check for c in failures], "run_id": run.run_id},
    )


def _saved_searches(
    run: SourceRun, store: AlertSource, config: AlertConfig
) -> list[tuple[str, Alert]]:
    messages: list[tuple[str, Alert]] = []
    for saved in store.list_saved_searches():
        # Only this run's own new ads: runs of other sources alert theirs when they close.
        query = restrict_to_source(saved["query"], run.source)
        if query is None or not saved.get("channel"):
            continue
        result = store.search(
            f"{query} first>={run.started_at}", limit=MAX_ADS_PER_ALERT, sort="risk"
        )
        if not result.total:
            continue
        alert = Alert(
            event="saved_search",
            title=f"{result.total} iklan baru dari {run.source} untuk pencarian «{saved['name']}» / "
            f"{result.total} new ads from {run.source} for saved search «{saved['name']}»",
            lines=[f"{(h.get('risk') or 0):.2f}  {h['title'][:100]}" for h in result.hits],
            links=[_ad_link(config, h) for h in result.hits],
            source=run.source,
            data={"search_id": saved["id"], "owner": saved["owner"], "query": saved["query"]},
        )
        messages.append((saved["channel"], alert))
    return messages
