"""FrontierScheduler: scrapy-redis's scheduler over one run's frontier, with leases and outages.

Settings (scrapy-redis's, set by ``crawler.frontier.frontier_settings``): ``SCHEDULER_QUEUE_KEY``,
``SCHEDULER_DUPEFILTER_KEY``, ``SCHEDULER_SERIALIZER`` (JSON, ``crawler.frontier.serializer``),
``SCHEDULER_PERSIST`` (always on: the queue belongs to every worker of the run). What it adds:

- **leases**: ``next_request`` moves the request into the run's ``inflight`` hash under this
  worker's name (``scripts.POP``) and tags it (``meta["patroli_frontier"]``); the frontier extension
  acknowledges it once its output is handled and its ads are stored. A worker killed with SIGKILL
  loses nothing: when its heartbeat lapses, another worker puts its requests back.
- **one step to mark and queue** (``scripts.PUSH``), see ``crawler.frontier.dupefilter``. Retries
  and redirects of a request already queued pass the filter (``meta["retry_times"]``,
  ``meta["redirect_times"]``). Scrapy's ``dont_filter`` is not honoured across workers: the
  spiders set it on listings so that an embedded ``--resume`` walks them again, which a frontier
  does not need, and every worker of a run starts the same listings.
- **outages**: while Redis is away, new requests wait in memory in order (``outbox``) and are
  queued when it is back; ``next_request`` returns nothing, and the engine's heartbeat asks again.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from typing import Self

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.http import Request
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler.frontier import FRONTIER_META, scripts, serializer
from crawler.frontier.connection import FrontierDown, Link
from crawler.frontier.dupefilter import FrontierDupeFilter
from crawler.frontier.state import FrontierState

logger = logging.getLogger(__name__)

PENDING_CACHE_SECONDS = 0.2  # how long "the queue has requests" is believed without asking Redis


def is_continuation(request: Request) -> bool:
    """A retry or a redirect of a request that was already queued (and so already seen)."""
    return bool(request.meta.get("retry_times") or request.meta.get("redirect_times"))


class FrontierScheduler(Scheduler):
    queue: PriorityQueue
    df: FrontierDupeFilter

    def __init__(self, crawler: Crawler, state: FrontierState) -> None:
        super().__init__(
            server=state.link.redis,
            persist=True,
            queue_key=state.run.keys.queue,
            queue_cls="scrapy_redis.queue.PriorityQueue",
            dupefilter=FrontierDupeFilter(state.link, state.run.keys.seen),
            dupefilter_key=state.run.keys.seen,
            serializer=serializer,
        )
        self.crawler = crawler
        self.stats = crawler.stats
        self.state = state
        self.link: Link = state.link
        self.outbox: deque[tuple[str, bytes, float, bool]] = deque()
        self._pending_until = 0.0
        self._pending = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, FrontierState.of(crawler))

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.queue = PriorityQueue(
            server=self.server, spider=spider, key=self.queue_key, serializer=serializer
        )
        self.state.scheduler = self

    def close(self, reason: str) -> None:
        self.state.flush_pending()

    def __len__(self) -> int:
        try:
            return int(self.link.call(self.server.zcard, self.queue_key))
        except FrontierDown:
            return len(self.outbox)

    # --- in ---------------------------------------------------------------------------------

    def enqueue_request(self, request: Request) -> bool:
        request.meta.pop(FRONTIER_META, None)  # a retry's copy carries its parent's lease
        try:
            data = self.queue._encode_request(request)
        except TypeError as exc:
            logger.error("cannot queue %s: %s", request, exc)
            self._stat("frontier/unqueueable")
            return False
        entry = (
            self.df.request_fingerprint(request),
            data,
            -request.priority,
            is_continuation(request),
        )
        if self.outbox:  # keep the order: Redis was away, older requests wait first
            self.outbox.append(entry)
            self._stat("frontier/held")
            return True
        try:
            queued = self._push(entry)
        except FrontierDown:
            self.outbox.append(entry)
            self._stat("frontier/held")
            return True
        if not queued:
            self.df.log(request, self.spider)
            self._stat("frontier/filtered")
            return False
        self._stat("scheduler/enqueued/redis")
        self._pending = True
        return True

    def _push(self, entry: tuple[str, bytes, float, bool]) -> bool:
        fingerprint, data, score, force = entry
        queued = self.link.call(
            self.link.script(scripts.PUSH),
            keys=[self.df.key, self.queue_key],
            args=[fingerprint, data, score, "1" if force else "0"],
        )
        return bool(queued)

    def push_outbox(self) -> None:
        """Queue what waited while Redis was away, oldest first (raises ``FrontierDown``)."""
        while self.outbox:
            self._push(self.outbox[0])
            self.outbox.popleft()
            self._stat("scheduler/enqueued/redis")

    # --- out --------------------------------------------------------------------------------

    def next_request(self) -> Request | None:
        if self.outbox:
            return None  # Redis was away; the extension queues the outbox first
        try:
            popped = self.link.call(
                self.link.script(scripts.POP),
                keys=[
                    self.queue_key,
                    self.state.run.keys.inflight,
                    self.state.run.keys.owners,
                    self.state.run.keys.seq,
                ],
                args=[self.state.run.worker],
            )
        except FrontierDown:
            return None
        if not popped:
            self._pending = False
            self._pending_until = self.link.clock() + PENDING_CACHE_SECONDS
            return None
        token, data = popped
        request: Request = self.queue._decode_request(data)
        request.meta[FRONTIER_META] = token.decode() if isinstance(token, bytes) else str(token)
        self.state.leased(request)
        self._stat("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        """Whether this worker should keep asking for requests: the queue has some (checked at most
        every 0.2 s), or Redis is away, or requests wait to be queued. Requests other workers hold
        do not count; the frontier extension keeps the spider open while they are in flight."""
        if self.outbox or not self.link.up:
            return True
        now = self.link.clock()
        if now >= self._pending_until:
            try:
                self._pending = bool(self.link.call(self.server.zcard, self.queue_key))
            except FrontierDown:
                return True
            self._pending_until = now + PENDING_CACHE_SECONDS
        return self._pending

    def _stat(self, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, count)

    def forget(self, request: Request) -> None:
        with contextlib.suppress(FrontierDown):  # else the seen set expires with the run
            self.df.forget(request)
