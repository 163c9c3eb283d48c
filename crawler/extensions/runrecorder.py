"""CrawlRunRecorder: when a patrol crawl closes, check it, record it, alert on it.

However the crawl was started (``patroli crawl``, ``scrapy crawl KIND -a source=NAME``, Scrapyd),
on ``spider_closed`` this extension

1. summarizes the stats into the run (``crawler.runs``: counts, status, notes);
2. runs the monitors (``crawler.monitors``) against the source's recent runs in the store: they
   compare with *earlier* runs, so they go before the run is recorded;
3. sends the alerts the run deserves (``crawler.extensions.alerting``); a channel that fails is
   noted in the run and the log, never fails the crawl;
4. records the run in the store (``patroli runs`` shows it) and leaves its final status and notes
   in the stats (``crawler.runs.RUN_STATUS``, ``RUN_NOTES``) for whoever started the crawl.

The store and the alert channels block, so steps 2-4 run in a worker thread, off the reactor.

On a distributed run (``crawler.frontier``) many workers close the same run: each pushes its final
stats to the run and leaves it; the last one to leave (exactly one: ``FrontierRun.claim_recorder``)
summarizes the stats of every worker as one run, monitors, alerts and records it, and leaves the
outcome in Redis; the others wait for that outcome and report it. Either way the crawl's stats get
the whole run's (``crawler.runs.RUN_AGGREGATE``).

Settings: ``PATROLI_STORE_URL``, ``PATROLI_MONITORS_ENABLED``, ``PATROLI_MONITOR_DROP_RATIO``,
``PATROLI_MONITOR_MAX_ERROR_RATE``, ``PATROLI_MONITOR_HISTORY``, ``PATROLI_ALERT_BACKOFF``,
``PATROLI_METRICS_PUSHGATEWAY`` (5. push the run's numbers there, ``crawler.metrics``); the
alert channels come from ``PATROLI_ALERTS`` (``patroli.alerts.config``). Remove it from
``EXTENSIONS`` to crawl without records.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler

from crawler.extensions.alerting import ALERTS_FAILED, ALERTS_SENT, Delivery, alerts_for, send
from crawler.frontier.connection import FrontierDown
from crawler.frontier.runs import OUTAGES_STAT, FrontierRun, aggregate_stats
from crawler.frontier.state import FrontierState
from crawler.incidents import GONE_WITHHELD, walk_incidents
from crawler.incremental import STORE_TROUBLE, mark_unseen_gone
from crawler.metrics import push_run
from crawler.monitors import MonitorSettings, apply_checks, run_checks
from crawler.runs import (
    RUN_AGGREGATE,
    RUN_ID,
    RUN_NOTES,
    RUN_RECORDED,
    RUN_STATUS,
    SourceRun,
    summarize,
)
from crawler.sources import SourceConfig
from patroli.alerts.config import AlertConfig, AlertConfigError, load_alert_config
from patroli.config.table import (
    PATROLI_ALERT_BACKOFF,
    PATROLI_FRONTIER,
    PATROLI_METRICS_PUSHGATEWAY,
    PATROLI_MONITORS_ENABLED,
    PATROLI_STORE_URL,
)
from patroli.storage import StoreError, open_store

logger = logging.getLogger(__name__)

HISTORY_FETCH_FACTOR = 3  # fetch this many times PATROLI_MONITOR_HISTORY runs: some are not ok
POLL_SECONDS = 0.5  # how often a closing worker looks whether the others have left
SETTLE_TIMEOUT = 120.0  # longest wait for the incremental middleware's last sightings


class CrawlRunRecorder:
    def __init__(
        self,
        crawler: Crawler,
        store_url: str,
        monitors: MonitorSettings | None,
        alerts: AlertConfig,
        alert_backoff: float = 1.0,
        alerts_problem: str = "",
    ) -> None:
        assert crawler.stats is not None  # noqa: S101 - Scrapy sets it before extensions
        self.crawler = crawler
        self.stats = crawler.stats
        self.store_url = store_url
        self.monitors = monitors
        self.alerts = alerts
        self.alert_backoff = alert_backoff
        self.alerts_problem = alerts_problem
        self.pushgateway = ""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        store_url = PATROLI_STORE_URL.from_settings(settings)  # empty means the default store
        problem = ""
        try:
            alerts = load_alert_config()
        except AlertConfigError as exc:
            alerts, problem = AlertConfig(), f"alerts off: {exc}"
            logger.error("%s", problem)
        monitors = None
        if PATROLI_MONITORS_ENABLED.from_settings(settings):
            monitors = MonitorSettings.from_settings(settings)
        recorder = cls(
            crawler,
            store_url,
            monitors,
            alerts,
            PATROLI_ALERT_BACKOFF.from_settings(settings),
            problem,
        )
        recorder.pushgateway = PATROLI_METRICS_PUSHGATEWAY.from_settings(settings)
        crawler.signals.connect(recorder.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(recorder.spider_closed, signal=signals.spider_closed)
        return recorder

    def frontier(self) -> FrontierState | None:
        if not PATROLI_FRONTIER.from_settings(self.crawler.settings):
            return None
        return FrontierState.of(self.crawler)

    def spider_opened(self, spider: Spider) -> None:
        state = self.frontier()
        self.stats.set_value(RUN_ID, state.run.run_id if state else uuid.uuid4().hex[:16])

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        source = getattr(spider, "source", None)
        if not isinstance(source, SourceConfig):
            return  # not a patrol spider: no source whose history to compare with
        state = self.frontier()
        if state is not None:
            await asyncio.to_thread(self.close_frontier_run, spider, source, reason, state.run)
            return
        run = summarize(source, self.crawler, reason)
        delivery, recorded = await asyncio.to_thread(self.finish, run)
        if self.pushgateway:
            await asyncio.to_thread(self.push, run)
        self.report(run, delivery, recorded)

    def report(self, run: SourceRun, delivery: Delivery, recorded: bool) -> None:
        self.stats.set_value(ALERTS_SENT, len(delivery.sent))
        if delivery.errors:
            self.stats.set_value(ALERTS_FAILED, len(delivery.errors))
        if recorded:
            self.stats.set_value(RUN_RECORDED, 1)
        self.stats.set_value(RUN_STATUS, run.status)
        self.stats.set_value(RUN_NOTES, list(run.notes))

    def finish(self, run: SourceRun) -> tuple[Delivery, bool]:
        """Monitors, alerts, record (blocking I/O: run in a worker thread); whether it was recorded."""
        if self.alerts_problem:
            run.notes.append(self.alerts_problem)
        delivery = Delivery()
        try:
            with open_store(self.store_url) as store:
                failures = []
                if self.monitors is not None:
                    history = store.list_runs(
                        source=run.source, limit=self.monitors.history * HISTORY_FETCH_FACTOR
                    )
                    failures = apply_checks(run, run_checks(run, history, self.monitors))
                delivery = send(
                    alerts_for(run, failures, store, self.alerts), self.alerts, self.alert_backoff
                )
                run.notes += delivery.errors
                store.record_run(run.as_record())
        except StoreError as exc:
            note = f"run not recorded: {exc}"
            run.notes.append(note)
            logger.error("%s: %s", run.source, note)
            return delivery, False
        logger.info(
            "%s: run %s recorded (%s)",
            run.source,
            run.run_id,
            run.status,
            extra={"run_id": run.run_id, "source": run.source},
        )
        return delivery, True

    def push(self, run: SourceRun) -> None:
        """The run's numbers to the Pushgateway; a gateway that is down is logged, never fatal."""
        try:
            push_run(run.as_record(), self.pushgateway)
        except OSError as exc:
            logger.error(
                "%s: metrics not pushed to the Pushgateway: %s",
                run.source,
                exc,
                extra={"run_id": run.run_id, "source": run.source},
            )

    # --- a run of many workers (crawler.frontier) ---------------------------------------------

    def close_frontier_run(
        self, spider: Spider, source: SourceConfig, reason: str, run: FrontierRun
    ) -> None:
        """Leave the run; the last worker out records it, the others report what it recorded.
        Blocking (Redis, store): runs in a worker thread."""
        patience = run.lease + run.link.max_outage
        incremental = getattr(spider, "incremental", None)
        if incremental is not None:  # its sightings are in the store before this worker leaves
            incremental.settled.wait(SETTLE_TIMEOUT)
        if reason != "finished" or not getattr(spider, "listing_complete", lambda: False)():
            _until_up(run.link, patience, run.flag_incomplete)
        # The link's count, not the last tick's copy: a worker may close before a tick follows
        # the outage's end.
        self.stats.set_value(OUTAGES_STAT, run.link.outages)
        own = dict(self.stats.get_stats())
        own.setdefault("finish_reason", reason)
        own.setdefault("finish_time", datetime.now(UTC))
        _until_up(run.link, patience, lambda: run.push_stats(own))
        _until_up(run.link, patience, run.leave)
        deadline = time.monotonic() + run.lease + 30
        while time.monotonic() < deadline:
            if not _until_up(run.link, patience, run.live_workers):
                break
            time.sleep(POLL_SECONDS)
        if _until_up(run.link, patience, run.claim_recorder):
            total = aggregate_stats(_until_up(run.link, patience, run.worker_stats) or [own])
            lost = int((_until_up(run.link, patience, run.meta) or {}).get("workers_lost", 0) or 0)
            total["patroli/run/workers_lost"] = lost
            self.count_new_in_store(source, total)
            meta = _until_up(run.link, patience, run.meta) or {}
            if incremental is not None and not lost and not meta.get("listing_incomplete"):
                self.mark_gone(source, total)
            summary = summarize(source, self.crawler, reason, stats_of_run=total)
            summary.run_id = run.run_id
            if lost:
                summary.notes.append(
                    f"{lost} worker(s) lost during the run; their requests were queued again"
                )
            delivery, recorded = self.finish(summary)
            result = {"status": summary.status, "notes": summary.notes, "stats": total}
            _until_up(run.link, patience, lambda: run.close(result))
            self.stats.set_value(RUN_AGGREGATE, total)
            self.report(summary, delivery, recorded)
            if self.pushgateway:
                self.push(summary)
            return
        outcome: dict[str, Any] | None = None
        deadline = time.monotonic() + patience + 60
        while outcome is None and time.monotonic() < deadline:
            outcome = _until_up(run.link, patience, run.outcome)
            if outcome is None:
                time.sleep(POLL_SECONDS)
        if outcome is None:
            self.stats.set_value(RUN_STATUS, "degraded")
            self.stats.set_value(RUN_NOTES, ["the run's recorder did not report back in time"])
            return
        self.stats.set_value(RUN_AGGREGATE, outcome["stats"])
        self.stats.set_value(RUN_STATUS, outcome["status"])
        self.stats.set_value(RUN_NOTES, list(outcome["notes"]))
        self.stats.set_value(RUN_RECORDED, 1)

    def mark_gone(self, source: SourceConfig, total: dict[str, Any]) -> None:
        """The whole run covered the listing: mark the stored ads none of its workers saw."""
        if not total.get("start_time") or any(total.get(k) for k in STORE_TROUBLE):
            return
        if incidents := walk_incidents(total):
            total[GONE_WITHHELD] = 1
            logger.warning(
                "%s: a worker's listing walk was disturbed (%s): no ad is marked gone",
                source.name,
                "; ".join(incidents),
            )
            return
        started = datetime.fromisoformat(str(total["start_time"]))
        try:
            marked = mark_unseen_gone(
                self.store_url, source.name, started, datetime.now(UTC).isoformat()
            )
        except StoreError as exc:
            logger.error("%s: could not mark gone ads: %s", source.name, exc)
            return
        total["patroli/incremental/gone"] = marked

    def count_new_in_store(self, source: SourceConfig, total: dict[str, Any]) -> None:
        """The run's new ads as the store counts them: a worker killed mid-run took its own count
        with it, but not the ads it stored (one run per source at a time, so every ad first seen
        since the run started is this run's)."""
        if not total.get("start_time"):
            return
        try:
            with open_store(self.store_url) as store:
                total["patroli/store/new"] = store.count(
                    f"source:{source.name} first>={total['start_time']}"
                )
        except StoreError as exc:
            logger.warning("%s: new ads counted by the workers only: %s", source.name, exc)


def _until_up(link: Any, patience: float, step: Any) -> Any:
    """``step()``, retried while Redis is away (with the link's backoff), for ``patience`` s."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return step()
        except FrontierDown:
            if time.monotonic() > deadline:
                logger.error("frontier unreachable while closing the run; giving up")
                return None
            time.sleep(min(max(link.retry_at - link.clock(), 0.2), 5.0))
