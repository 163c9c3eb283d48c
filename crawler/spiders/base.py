"""What every patrol spider shares: its source entry, the ad constructor, layout-change reports.

Spiders describe pages and yield what they say; they never store, score or look up settings of
other components. When a page answers 200 but holds nothing the spider expects, the site has most
likely changed its markup: :meth:`PatrolSpider.layout_changed` counts it per source, logs the URL
and keeps it for the run summary, so a broken source never looks like a quiet night.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any, Self

import scrapy
from parsel import Selector, SelectorList
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError

from crawler.items import JobAd
from crawler.sources import SourceConfig, load_registry
from patroli.config.table import PATROLI_SNAPSHOT_MAX_BYTES, PATROLI_SOURCES
from patroli.text.dates import parse_site_date

logger = logging.getLogger(__name__)


def select(
    node: Selector | SelectorList[Selector] | Response, query: str
) -> SelectorList[Selector]:
    """A registry selector: XPath when it starts with ``/`` or ``(``, CSS otherwise."""
    if query.startswith(("/", "(", "./")):
        return node.xpath(query)
    return node.css(query)


def text_of(nodes: Iterable[Any]) -> str:
    return " ".join(" ".join(t for n in nodes for t in n.xpath(".//text()").getall()).split())


class PatrolSpider(scrapy.Spider):
    """Base class; subclasses set ``name`` to their source kind."""

    kind = ""

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        # `scrapy crawl KIND -a source=NAME` names a source of the registry that PATROLI_SOURCES
        # (environment, or `-s PATROLI_SOURCES=...`) points at.
        if isinstance(kwargs.get("source"), str):
            registry = load_registry(PATROLI_SOURCES.from_settings(crawler.settings) or None)
            kwargs["source"] = registry.get(kwargs["source"])
        return super().from_crawler(crawler, *args, **kwargs)

    def __init__(self, source: SourceConfig | str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if source is None:
            raise ValueError(
                f"{self.name}: pass a source, e.g. `scrapy crawl {self.name} -a source=NAME`"
            )
        if isinstance(source, str):
            source = load_registry().get(source)
        if source.kind != self.kind:
            raise ValueError(f"source {source.name!r} is a {source.kind}, not a {self.kind}")
        self.source = source
        self.degraded_urls: list[str] = []
        # Incremental crawling (crawler/incremental.py): why the listing may be incomplete (then
        # nothing is marked gone).
        self.listing_failures: list[str] = []
        self.truncated = False
        self.visited_listings: set[str] = set()

    @property
    def snapshot_limit(self) -> int:
        return PATROLI_SNAPSHOT_MAX_BYTES.from_settings(self.settings)

    def snapshot(self, markup: str) -> str:
        """Raw evidence, bounded: hostile pages must not fill the store."""
        data = markup.encode("utf-8")
        if len(data) <= self.snapshot_limit:
            return markup
        return (
            data[: self.snapshot_limit].decode("utf-8", "ignore")
            + "\n<!-- patroli: snapshot truncated -->"
        )

    def make_ad(self, **fields: Any) -> JobAd:
        return JobAd(source=self.source.name, source_kind=self.kind, **fields)

    def stat(self, key: str, count: int = 1) -> None:
        assert self.crawler.stats is not None  # noqa: S101 - set by Scrapy before any callback
        self.crawler.stats.inc_value(f"patroli/{key}", count)

    def layout_changed(self, response: Response, expected: str) -> None:
        """Record a 200 page without the expected content (degraded run, not a crash)."""
        self.stat("layout_changed")
        self.stat(f"layout_changed/{self.source.name}")
        self.degraded_urls.append(response.url)
        assert self.crawler.stats is not None  # noqa: S101
        urls = self.crawler.stats.get_value("patroli/degraded_urls") or []
        if len(urls) < 50:
            self.crawler.stats.set_value("patroli/degraded_urls", [*urls, response.url])
        logger.error(
            "%s: no %s found on %s (HTTP %s) — the site's layout may have changed; "
            "check the page and the source's selectors in the registry",
            self.source.name, expected, response.url, response.status,
        )  # fmt: skip

    def listing_complete(self) -> bool:
        """Whether this run saw the source's whole listing, so that an ad missing from it is gone."""
        return False

    def listing_request(self, url: str, callback: Any, **cb_kwargs: Any) -> scrapy.Request | None:
        """A listing page, once per run. Not filtered by Scrapy's duplicate filter, so that a resumed
        crawl walks its listings again and finds what an interrupted request would have found."""
        if url in self.visited_listings:
            return None
        self.visited_listings.add(url)
        return scrapy.Request(url, callback=callback, cb_kwargs=cb_kwargs, dont_filter=True,
                              errback=self.listing_failed)  # fmt: skip

    def detail_request(
        self, url: str, native_id: str, fingerprint: str, callback: Any, **cb_kwargs: Any
    ) -> scrapy.Request:
        """An ad page; the incremental middleware may skip it when the ad is stored and unchanged."""
        meta = {"patroli_ad": {"native_id": native_id, "fingerprint": fingerprint}}
        return scrapy.Request(url, callback=callback, cb_kwargs=cb_kwargs, meta=meta, dont_filter=True,
                              errback=self.detail_failed)  # fmt: skip

    def listing_failed(self, failure: Any) -> None:
        url = getattr(getattr(failure, "request", None), "url", "?")
        self.listing_failures.append(url)
        self.stat("listing_failed")
        logger.error(
            "%s: listing page failed: %s (%s)", self.source.name, url, failure.getErrorMessage()
        )

    def detail_failed(self, failure: Any) -> None:
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            return  # skipped on purpose (unchanged, or already requested); HttpError is a subclass
        url = getattr(getattr(failure, "request", None), "url", "?")
        self.stat("detail_failed")
        logger.warning(
            "%s: ad page failed: %s (%s)", self.source.name, url, failure.getErrorMessage()
        )

    def page_facts(self, response: Response) -> dict[str, Any]:
        """What a detail request announced (native id, fingerprint) plus the page's ETag: kept in the
        ad's ``extra`` so that the next crawl can skip the page if nothing changed."""
        ad_meta = response.meta.get("patroli_ad") or {}
        etag = response.headers.get("ETag")
        return {"native_id": ad_meta.get("native_id"), "fingerprint": ad_meta.get("fingerprint"),
                "etag": etag.decode("latin-1") if etag else None}  # fmt: skip

    def ad_from_selectors(self, response: Response, expected: str, **extra: Any) -> JobAd | None:
        """An ad page read with the registry's selectors; ``None`` (a layout change) without title and text."""
        sel = self.source.selectors

        def text(name: str) -> str:
            return text_of(select(response, sel[name])) if sel.get(name) else ""

        title, body = (
            text("title"),
            (select(response, sel["text"]).get() if sel.get("text") else None),
        )
        if not title and not body:
            self.layout_changed(response, expected)
            return None
        facts = self.page_facts(response)
        posted = text("posted")
        return self.make_ad(
            native_id=facts.pop("native_id")
            or self.native_id_from_url(response.url, sel.get("native_id")),
            url=response.url,
            title=title,
            text=body or "",
            posted_at=parse_site_date(posted) if posted else None,
            author=text("author"),
            location=text("location"),
            salary_text=text("price"),
            html=self.snapshot(response.text),
            extra={"posted_text": posted, **facts, **extra},
        )

    @staticmethod
    def native_id_from_url(url: str, pattern: str | None) -> str:
        if pattern and (match := re.search(pattern, url)):
            return match.group(1) if match.groups() else match.group(0)
        return url
