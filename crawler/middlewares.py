"""Downloader middlewares: retries that back off, so a struggling site is given room, not hammered.

``BackoffRetryMiddleware`` replaces Scrapy's ``RetryMiddleware`` (same ``RETRY_*`` settings) and waits
before each retry: ``PATROLI_RETRY_BACKOFF_BASE`` × 2^(attempt − 1) seconds, at most
``PATROLI_RETRY_BACKOFF_MAX``, or what a 429/503 ``Retry-After`` header asks (also capped). The wait
holds the request's download slot, so the whole domain slows down, which is the point.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Self

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response
from scrapy.utils.response import response_status_message

from patroli.config.table import PATROLI_RETRY_BACKOFF_BASE, PATROLI_RETRY_BACKOFF_MAX

logger = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    base: float
    cap: float

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = super().from_crawler(crawler)
        middleware.base = PATROLI_RETRY_BACKOFF_BASE.from_settings(crawler.settings)
        middleware.cap = PATROLI_RETRY_BACKOFF_MAX.from_settings(crawler.settings)
        return middleware

    def delay_for(self, request: Request, response: Response | None = None) -> float:
        attempt = int(request.meta.get("retry_times", 0)) + 1
        delay = self.base * 2 ** (attempt - 1)
        if response is not None and response.status in (429, 503):
            asked = retry_after_seconds(response.headers.get("Retry-After"))
            if asked is not None:
                delay = max(delay, asked)
        return min(delay, self.cap)

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        await self._wait(request, self.delay_for(request, response))
        return retry

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get(
            "dont_retry", False
        ):
            return None
        retry = self._retry(request, exception)
        if retry is not None:
            await self._wait(request, self.delay_for(request))
        return retry

    async def _wait(self, request: Request, delay: float) -> None:
        if delay > 0:
            assert self.crawler.stats is not None  # noqa: S101 - set before components
            self.crawler.stats.inc_value("patroli/retry/backoff_ms", round(delay * 1000))
            logger.debug("backing off %.1f s before retrying %s", delay, request.url)
            await asyncio.sleep(delay)
