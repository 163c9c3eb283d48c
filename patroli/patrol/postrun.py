"""After a patrol: run the monitors, keep the run history, send the alerts.

Order matters: the monitors compare a run with the source's *earlier* runs, so they run before the
run is recorded; alerts go last, and a channel that fails is noted in the run's history and the log
but never fails the patrol.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from crawler.monitors import CheckResult, MonitorSettings, apply_checks, run_checks
from crawler.runs import SourceRun
from patroli.alerts.channels import Alert, deliver
from patroli.alerts.config import AlertConfig
from patroli.storage import AdStore, SavedSearchStore, open_store
from patroli.storage.schema import RUN_FIELDS

logger = logging.getLogger(__name__)
MAX_ADS_PER_ALERT = 20


@dataclass(slots=True)
class PatrolOutcome:
    failures: dict[str, list[CheckResult]] = field(default_factory=dict)  # source -> failed checks
    alerts_sent: list[tuple[str, str]] = field(default_factory=list)  # (channel, title)
    alert_errors: list[str] = field(default_factory=list)


def after_patrol(
    runs: Sequence[SourceRun],
    store_url: str,
    *,
    alerts: AlertConfig | None = None,
    monitors: MonitorSettings | None = None,
    alert_backoff: float = 1.0,
) -> PatrolOutcome:
    outcome = PatrolOutcome()
    alerts = alerts or AlertConfig()
    with open_store(store_url) as store:
        if monitors is not None:
            for run in runs:
                history = store.list_runs(source=run.source, limit=monitors.history * 3)
                failed = apply_checks(run, run_checks(run, history, monitors))
                if failed:
                    outcome.failures[run.source] = failed
        messages = _alerts_for(runs, store, alerts, outcome)
        for channel_name, alert in messages:
            channel = alerts.channel(channel_name)
            if channel is None:
                outcome.alert_errors.append(f"saved search names unknown channel {channel_name!r}")
                continue
            error = deliver(channel, alert, backoff=alert_backoff)
            if error:
                note = f"alert to {channel.name} ({channel.kind}) failed: {error}"
                outcome.alert_errors.append(note)
                logger.error("%s", note)
                for run in runs:
                    if not alert.source or run.source == alert.source:
                        run.notes.append(note)
            else:
                outcome.alerts_sent.append((channel.name, alert.title))
        for run in runs:
            store.record_run(_run_record(run))
    return outcome


def _run_record(run: SourceRun) -> dict[str, Any]:
    record = {k: getattr(run, k) for k in RUN_FIELDS if k not in ("notes", "stats")}
    record["notes"] = [*run.notes, *(f"degraded page: {u}" for u in run.degraded_urls[:20])]
    record["stats"] = {k: v for k, v in run.stats.items() if isinstance(v, (int, float, str))}
    return record


def _ad_link(alerts: AlertConfig, hit: dict[str, Any]) -> str:
    return (
        f"{alerts.web_url}/ads/{hit['ad_id']}"
        if alerts.web_url
        else str(hit.get("url") or hit["ad_id"])
    )


class _AlertSource(AdStore, SavedSearchStore, Protocol):
    """What alerts read: new ads, and the saved searches to re-run."""


def _alerts_for(
    runs: Sequence[SourceRun], store: _AlertSource, alerts: AlertConfig, outcome: PatrolOutcome
) -> list[tuple[str, Alert]]:
    messages: list[tuple[str, Alert]] = []
    for run in runs:
        if run.new and run.started_at and alerts.for_event("high_risk"):
            result = store.search(f"source:{run.source} first>={run.started_at} risk>={alerts.threshold}",
                                  limit=MAX_ADS_PER_ALERT, sort="risk")  # fmt: skip
            if result.total:
                alert = Alert(
                    event="high_risk",
                    title=f"{result.total} iklan berisiko tinggi baru dari {run.source} / "
                    f"{result.total} new high-risk ads from {run.source}",
                    lines=[f"{h['risk']:.2f}  {h['title'][:100]}" for h in result.hits],
                    links=[_ad_link(alerts, h) for h in result.hits],
                    source=run.source,
                    data={"ad_ids": [h["ad_id"] for h in result.hits], "total": result.total},
                )
                messages += [(c.name, alert) for c in alerts.for_event("high_risk")]
        if run.source in outcome.failures:
            checks = outcome.failures[run.source]
            alert = Alert(
                event="monitor_failed",
                title=f"Patroli {run.source} gagal / patrol of {run.source} failed: "
                + ", ".join(c.check for c in checks),
                lines=[f"{c.check}: {c.message}" for c in checks]
                + [f"degraded page: {u}" for u in run.degraded_urls[:5]],
                source=run.source,
                data={"checks": [c.check for c in checks], "run_id": run.run_id},
            )
            messages += [(c.name, alert) for c in alerts.for_event("monitor_failed")]
    started = min((r.started_at for r in runs if r.started_at), default="")
    if started:
        for saved in store.list_saved_searches():
            result = store.search(
                f"{saved['query']} first>={started}", limit=MAX_ADS_PER_ALERT, sort="risk"
            )
            if result.total and saved.get("channel"):
                alert = Alert(
                    event="saved_search",
                    title=f"{result.total} iklan baru untuk pencarian «{saved['name']}» / "
                    f"{result.total} new ads for saved search «{saved['name']}»",
                    lines=[f"{(h.get('risk') or 0):.2f}  {h['title'][:100]}" for h in result.hits],
                    links=[_ad_link(alerts, h) for h in result.hits],
                    data={
                        "search_id": saved["id"],
                        "owner": saved["owner"],
                        "query": saved["query"],
                    },
                )
                messages.append((saved["channel"], alert))
    return messages
