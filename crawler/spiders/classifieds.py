"""Classifieds sites: listing pages -> ad detail pages, with selectors from the source registry.

The listing gives the link (and often price, place and date); the detail page gives the full
description with the contacts. Pagination follows the ``next_page`` selector to the end, or to
``max_pages``. Keyword search uses ``search_urls`` templates with ``{query}`` (the patrol keyword
list, ``crawler/keywords.yaml``, unless the source lists its own ``keywords``).

Each detail request carries a fingerprint of its listing card (title, price, place, link — not the
relative date, which changes daily), so an unchanged stored ad is not downloaded again, and what the
card says (``listing_title``, ``listing_price``, ``listing_location``, ``listing_date``): when the
ad page cannot be had, that is stored as a *partial* ad, completed by a later crawl.

Platforms that page through a JSON search API instead of ``rel=next`` links (OLX: a "load more"
button over ``/api/relevance/v4/search``) are read through the source's ``api`` map
(``crawler/structured.py``): ``url``/``search_url`` templates with ``{page}`` (and ``{query}``),
``items``, ``fields``, and ``next`` (a next-page URL in the answer) or page numbers until an empty
page or ``max_pages``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote_plus

import scrapy
from scrapy.http import Response

from crawler.incremental import fingerprint
from crawler.items import JobAd
from crawler.spiders.base import PatrolSpider, select, text_of, value_of
from crawler.structured import first_value, map_records
from patroli.text.dates import parse_iso_date


class ClassifiedsSpider(PatrolSpider):
    name = "classifieds"
    kind = "classifieds"

    def __init__(self, *args: Any, keywords: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.search_keywords = list(self.source.keywords or keywords or [])

    def search_start_urls(self) -> list[str]:
        return [
            template.replace("{query}", quote_plus(keyword))
            for template in self.source.search_urls
            for keyword in self.search_keywords
        ]

    def start_urls_for_run(self) -> list[str]:
        return list(self.source.start_urls) + self.search_start_urls()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls_for_run():
            if request := self.listing_request(url, self.parse_listing, page=1):
                yield request
        for url in self.api_start_urls():
            if request := self.listing_request(url, self.parse_api, page=1):
                yield request

    # --- JSON search API -------------------------------------------------------------------

    def api_url(self, template: str, page: int, query: str = "") -> str:
        first = int(self.source.api.get("first_page", 1))
        return template.replace("{page}", str(first + page - 1)).replace(
            "{query}", quote_plus(query)
        )

    def api_start_urls(self) -> list[str]:
        api = self.source.api
        if not api:
            return []
        urls = [self.api_url(api["url"], 1)] if api.get("url") else []
        if api.get("search_url"):
            urls += [self.api_url(api["search_url"], 1, k) for k in self.search_keywords]
        return urls

    def parse_api(
        self, response: Response, page: int, template: str = ""
    ) -> Iterator[JobAd | scrapy.Request]:
        """One page of the platform's JSON search API: each record is an ad (its ``url`` field is
        the ad page, requested for the full text when ``api.detail`` is true), then the next page."""
        if self.refused(response):
            return
        try:
            data = json.loads(response.text)
        except ValueError:
            self.layout_changed(response, "a JSON search API answer")
            return
        api = self.source.api
        records = map_records(data, api)
        if not records:
            if first_value(data, str(api.get("items", ""))) is None:
                self.layout_changed(response, f"API records at {api.get('items')!r}")
            return
        for record in records:
            yield from self.api_ad(record, response)
        next_url = str(first_value(data, api["next"]) or "") if api.get("next") else ""
        if not next_url:
            template = template or self._template_of(response.url, page)
            next_url = (
                self.api_url(template, page + 1, self._query_of(response.url)) if template else ""
            )
        if next_url and next_url != response.url:
            if self.source.max_pages and page >= self.source.max_pages:
                self.truncated = True
            elif request := self.listing_request(
                response.urljoin(next_url), self.parse_api, page=page + 1, template=template
            ):
                yield request

    def _template_of(self, url: str, page: int) -> str:
        api = self.source.api
        for template in (api.get("url"), api.get("search_url")):
            if not template:
                continue
            for keyword in ["", *self.search_keywords]:
                if self.api_url(template, page, keyword) == url:
                    return str(template)
        return ""

    def _query_of(self, url: str) -> str:
        for keyword in self.search_keywords:
            if quote_plus(keyword) in url:
                return keyword
        return ""

    def api_ad(
        self, record: dict[str, str], response: Response
    ) -> Iterator[JobAd | scrapy.Request]:
        url = response.urljoin(record.get("url") or "") if record.get("url") else ""
        native = record.get("native_id") or url
        if not native:
            self.stat("classifieds/api_records_without_id")
            return
        url = url or response.url
        card = {
            "url": url,
            "native_id": native,
            "title": record.get("title", ""),
            "price": record.get("price", ""),
            "location": record.get("location", ""),
            "posted": record.get("posted", ""),
            "author": record.get("author", ""),
            "text": record.get("text", ""),
            "html": record.get("_record", ""),
        }
        if self.source.api.get("detail") and record.get("url"):
            card_print = fingerprint(
                url, card["title"], card["price"], card["location"], card["text"]
            )
            if request := self.detail_request(
                url, native, card_print, self.parse_ad, card=card, listing_url=response.url
            ):
                yield request
            return
        posted = card["posted"]
        ad = self.card_ad(card, partial=False)
        ad.posted_at = parse_iso_date(posted)
        ad.extra.update(from_listing_card=False, from_api=True, listing_url=response.url)
        yield ad

    def listing_complete(self) -> bool:
        # Keyword searches show subsets that change with the keyword list: only a full category walk
        # tells that an ad has gone.
        return (
            bool(self.source.start_urls)
            and not self.search_keywords
            and not self.truncated
            and not self.listing_failures
            and not self.degraded_urls
        )

    def parse_listing(self, response: Response, page: int) -> Iterator[scrapy.Request]:
        if self.refused(response):
            return
        sel = self.source.selectors
        cards = select(response, sel["listing_item"])
        if not cards:
            if not (sel.get("empty") and select(response, sel["empty"])):
                self.layout_changed(response, f"listing items ({sel['listing_item']})")
            return
        for card in cards:
            href = select(card, sel.get("listing_link", "a::attr(href)")).get()
            if not href:
                self.stat("classifieds/cards_without_link")
                continue
            url = self.link(response, href)
            if url is None:
                continue
            native_id = self.native_id_from_url(url, sel.get("native_id"))
            card_print = fingerprint(url, text_of([card]).replace(self._date_of(card), ""))
            if request := self.detail_request(
                url,
                native_id,
                card_print,
                self.parse_ad,
                card=self.card_facts(card, url, native_id),
                listing_url=response.url,
            ):
                yield request
        next_page = select(response, sel["next_page"]).get() if sel.get("next_page") else None
        if next_page and (next_url := self.link(response, next_page)):
            if self.source.max_pages and page >= self.source.max_pages:
                self.truncated = True
            elif request := self.listing_request(next_url, self.parse_listing, page=page + 1):
                yield request

    def _date_of(self, card: Any) -> str:
        """The card's relative date text, left out of its fingerprint (it changes every day)."""
        posted = self.source.selectors.get("listing_date")
        return value_of(select(card, posted)) if posted else ""

    def parse_ad(self, response: Response, listing_url: str = "") -> Iterator[JobAd]:
        self.stat("detail_pages")
        if (partial := self.refused_page(response)) is not None:
            yield from partial
            return
        if ad := self.ad_from_selectors(
            response, "ad title or description", listing_url=listing_url
        ):
            yield ad
        elif card := response.meta.get("patroli_card"):
            self.stat("partial_ads")  # the page changed, the listing card still says it exists
            yield self.card_ad(card, partial=True)
