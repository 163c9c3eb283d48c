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

Settings: ``PATROLI_STORE_URL``, ``PATROLI_MONITORS_ENABLED``, ``PATROLI_MONITOR_DROP_RATIO``,
``PATROLI_MONITOR_MAX_ERROR_RATE``, ``PATROLI_MONITOR_HISTORY``, ``PATROLI_ALERT_BACKOFF``,
``PATROLI_METRICS_PUSHGATEWAY`` (5. push the run's numbers there, ``crawler.metrics``); the
alert channels come from ``PATROLI_ALERTS`` (``patroli.alerts.config``). Remove it from
``EXTENSIONS`` to crawl without records.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler

from crawler.extensions.alerting import ALERTS_FAILED, ALERTS_SENT, Delivery, alerts_for, send
from crawler.metrics import push_run
from crawler.monitors import MonitorSettings, apply_checks, run_checks
from crawler.runs import RUN_ID, RUN_NOTES, RUN_RECORDED, RUN_STATUS, SourceRun, summarize
from crawler.sources import SourceConfig
from patroli.alerts.config import AlertConfig, AlertConfigError, load_alert_config
from patroli.config.table import (
    PATROLI_ALERT_BACKOFF,
    PATROLI_METRICS_PUSHGATEWAY,
    PATROLI_MONITORS_ENABLED,
    PATROLI_STORE_URL,
)
from patroli.storage import StoreError, open_store

logger = logging.getLogger(__name__)

HISTORY_FETCH_FACTOR = 3  # fetch this many times PATROLI_MONITOR_HISTORY runs: some are not ok


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

    def spider_opened(self, spider: Spider) -> None:
        self.stats.set_value(RUN_ID, uuid.uuid4().hex[:16])

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        source = getattr(spider, "source", None)
        if not isinstance(source, SourceConfig):
            return  # not a patrol spider: no source whose history to compare with
        run = summarize(source, self.crawler, reason)
        delivery, recorded = await asyncio.to_thread(self.finish, run)
        if self.pushgateway:
            await asyncio.to_thread(self.push, run)
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
        logger.info("%s: run %s recorded (%s)", run.source, run.run_id, run.status,
                    extra={"run_id": run.run_id, "source": run.source})  # fmt: skip
        return delivery, True

    def push(self, run: SourceRun) -> None:
        """The run's numbers to the Pushgateway; a gateway that is down is logged, never fatal."""
        try:
            push_run(run.as_record(), self.pushgateway)
        except OSError as exc:
            logger.error("%s: metrics not pushed to the Pushgateway: %s", run.source, exc,
                         extra={"run_id": run.run_id, "source": run.source})  # fmt: skip
