"""FrontierExtension: a worker's life in a run: heartbeats, acknowledgements, outages, closing.

Enabled by ``crawler.frontier.frontier_settings`` for crawls on a frontier. It

- keeps the worker's heartbeat and the run's lock alive, pushes the worker's stats, and puts back
  the requests of workers whose heartbeat lapsed (every ``TICK_SECONDS``);
- acknowledges leased requests once they are finished (``crawler.frontier.state``);
- while Redis is away, keeps the spider open, asks Redis again with backoff, queues what waited
  when it is back, and closes the crawl (``frontier_unreachable``) after
  ``PATROLI_FRONTIER_MAX_OUTAGE``;
- lets the spider close only when the run's frontier is *drained*: nothing queued and nothing in
  flight at any worker. A worker waiting for others keeps asking for requests, so the run ends by
  itself, for every worker, when the last page's output is handled.

Stats: ``patroli/frontier/*``.
"""

from __future__ import annotations

import logging
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured
from twisted.internet import task

from crawler.frontier.connection import FrontierDown, redacted
from crawler.frontier.runs import OUTAGES_STAT, REQUEUED_STAT, WORKERS_LOST_STAT
from crawler.frontier.state import FrontierState
from crawler.signals import ads_stored
from patroli.config.table import PATROLI_FRONTIER

logger = logging.getLogger(__name__)

SETTLE_SECONDS = 0.25
TICK_SECONDS = 2.0
STATS_EVERY_TICKS = 3
EXPIRE_EVERY_TICKS = 30


class FrontierExtension:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.state = FrontierState.of(crawler)
        self.settler = task.LoopingCall(self.settle)
        self.ticker = task.LoopingCall(self.tick)
        self.ticks = 0
        self.closing = False
        self.drained_at: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not PATROLI_FRONTIER.from_settings(crawler.settings):
            raise NotConfigured("PATROLI_FRONTIER is empty: crawling in one process")
        extension = cls(crawler)
        connect = crawler.signals.connect
        connect(extension.spider_opened, signal=signals.spider_opened)
        connect(extension.spider_idle, signal=signals.spider_idle)
        connect(extension.spider_closed, signal=signals.spider_closed)
        connect(extension.item_scraped, signal=signals.item_scraped)
        connect(extension.stored, signal=ads_stored)
        return extension

    # --- signals ------------------------------------------------------------------------------

    def spider_opened(self, spider: Spider) -> None:
        logger.info(
            "%s: worker %s on run %s of frontier %s",
            self.state.run.keys.source,
            self.state.run.worker,
            self.state.run.run_id,
            redacted(self.state.link.url),
        )
        self.settler.start(SETTLE_SECONDS, now=False)
        self.ticker.start(TICK_SECONDS, now=True)

    def item_scraped(self, item: Any, response: Any, spider: Spider) -> None:
        self.state.item_scraped(response)

    def stored(self, began: float, **_: Any) -> None:
        self.state.stored(began)
        self.state.flush_pending()

    def spider_idle(self, spider: Spider) -> None:
        """Close only when the run's frontier is drained; until then keep waiting (and asking)."""
        if self.closing:
            return
        self.state.settle()
        if not self.state.flush_pending() or self.state.leases:
            raise DontCloseSpider  # Redis away, or our ads still wait for the store's flush
        try:
            self.requeue_lost()
            queued, inflight = self.state.run.sizes()
        except FrontierDown:
            raise DontCloseSpider from None
        if queued or inflight:
            self.drained_at = None
            raise DontCloseSpider
        logger.info("%s: the run's frontier is drained", self.state.run.keys.source)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        self.closing = True
        for loop in (self.settler, self.ticker):
            if loop.running:
                loop.stop()
        self.state.settle()
        self.state.flush_pending()

    # --- loops --------------------------------------------------------------------------------

    def settle(self) -> None:
        self.state.settle()
        if self.state.acks and self.state.link.up:
            self.state.flush_pending()
        scheduler = self.state.scheduler
        slot = getattr(self.crawler.engine, "_slot", None)
        # Others queued requests, or this worker waits for them: look now (and check whether the
        # run is drained), not at the engine's next heartbeat (5 s).
        if (
            slot is not None
            and scheduler is not None
            and not self.closing
            and (scheduler.has_pending_requests() or not self.state.leases)
        ):
            slot.nextcall.schedule()

    def tick(self) -> None:
        self.ticks += 1
        link, run, stats = self.state.link, self.state.run, self.crawler.stats
        if not link.up:
            if link.gave_up():
                self._give_up()
                return
            if not link.retry_due():
                return
        try:
            if not run.renew():
                logger.error("%s: the run lock names another run now", run.keys.source)
            if not self.state.flush_pending():
                return
            self.requeue_lost()
            if stats is not None:
                stats.set_value(OUTAGES_STAT, link.outages)
                if self.ticks % STATS_EVERY_TICKS == 1:
                    run.push_stats(stats.get_stats())
            if self.ticks % EXPIRE_EVERY_TICKS == 1:
                run.expire_later()
        except FrontierDown:
            return

    def requeue_lost(self) -> None:
        """Put back what lost workers had taken (raises ``FrontierDown``)."""
        run, stats = self.state.run, self.crawler.stats
        requeued, lost = run.requeue_lost()
        if stats is not None and requeued:
            stats.inc_value(REQUEUED_STAT, requeued)
        if stats is not None and lost:
            stats.inc_value(WORKERS_LOST_STAT, lost)
        if lost:
            logger.warning(
                "%s: %d lost worker(s); %d of their requests queued again",
                run.keys.source,
                lost,
                requeued,
            )

    def _give_up(self) -> None:
        if self.closing:
            return
        self.closing = True
        logger.error(
            "%s: frontier unreachable for %.0f s (PATROLI_FRONTIER_MAX_OUTAGE): closing; the "
            "other workers queue this worker's requests again",
            self.state.run.keys.source,
            self.state.link.outage_seconds(),
        )
        engine = self.crawler.engine
        if engine is not None:
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(engine.close_spider_async(reason="frontier_unreachable"))
