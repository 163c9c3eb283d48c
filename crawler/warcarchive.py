"""WarcArchiveMiddleware: every response the crawl fetches is also kept as WARC records, as sent.

It listens to ``response_downloaded``, which the downloader sends with the response exactly as the
download handler produced it: before any downloader middleware's ``process_response``, so before
``HttpCompressionMiddleware`` decompresses the body (a gzip page is archived gzip-encoded, with its
``Content-Encoding``), before redirects, retries and the incremental middleware look at it, and for
every response whoever asked for it (pages, feeds, robots.txt, the media pipeline's images). The
request is recorded as the handler sent it, after every ``process_request``.

The signal handler only copies references and queues them; building, compressing and writing the
records happens in the writer thread (``patroli.evidence.writer``). As a spider middleware it then
gives each ad the pointer to the record of the response it was read from (``JobAd.warc``: file,
offset, length, record id, payload digest), once that record is on disk.

Settings: ``PATROLI_WARC_ENABLED``, ``PATROLI_EVIDENCE_DIR``, ``PATROLI_WARC_MAX_BYTES``. Stats:
``patroli/warc/records``, ``patroli/warc/bytes``, ``patroli/warc/files``, ``patroli/warc/failed``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from concurrent.futures import Future
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

from crawler.items import JobAd
from patroli.config.table import PATROLI_EVIDENCE_DIR, PATROLI_WARC_ENABLED, PATROLI_WARC_MAX_BYTES
from patroli.evidence.records import Exchange, new_record_id
from patroli.evidence.writer import RecordRef, WarcWriter

logger = logging.getLogger(__name__)

META_KEY = "patroli_warc_id"  # the response record's id, in the request's meta (a plain string)
KEEP_POINTERS = 50_000  # record futures kept for items still to come (each a few hundred bytes)


def software() -> str:
    return f"patroli/{version('patroli')} warcio/{version('warcio')} scrapy/{version('scrapy')}"


def _headers(headers: Any) -> list[tuple[str, str]]:
    return [
        (key.decode("latin-1"), value.decode("latin-1"))
        for key, values in headers.items()
        for value in values
    ]


class WarcArchiveMiddleware:
    writer: WarcWriter | None = None

    def __init__(self, crawler: Crawler, evidence_dir: Path, max_bytes: int) -> None:
        assert crawler.stats is not None  # noqa: S101 - Scrapy sets it before components
        self.crawler = crawler
        self.stats = crawler.stats
        self.evidence_dir = evidence_dir
        self.max_bytes = max_bytes
        self.pending: OrderedDict[str, Future[RecordRef]] = OrderedDict()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not PATROLI_WARC_ENABLED.from_settings(settings):
            raise NotConfigured("PATROLI_WARC_ENABLED is off: no WARC records are written")
        middleware = cls(
            crawler,
            Path(PATROLI_EVIDENCE_DIR.from_settings(settings)),
            PATROLI_WARC_MAX_BYTES.from_settings(settings),
        )
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(middleware.response_downloaded, signal=signals.response_downloaded)
        return middleware

    async def spider_opened(self, spider: Spider) -> None:
        name = getattr(getattr(spider, "source", None), "name", "") or spider.name
        # Opening recovers files a crashed crawl left: file work, off the event loop.
        self.writer = await asyncio.to_thread(
            WarcWriter, self.evidence_dir, f"patroli-{name}", self.max_bytes, software()
        )

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        if self.writer is None:
            return
        record_id = new_record_id()
        exchange = Exchange(
            url=response.url,
            method=request.method,
            request_headers=_headers(request.headers),
            request_body=request.body or b"",
            status=response.status,
            protocol=response.protocol or "HTTP/1.1",
            response_headers=_headers(response.headers),
            body=response.body,
            record_id=record_id,
            ip_address=str(response.ip_address or ""),
            date=datetime.now(UTC),
            truncated=bool({"partial", "dataloss"} & set(response.flags or ())),
        )
        request.meta[META_KEY] = record_id
        self.pending[record_id] = self.writer.submit(exchange)
        while len(self.pending) > KEEP_POINTERS:
            self.pending.popitem(last=False)

    async def _pointer(self, record_id: str) -> dict[str, Any]:
        future = self.pending.get(record_id)
        if future is None:
            return {}
        try:
            ref = await asyncio.wrap_future(future)
        except Exception:  # noqa: BLE001 - counted; the ad is stored without a pointer
            self.stats.inc_value("patroli/warc/unlinked_ads")
            return {}
        return ref.as_dict()

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        record_id = response.meta.get(META_KEY)
        async for item in result:
            if record_id and isinstance(item, JobAd) and not item.warc:
                item.warc = await self._pointer(record_id)
            yield item

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        writer = self.writer
        if writer is None:
            return
        await asyncio.to_thread(writer.close)
        failed = sum(1 for f in self.pending.values() if f.done() and f.exception() is not None)
        self.stats.set_value("patroli/warc/records", writer.records)
        self.stats.set_value("patroli/warc/bytes", writer.bytes)
        self.stats.set_value("patroli/warc/files", len(writer.files))
        if failed:
            self.stats.set_value("patroli/warc/failed", failed)
            logger.error("%d responses could not be written as WARC records", failed)
        self.pending.clear()
