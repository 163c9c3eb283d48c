"""Classifieds sites: listing pages -> ad detail pages, with selectors from the source registry.

The listing gives the link (and often price, place and date); the detail page gives the full
description with the contacts. Pagination follows the ``next_page`` selector to the end, or to
``max_pages``. Keyword search uses ``search_urls`` templates with ``{query}`` (the patrol keyword
list, ``crawler/keywords.yaml``, unless the source lists its own ``keywords``).

Each detail request carries a fingerprint of its listing card (title, price, place, link — not the
relative date, which changes daily), so an unchanged stored ad is not downloaded again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote_plus

import scrapy
from scrapy.http import Response

from crawler.incremental import fingerprint
from crawler.items import JobAd
from crawler.spiders.base import PatrolSpider, select, text_of


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
                url, native_id, card_print, self.parse_ad, listing_url=response.url
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
        return text_of(select(card, posted)) if posted else ""

    def parse_ad(self, response: Response, listing_url: str = "") -> Iterator[JobAd]:
        self.stat("detail_pages")
        if ad := self.ad_from_selectors(
            response, "ad title or description", listing_url=listing_url
        ):
            yield ad
