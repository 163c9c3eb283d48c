"""Classifieds sites: listing pages -> ad detail pages, with selectors from the source registry.

The listing gives the link (and often price, place and date); the detail page gives the full
description with the contacts. Pagination follows the ``next_page`` selector to the end, or to
``max_pages``. Keyword search uses ``search_urls`` templates with ``{query}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import scrapy
from scrapy.http import Response

from crawler.dates import parse_site_date
from crawler.items import JobAd
from crawler.spiders.base import PatrolSpider, select, text_of


class ClassifiedsSpider(PatrolSpider):
    name = "classifieds"
    kind = "classifieds"

    def __init__(self, *args: Any, keywords: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.search_keywords = list(keywords or self.source.keywords)

    def start_urls_for_run(self) -> list[str]:
        urls = list(self.source.start_urls)
        for template in self.source.search_urls:
            urls += [
                template.replace("{query}", quote(k.replace(" ", "-")))
                for k in self.search_keywords
            ]
        return urls

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls_for_run():
            yield scrapy.Request(url, callback=self.parse_listing, cb_kwargs={"page": 1})

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
            yield response.follow(
                href, callback=self.parse_ad, cb_kwargs={"listing_url": response.url}
            )
        next_page = select(response, sel["next_page"]).get() if sel.get("next_page") else None
        if next_page and (not self.source.max_pages or page < self.source.max_pages):
            yield response.follow(
                next_page, callback=self.parse_listing, cb_kwargs={"page": page + 1}
            )

    def parse_ad(self, response: Response, listing_url: str = "") -> Iterator[JobAd]:
        sel = self.source.selectors
        title = text_of(select(response, sel["title"])) if sel.get("title") else ""
        body = select(response, sel["text"]).get() if sel.get("text") else None
        if not title and not body:
            self.layout_changed(response, "ad title or description")
            return
        posted_text = text_of(select(response, sel["posted"])) if sel.get("posted") else ""
        yield self.make_ad(
            native_id=self.native_id_from_url(response.url, sel.get("native_id")),
            url=response.url,
            title=title,
            text=body or "",
            posted_at=parse_site_date(posted_text) if posted_text else None,
            author=text_of(select(response, sel["author"])) if sel.get("author") else "",
            location=text_of(select(response, sel["location"])) if sel.get("location") else "",
            salary_text=text_of(select(response, sel["price"])) if sel.get("price") else "",
            html=self.snapshot(response.text),
            extra={"posted_text": posted_text, "listing_url": listing_url},
        )
