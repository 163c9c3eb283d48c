"""Downloader middlewares of frontier crawls: one politeness budget per host, and failed requests.

``SharedPolitenessMiddleware`` makes a host's budget one for all workers instead of one per worker:
at most ``CONCURRENT_REQUESTS_PER_DOMAIN`` requests to a host at once and one start per
``DOWNLOAD_DELAY`` seconds, counted in Redis (``scripts.ACQUIRE_HOST``; a source's ``politeness``
overrides both, as it does for Scrapy's own per-worker slots, which still apply). A request waits
in this middleware until the host has room; the slot is given back when its response or error
comes back, and expires by itself (``DOWNLOAD_TIMEOUT`` + 30 s) if a worker dies holding it. While
Redis is away, each worker keeps to its own budget. Switch off with
``PATROLI_FRONTIER_POLITENESS = False``. Stats: ``patroli/politeness/waited_ms``.

``FailedRequestMiddleware`` (before the retry middleware in the response chain) tells the run's
duplicate filter to forget a request that failed for good (an HTTP error or a download error after
its last retry), so that it can be queued again.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Self

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

from crawler.frontier import scripts
from crawler.frontier.connection import FrontierDown
from crawler.frontier.keys import host_keys
from crawler.frontier.state import FrontierState
from patroli.config.table import PATROLI_FRONTIER, PATROLI_FRONTIER_POLITENESS

SLOT_META = "patroli_host_slot"
SLOT_MARGIN = 30.0
MAX_POLL = 1.0


class SharedPolitenessMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.state = FrontierState.of(crawler)
        settings = crawler.settings
        self.limit = max(1, settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 8))
        self.delay = max(0.0, settings.getfloat("DOWNLOAD_DELAY", 0.0))
        self.slot_ttl = settings.getfloat("DOWNLOAD_TIMEOUT", 180) + SLOT_MARGIN

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not PATROLI_FRONTIER.from_settings(settings):
            raise NotConfigured("not a frontier crawl")
        if not PATROLI_FRONTIER_POLITENESS.from_settings(settings):
            raise NotConfigured("PATROLI_FRONTIER_POLITENESS is off")
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname or ""
        if not host or SLOT_META in request.meta:
            return
        slots, next_key = host_keys(self.state.run.keys.prefix, host)
        token = secrets.token_hex(8)
        link = self.state.link
        waited = 0.0
        while True:
            try:
                wait_ms = link.call(
                    link.script(scripts.ACQUIRE_HOST),
                    keys=[slots, next_key],
                    args=[token, self.limit, int(self.delay * 1000), int(self.slot_ttl * 1000)],
                )
            except FrontierDown:
                return  # Redis away: this worker's own slots still keep it polite
            if not wait_ms:
                break
            pause = min(int(wait_ms) / 1000, MAX_POLL)
            waited += pause
            await asyncio.sleep(pause)
        request.meta[SLOT_META] = [host, token]
        if waited and self.crawler.stats is not None:
            self.crawler.stats.inc_value("patroli/politeness/waited_ms", round(waited * 1000))

    def process_response(self, request: Request, response: Response) -> Response:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._release(request)

    def _release(self, request: Request) -> None:
        held = request.meta.pop(SLOT_META, None)
        if not held:
            return
        slots, _ = host_keys(self.state.run.keys.prefix, held[0])
        with contextlib.suppress(FrontierDown):  # else the slot expires by itself
            self.state.link.call(self.state.link.redis.zrem, slots, held[1])


class FailedRequestMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.state = FrontierState.of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not PATROLI_FRONTIER.from_settings(crawler.settings):
            raise NotConfigured("not a frontier crawl")
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status >= 400:
            self.state.failed(request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if not isinstance(exception, IgnoreRequest):
            self.state.failed(request)
