"""Per-run budgets of one source (requests, depth, bytes, wall time), with a counted, reported stop.

A hostile or broken site can keep a crawl busy for ever: a page with 20,000 links, pagination that
never ends, slow answers. Each run of a source has a budget: the registry's ``budget`` for the source,
else ``PATROLI_BUDGET_REQUESTS``, ``PATROLI_BUDGET_DEPTH``, ``PATROLI_BUDGET_BYTES`` and
``PATROLI_BUDGET_SECONDS``. ``CrawlBudgetMiddleware`` (a downloader middleware placed after the
incremental one, so that only requests that really go out are counted)

- refuses a request deeper than the depth budget (``patroli/budget/depth_refused``; the listing walk is
  then incomplete and nothing is marked gone);
- stops the crawl when its request, byte or time budget is spent: the requests that follow are
  refused and the spider closes with the reason ``budget_requests``, ``budget_bytes`` or
  ``budget_seconds`` (``patroli/budget/stopped``). The run is *degraded* with a note; a stopped walk
  marks nothing gone.

Robots.txt, retries and redirects are requests too and count. Wall time is counted from the spider's
start, like Scrapy's ``CLOSESPIDER_TIMEOUT`` (which cannot read a per-source value). Once a budget is
spent, ``BudgetOutputMiddleware`` (a spider middleware) stops reading the pages still being parsed at
their next request (``patroli/budget/dropped`` counts the pages): a page of 20,000 links would
otherwise keep the crawl busy building and queueing (with ``JOBDIR``, pickling) requests that would
never be made.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.asyncio import CallLaterResult, call_later
from scrapy.utils.defer import deferred_from_coro

from crawler.incidents import BUDGET_DROPPED, BUDGET_FINISH_PREFIX, BUDGET_STOPPED, DEPTH_REFUSED
from crawler.scope import source_of
from crawler.sources import SourceConfig
from patroli.config.table import (
    PATROLI_BUDGET_BYTES,
    PATROLI_BUDGET_DEPTH,
    PATROLI_BUDGET_REQUESTS,
    PATROLI_BUDGET_SECONDS,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Budget:
    requests: int
    depth: int
    bytes: int
    seconds: float

    @classmethod
    def of(cls, source: SourceConfig | None, settings: Any) -> Budget:
        """The source's own budget where the registry gives one, else the settings'."""
        own = source.budget if source is not None else {}
        return cls(
            requests=int(own.get("requests") or PATROLI_BUDGET_REQUESTS.from_settings(settings)),
            depth=int(own.get("depth") or PATROLI_BUDGET_DEPTH.from_settings(settings)),
            bytes=int(own.get("bytes") or PATROLI_BUDGET_BYTES.from_settings(settings)),
            seconds=float(own.get("seconds") or PATROLI_BUDGET_SECONDS.from_settings(settings)),
        )


class OverBudget(IgnoreRequest):
    """A request the budget did not allow."""


class CrawlBudgetMiddleware:
    def __init__(self, crawler: Crawler, budget: Budget) -> None:
        self.crawler = crawler
        self.budget = budget
        self.requests = 0
        self.bytes = 0
        self.spent = ""  # the budget that stopped the crawl
        self.timer: CallLaterResult | None = None
        self.closing: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = cls(crawler, Budget.of(source_of(crawler.spider), crawler.settings))
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_opened(self) -> None:
        self.timer = call_later(self.budget.seconds, self.stop, "seconds")

    def spider_closed(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def process_request(self, request: Request) -> None:
        if self.spent:
            raise OverBudget(f"the {self.spent} budget of this run is spent: {request.url[:200]}")
        depth = int(request.meta.get("depth") or 0)
        if depth > self.budget.depth:
            self.stats.inc_value(DEPTH_REFUSED)
            logger.warning(
                "%s: not following %s: deeper than the depth budget (%d)",
                self.name,
                request.url[:200],
                self.budget.depth,
            )
            raise OverBudget(
                f"deeper than the depth budget ({self.budget.depth}): {request.url[:200]}"
            )
        self.requests += 1
        if self.requests > self.budget.requests:
            self.stop("requests")
            raise OverBudget(f"the request budget of this run is spent: {request.url[:200]}")

    def process_response(self, request: Request, response: Response) -> Response:
        self.bytes += len(response.body)
        if self.bytes > self.budget.bytes:
            self.stop("bytes")
        return response

    def stop(self, budget: str) -> None:
        if self.spent:
            return
        self.spent = budget
        self.stats.set_value(BUDGET_STOPPED, budget)
        limit = {
            "requests": self.budget.requests,
            "bytes": self.budget.bytes,
            "seconds": self.budget.seconds,
        }[budget]
        logger.warning(
            "%s: stopping: the %s budget of this run (%s) is spent", self.name, budget, limit
        )
        try:
            engine = self.crawler.engine
        except RuntimeError:  # not crawling (yet): nothing to close
            return
        self.closing = deferred_from_coro(
            engine.close_spider_async(reason=BUDGET_FINISH_PREFIX + budget)
        )

    @property
    def name(self) -> str:
        source = source_of(self.crawler.spider)
        return source.name if source else getattr(self.crawler.spider, "name", "?")

    @property
    def stats(self) -> Any:
        assert self.crawler.stats is not None  # noqa: S101 - set before components
        return self.crawler.stats


class BudgetOutputMiddleware:
    """Drops the requests a spider yields once its run's budget is spent (they would be refused)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.budget: CrawlBudgetMiddleware | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        if self.budget is None:
            self.budget = self.crawler.get_downloader_middleware(CrawlBudgetMiddleware)
        async for output in result:
            if isinstance(output, Request) and self.budget is not None and self.budget.spent:
                # The crawl is stopping: leave the rest of the page unread (its requests would all
                # be refused, and reading 20,000 links costs seconds of the crawl's one thread).
                assert self.crawler.stats is not None  # noqa: S101 - set before components
                self.crawler.stats.inc_value(BUDGET_DROPPED)
                break
            yield output
