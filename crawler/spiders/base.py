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
from urllib.parse import urlsplit

import scrapy
from parsel import Selector, SelectorList
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError

from crawler.incidents import LINKS_UNUSABLE
from crawler.items import JobAd
from crawler.sources import SourceConfig, load_registry
from crawler.structured import article_facts, page_selector
from crawler.walls import DESCRIPTIONS, LAYOUT_CHANGED, Refusal, refusal_of
from patroli.config.table import PATROLI_SNAPSHOT_MAX_BYTES, PATROLI_SOURCES
from patroli.text.dates import parse_iso_date, parse_site_date

logger = logging.getLogger(__name__)

# Link kinds counted by name under patroli/links/unusable/ (any other scheme counts as "other").
UNUSABLE_KINDS = ("javascript", "mailto", "tel", "sms", "data", "file", "ftp", "s3", "malformed")


_DOCTYPE_TOKEN = re.compile(rb"\"[^\"]*\"|'[^']*'|<!--.*?-->|[\[\]>]", re.DOTALL)
_ELEMENT_START = re.compile(rb"<[A-Za-z_]")


def strip_doctype(body: bytes) -> bytes | None:
    """An XML document without its DOCTYPE (``None`` when it has none).

    Feeds and sitemaps have no use for a DTD, and one that declares entities is an attack: nested
    internal entities expand a few bytes into gigabytes (billion laughs), external ones read local
    files (XXE). Without the DTD the references are undefined and no parser expands or fetches them."""
    start = body.find(b"<!DOCTYPE")
    if start < 0 or _ELEMENT_START.search(body, 0, start):
        return None
    depth = 0
    for token in _DOCTYPE_TOKEN.finditer(body, start + len(b"<!DOCTYPE")):
        mark = token.group()
        if mark == b"[":
            depth += 1
        elif mark == b"]":
            depth -= 1
        elif mark == b">" and depth <= 0:
            return body[:start] + body[token.end() :]
    return body[:start]  # never closed: nothing after it is a document


def select(
    node: Selector | SelectorList[Selector] | Response, query: str
) -> SelectorList[Selector]:
    """A registry selector: XPath when it starts with ``/`` or ``(``, CSS otherwise."""
    if query.startswith(("/", "(", "./")):
        return node.xpath(query)
    return node.css(query)


def image_urls(response: Response, candidates: Iterable[Any]) -> list[str]:
    """Absolute http(s) URLs of the images an ad shows, in page order, each once (``data:`` and
    other schemes are not fetched)."""
    urls: list[str] = []
    for candidate in candidates:
        if not isinstance(candidate, str) or not candidate.strip():
            continue
        url = response.urljoin(candidate.strip())
        if url.startswith(("http://", "https://")) and url not in urls:
            urls.append(url)
    return urls


def og_images(response: Response) -> list[str]:
    """The page's ``og:image`` (the picture sites put in link previews: often the flyer)."""
    return response.css('meta[property="og:image"]::attr(content)').getall()


def text_of(nodes: Iterable[Any]) -> str:
    return " ".join(" ".join(t for n in nodes for t in n.xpath(".//text()").getall()).split())


def value_of(nodes: Iterable[Any]) -> str:
    """What a registry selector says: the text of elements, or the value of attributes and text
    nodes (``meta::attr(content)``, ``//time/@datetime``), whitespace collapsed."""
    parts = []
    for node in nodes:
        if isinstance(node.root, str):  # an attribute value or text node
            parts.append(node.root)
        else:
            parts.extend(node.xpath(".//text()").getall())
    return " ".join(" ".join(parts).split())


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

    def without_doctype(self, body: bytes) -> bytes:
        """``body`` without its DOCTYPE (``strip_doctype``), counted when it had one."""
        stripped = strip_doctype(body)
        if stripped is None:
            return body
        self.stat("xml/doctype_removed")
        return stripped

    def make_ad(self, **fields: Any) -> JobAd:
        return JobAd(source=self.source.name, source_kind=self.kind, **fields)

    def stat(self, key: str, count: int = 1) -> None:
        assert self.crawler.stats is not None  # noqa: S101 - set by Scrapy before any callback
        self.crawler.stats.inc_value(f"patroli/{key}", count)

    def layout_changed(self, response: Response, expected: str) -> None:
        """Record a 200 page without the expected content (degraded run, not a crash)."""
        self.stat(LAYOUT_CHANGED)
        self.stat(f"layout_changed/{self.source.name}")
        self.degraded_urls.append(response.url)
        assert self.crawler.stats is not None  # noqa: S101
        urls = self.crawler.stats.get_value("patroli/degraded_urls") or []
        if len(urls) < 50:
            self.crawler.stats.set_value("patroli/degraded_urls", [*urls, response.url])
        logger.error(
            "%s: no %s found on %s (HTTP %s) — the site's layout may have changed; "
            "check the page and the source's selectors in the registry",
            self.source.name,
            expected,
            response.url,
            response.status,
        )

    def refused(self, response: Response) -> bool:
        """Whether the page is a refusal (soft block, login wall, rate limit, RSS-Bridge error):
        then it is counted under its named status and nothing on it is read as ads."""
        refusal = refusal_of(response.url, response.status, response.body)
        if refusal is None:
            return False
        self.record_refusal(refusal, response.url)
        return True

    def record_refusal(self, refusal: Refusal, url: str) -> None:
        """Count a refusal under ``patroli/refused/<status>`` (and per source); keep the URL."""
        self.stat(f"refused/{refusal.status}")
        self.stat(f"refused/{refusal.status}/{self.source.name}")
        assert self.crawler.stats is not None  # noqa: S101
        urls = self.crawler.stats.get_value("patroli/refused_urls") or []
        if len(urls) < 50:
            self.crawler.stats.set_value("patroli/refused_urls", [*urls, url])
        logger.error(
            "%s: %s — %s: %s; no ads read from it",
            self.source.name,
            DESCRIPTIONS.get(refusal.status, refusal.status),
            refusal.reason,
            url,
        )

    def refusal_in_failure(self, failure: Any) -> bool:
        """A request that failed with an HTTP error whose page is a refusal (429, RSS-Bridge's
        error page): counted under its named status."""
        if not failure.check(HttpError):
            return False
        response = failure.value.response
        refusal = refusal_of(response.url, response.status, response.body)
        if refusal is None:
            return False
        self.record_refusal(refusal, response.url)
        return True

    def listing_complete(self) -> bool:
        """Whether this run saw the source's whole listing, so that an ad missing from it is gone."""
        return False

    def link(self, response: Response, href: str | None) -> str | None:
        """``href`` on ``response`` as an absolute http(s) URL, or ``None`` when no crawl can follow it
        (``javascript:``, ``mailto:``, ``tel:``, ``file:``, a malformed URL): counted under
        ``patroli/links/unusable/<kind>`` and skipped, so that one bad link never costs the rest of the
        page. Whether a URL is in the source's scope is decided for every request in one place
        (``crawler/scope.py``)."""
        href = (href or "").strip()
        if not href:
            return None
        try:
            written = urlsplit(href)
            url = response.urljoin(href)
            parts = urlsplit(url)
            _ = parts.port  # a port out of range or not a number raises ValueError
            if written.scheme.lower() in ("http", "https") and not written.netloc:
                raise ValueError("a web URL without a host")  # "http://", "http:page": no link
        except ValueError:
            self.unusable_link("malformed", href)
            return None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            self.unusable_link(scheme or "malformed", href)
            return None
        if not parts.hostname:
            self.unusable_link("malformed", href)
            return None
        return url

    def ad_url(self, response: Response, href: str | None) -> str:
        """The URL an ad names for itself when it is a usable http(s) URL, else the page's: a stored
        ``javascript:`` URL would be a link in the web app."""
        try:
            url = response.urljoin((href or "").strip())
            parts = urlsplit(url)
        except ValueError:
            return response.url
        usable = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        return url if href and usable else response.url

    def unusable_link(self, kind: str, href: str) -> None:
        kind = kind if kind in UNUSABLE_KINDS else "other"
        assert self.crawler.stats is not None  # noqa: S101 - set by Scrapy before any callback
        self.crawler.stats.inc_value(LINKS_UNUSABLE)
        self.crawler.stats.inc_value(f"{LINKS_UNUSABLE}/{kind}")
        logger.warning("%s: skipped an unusable link (%s): %s", self.source.name, kind, href[:200])

    def listing_request(self, url: str, callback: Any, **cb_kwargs: Any) -> scrapy.Request | None:
        """A listing page, once per run. Not filtered by Scrapy's duplicate filter, so that a resumed
        crawl walks its listings again and finds what an interrupted request would have found."""
        if url in self.visited_listings:
            return None
        self.visited_listings.add(url)
        try:
            return scrapy.Request(
                url,
                callback=callback,
                cb_kwargs=cb_kwargs,
                dont_filter=True,
                errback=self.listing_failed,
            )
        except ValueError:
            self.unusable_link("malformed", url)
            return None

    def detail_request(
        self,
        url: str,
        native_id: str,
        fingerprint: str,
        callback: Any,
        card: dict[str, Any] | None = None,
        **cb_kwargs: Any,
    ) -> scrapy.Request | None:
        """An ad page; the incremental middleware may skip it when the ad is stored and unchanged.
        ``card`` (what the listing said) becomes a partial ad if the page cannot be had. ``None``
        for a link no request can be made of (counted as unusable)."""
        meta: dict[str, Any] = {"patroli_ad": {"native_id": native_id, "fingerprint": fingerprint}}
        if card is not None and (card.get("title") or card.get("text")):
            meta["patroli_card"] = card  # only a card that says something can stand in for the ad
        try:
            return scrapy.Request(
                url,
                callback=callback,
                cb_kwargs=cb_kwargs,
                meta=meta,
                dont_filter=True,
                errback=self.detail_failed,
            )
        except ValueError:
            self.unusable_link("malformed", url)
            return None

    def listing_failed(self, failure: Any) -> None:
        url = getattr(getattr(failure, "request", None), "url", "?")
        self.listing_failures.append(url)
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            # Refused on purpose (out of the source's scope, over its budget): counted there.
            logger.warning(
                "%s: listing page not fetched: %s", self.source.name, failure.getErrorMessage()
            )
            return
        self.stat("listing_failed")
        self.refusal_in_failure(failure)
        logger.error(
            "%s: listing page failed: %s (%s)", self.source.name, url, failure.getErrorMessage()
        )

    def detail_failed(self, failure: Any) -> Iterable[JobAd]:
        """An ad page that could not be had: counted; what its listing card said is kept as a
        *partial* ad (``extra.partial``), completed by a later crawl that gets the page."""
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            return []  # skipped on purpose (unchanged, or already requested); HttpError is a subclass
        request = getattr(failure, "request", None)
        url = getattr(request, "url", "?")
        self.stat("detail_failed")
        self.refusal_in_failure(failure)
        logger.warning(
            "%s: ad page failed: %s (%s)", self.source.name, url, failure.getErrorMessage()
        )
        card = (request.meta.get("patroli_card") if request is not None else None) or None
        if card is None:
            return []
        self.stat("partial_ads")
        return [self.card_ad(card, partial=True)]

    def refused_page(self, response: Response) -> list[JobAd] | None:
        """``None`` when the page may hold content; else the refusal is counted and the listing
        card's partial ad (if the page was an ad page announced by a card) is what is left."""
        if not self.refused(response):
            return None
        card = response.meta.get("patroli_card")
        if not card:
            return []
        self.stat("partial_ads")
        return [self.card_ad(card, partial=True)]

    def card_facts(self, card: Any, url: str, native_id: str) -> dict[str, Any]:
        """What a listing card says about an ad (``listing_title``, ``listing_price``,
        ``listing_location``, ``listing_date``, ``listing_author``, ``listing_text`` selectors)."""
        sel = self.source.selectors

        def value(name: str) -> str:
            return value_of(select(card, sel[name])) if sel.get(name) else ""

        return {
            "url": url,
            "native_id": native_id,
            "title": value("listing_title"),
            "price": value("listing_price"),
            "location": value("listing_location"),
            "posted": value("listing_date"),
            "author": value("listing_author"),
            "text": value("listing_text"),
            "html": card.get(),
        }

    def card_ad(self, card: dict[str, Any], partial: bool) -> JobAd:
        """An ad from what its listing card said; ``partial`` when the ad page is still missing
        (then no fingerprint is kept, so that the next crawl asks for the page again)."""
        posted = card.get("posted") or ""
        return self.make_ad(
            native_id=card["native_id"],
            url=card["url"],
            title=card.get("title", ""),
            text=card.get("text") or card.get("title", ""),
            posted_at=parse_iso_date(posted) if posted else None,
            author=card.get("author", ""),
            location=card.get("location", ""),
            salary_text=card.get("price", ""),
            html=self.snapshot(card.get("html", "")),
            extra={"posted_text": posted, "partial": partial, "from_listing_card": True},
        )

    def complete_from_card(self, ad: JobAd, response: Response) -> JobAd:
        """Fill what the ad page left empty from its listing card (price, place, date, author)."""
        card = response.meta.get("patroli_card") or {}
        if not card:
            return ad
        ad.title = ad.title or card.get("title", "")
        ad.salary_text = ad.salary_text or card.get("price", "")
        ad.location = ad.location or card.get("location", "")
        ad.author = ad.author or card.get("author", "")
        if ad.posted_at is None and card.get("posted"):
            ad.posted_at = parse_iso_date(card["posted"])
            ad.extra.setdefault("posted_text", card["posted"])
        ad.extra["partial"] = False
        return ad

    def page_facts(self, response: Response) -> dict[str, Any]:
        """What a detail request announced (native id, fingerprint) plus the page's ETag: kept in the
        ad's ``extra`` so that the next crawl can skip the page if nothing changed."""
        ad_meta = response.meta.get("patroli_ad") or {}
        etag = response.headers.get("ETag")
        return {
            "native_id": ad_meta.get("native_id"),
            "fingerprint": ad_meta.get("fingerprint"),
            "etag": etag.decode("latin-1") if etag else None,
        }

    def ad_from_selectors(self, response: Response, expected: str, **extra: Any) -> JobAd | None:
        """An ad page read with the registry's selectors; ``None`` (a layout change) without title and text."""
        sel = self.source.selectors

        def text(name: str) -> str:
            return value_of(select(response, sel[name])) if sel.get(name) else ""

        title, body = (
            text("title"),
            (select(response, sel["text"]).get() if sel.get("text") else None),
        )
        if not title and not body:
            self.layout_changed(response, expected)
            return None
        facts = self.page_facts(response)
        # The page's schema.org Article (JSON-LD, Yoast's @graph) or article:* meta tags say what
        # the markup selectors did not.
        article = article_facts(page_selector(response))
        posted = text("posted")
        posted_at = parse_site_date(posted) if posted else None
        if posted_at is None and article.get("published"):
            posted = article["published"]
            posted_at = parse_iso_date(posted)
        gallery = select(response, sel["images"]).getall() if sel.get("images") else []
        ad = self.make_ad(
            native_id=facts.pop("native_id")
            or self.native_id_from_url(response.url, sel.get("native_id")),
            url=response.url,
            title=title or article.get("title", ""),
            text=body or "",
            posted_at=posted_at,
            author=text("author") or article.get("author", ""),
            location=text("location"),
            salary_text=text("price"),
            html=self.snapshot(response.text),
            image_urls=image_urls(response, [*gallery, *og_images(response)]),
            extra={"posted_text": posted, **facts, **extra},
        )
        return self.complete_from_card(ad, response)

    @staticmethod
    def native_id_from_url(url: str, pattern: str | None) -> str:
        if pattern and (match := re.search(pattern, url)):
            return match.group(1) if match.groups() else match.group(0)
        return url
