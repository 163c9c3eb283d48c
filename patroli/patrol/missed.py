"""Missed scheduled runs: counted from the store's run history, alerted, and kept in it.

``last_started(store_url)`` tells the scheduler when each source last ran (its latest recorded
run); ``MissedReporter`` is the scheduler's ``on_missed``: it logs, sends a ``missed_run`` alert to
the channels that want it (``PATROLI_ALERTS``) and records a *failed* run for the source whose note
names how many runs were missed and since when, so that ``patroli runs`` and the web app's sources
page show the gap. A store or channel that fails is logged, never raised: the scheduler goes on.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from crawler.extensions.alerting import send
from crawler.runs import SourceRun
from crawler.sources import SourceConfig
from patroli.alerts.channels import Alert
from patroli.alerts.config import AlertConfig, AlertConfigError, load_alert_config
from patroli.storage import CrawlLedger, StoreError, open_store

logger = logging.getLogger(__name__)

MISSED_STAT = "patroli/schedule/missed"


def last_started(store_url: str) -> Callable[[SourceConfig], datetime | None]:
    def lookup(source: SourceConfig) -> datetime | None:
        try:
            ledger: CrawlLedger = open_store(store_url)
            with ledger:
                runs = ledger.list_runs(source=source.name, limit=1)
        except StoreError as exc:
            logger.warning(
                "%s: run history unavailable (%s); missed runs not counted", source.name, exc
            )
            return None
        if not runs or not runs[0].get("started_at"):
            return None
        started = datetime.fromisoformat(str(runs[0]["started_at"]))
        return started if started.tzinfo else started.replace(tzinfo=UTC)

    return lookup


class MissedReporter:
    def __init__(self, store_url: str, backoff: float = 1.0) -> None:
        self.store_url = store_url
        self.backoff = backoff
        try:
            self.alerts = load_alert_config()
        except AlertConfigError as exc:
            logger.error("alerts off: %s", exc)
            self.alerts = AlertConfig()

    def __call__(self, source: SourceConfig, count: int, since: datetime) -> None:
        now = datetime.now(UTC)
        note = (
            f"missed: {count} scheduled run(s) ('{source.schedule}') between {since.isoformat()} "
            f"and {now.isoformat()}: no scheduler or worker was up; running now"
        )
        alert = Alert(
            event="missed_run",
            title=f"Patroli {source.name}: {count} jadwal terlewat / {count} scheduled run(s) missed",
            lines=[note],
            source=source.name,
            data={"missed": count, "since": since.isoformat()},
        )
        delivery = send(
            [(c.name, alert) for c in self.alerts.for_event("missed_run")],
            self.alerts,
            self.backoff,
        )
        run = SourceRun(
            source=source.name,
            kind=source.kind,
            started_at=since.isoformat(),
            finished_at=now.isoformat(),
            status="failed",
            notes=[note, *delivery.errors],
            run_id=uuid.uuid4().hex[:16],
            stats={MISSED_STAT: count},
        )
        try:
            ledger: CrawlLedger = open_store(self.store_url)
            with ledger:
                ledger.record_run(run.as_record())
        except StoreError as exc:
            logger.error("%s: missed runs not recorded: %s", source.name, exc)
