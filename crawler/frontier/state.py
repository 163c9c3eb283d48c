"""One crawl's share of a run: its link to Redis, its leased requests, and when each is finished.

A leased request is *finished* when Scrapy has handled all of its output (its new requests are
queued, its ads went through every pipeline) and the ads it produced are *stored* (the store
pipeline flushed them: ``crawler.signals.ads_stored``). Only then is it acknowledged, i.e. removed
from the run's ``inflight``: a worker killed at any moment before that has its request put back
and fetched again, and the store's upsert on the ad id keeps the ad once.

Scrapy has no signal for "a request's output is handled"; the engine drops the request from its
in-progress set at exactly that moment, so :meth:`settle` compares the leased requests with it.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Sized
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from scrapy.crawler import Crawler
from scrapy.http import Request, Response

from crawler.frontier import FRONTIER_META, scripts
from crawler.frontier.connection import FrontierDown, Link
from crawler.frontier.keys import RunKeys
from crawler.frontier.runs import FrontierRun
from patroli.config.table import (
    PATROLI_FRONTIER,
    PATROLI_FRONTIER_LEASE,
    PATROLI_FRONTIER_LOCK_TTL,
    PATROLI_FRONTIER_MAX_OUTAGE,
    PATROLI_FRONTIER_PREFIX,
    PATROLI_FRONTIER_TTL,
)


class SchedulerSide(Protocol):
    """What the state needs of the crawl's scheduler (``crawler.frontier.scheduler``)."""

    outbox: Sized

    def push_outbox(self) -> None: ...

    def has_pending_requests(self) -> bool: ...

    def forget(self, request: Request) -> None: ...


logger = logging.getLogger(__name__)

RUN_ID_SETTING = "FRONTIER_RUN_ID"  # set by patroli.patrol.runner for each crawl of a run
SOURCE_SETTING = "FRONTIER_SOURCE"
WORKER_SETTING = "FRONTIER_WORKER"


@dataclass(slots=True)
class Lease:
    request: Request
    items: int = 0  # ads of this request that reached the end of the pipelines
    done_at: float | None = None  # when its output was found handled (monotonic)


class FrontierState:
    _by_crawler: ClassVar[weakref.WeakKeyDictionary[Crawler, FrontierState]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, crawler: Crawler, link: Link, run: FrontierRun) -> None:
        self.crawler = crawler
        self.link = link
        self.run = run
        self.leases: dict[str, Lease] = {}
        self.acks: list[str] = []
        self.scheduler: SchedulerSide | None = None
        self.acked = 0

    @classmethod
    def of(cls, crawler: Crawler) -> FrontierState:
        """The crawl's state, built from its settings on first use."""
        state = cls._by_crawler.get(crawler)
        if state is None:
            settings = crawler.settings
            url = PATROLI_FRONTIER.from_settings(settings)
            if not url or not settings.get(RUN_ID_SETTING):
                raise ValueError("not a frontier crawl: PATROLI_FRONTIER and FRONTIER_RUN_ID unset")
            link = Link(url, PATROLI_FRONTIER_MAX_OUTAGE.from_settings(settings))
            keys = RunKeys(
                PATROLI_FRONTIER_PREFIX.from_settings(settings),
                settings.get(SOURCE_SETTING),
                settings.get(RUN_ID_SETTING),
            )
            run = FrontierRun(
                link,
                keys,
                settings.get(WORKER_SETTING),
                lease=PATROLI_FRONTIER_LEASE.from_settings(settings),
                lock_ttl=PATROLI_FRONTIER_LOCK_TTL.from_settings(settings),
                ttl=PATROLI_FRONTIER_TTL.from_settings(settings),
            )
            state = cls._by_crawler[crawler] = cls(crawler, link, run)
        return state

    # --- leases -----------------------------------------------------------------------------

    def leased(self, request: Request) -> None:
        self.leases[request.meta[FRONTIER_META]] = Lease(request)

    def item_scraped(self, response: Any) -> None:
        if isinstance(response, Response):
            lease = self.leases.get(response.meta.get(FRONTIER_META, ""))
            if lease is not None:
                lease.items += 1

    def settle(self) -> None:
        """Find the leased requests whose output is handled; acknowledge those without ads."""
        engine = self.crawler.engine
        slot = getattr(engine, "_slot", None)
        inprogress: set[Request] = getattr(slot, "inprogress", set()) if slot else set()
        now = time.monotonic()
        for token, lease in list(self.leases.items()):
            if lease.done_at is None and lease.request not in inprogress:
                lease.done_at = now
                if not lease.items:
                    del self.leases[token]
                    self.acks.append(token)

    def stored(self, began: float) -> None:
        """The store flushed everything that reached it before ``began``."""
        self.settle()
        for token, lease in list(self.leases.items()):
            if lease.done_at is not None and lease.done_at <= began:
                del self.leases[token]
                self.acks.append(token)

    def failed(self, request: Request) -> None:
        """A request failed for good: its URL may be queued again (``dupefilter.forget``)."""
        if self.scheduler is not None:
            self.scheduler.forget(request)

    def awaiting_store(self) -> int:
        return sum(1 for lease in self.leases.values() if lease.done_at is not None)

    def flush_pending(self) -> bool:
        """Queue held requests, then send acknowledgements (in that order: a request is never
        acknowledged before the requests it led to are queued). False while Redis is away."""
        try:
            if self.scheduler is not None:
                self.scheduler.push_outbox()
            if self.acks:
                tokens = list(self.acks)
                self.link.call(
                    self.link.script(scripts.ACK),
                    keys=[self.run.keys.inflight, self.run.keys.owners],
                    args=tokens,
                )
                del self.acks[: len(tokens)]
                self.acked += len(tokens)
        except FrontierDown:
            return False
        return True

    def held(self) -> int:
        """Requests and acknowledgements waiting for Redis."""
        outbox = len(self.scheduler.outbox) if self.scheduler is not None else 0
        return outbox + len(self.acks)
