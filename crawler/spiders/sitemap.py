"""Sitemaps (``sitemap.xml``, sitemap indexes, ``robots.txt`` ``Sitemap:`` lines) -> ad pages.

Recruiters' own sites (WordPress and the like) publish every post in a sitemap with its
``lastmod``; that date is the fingerprint, so unchanged posts are not downloaded again. Pages are
read as schema.org ``JobPosting`` when they carry it, else with the registry's ``title``/``text``
selectors.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import scrapy
from scrapy.http import Response
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawler.incremental import fingerprint
from crawler.items import JobAd
from crawler.spiders.base import PatrolSpider
from crawler.spiders.jobposting import JobPostingMixin


class SitemapSpider(JobPostingMixin, PatrolSpider):
    name = "sitemap"
    kind = "sitemap"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.source.start_urls:
            if request := self.listing_request(url, self.parse_sitemap):
                yield request

    def listing_complete(self) -> bool:
        return not self.listing_failures and not self.degraded_urls

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        if self.refused(response):
            return
        if response.url.endswith("/robots.txt"):
            for listed in sitemap_urls_from_robots(response.text, base_url=response.url):
                url = self.link(response, listed)
                if url and (request := self.listing_request(url, self.parse_sitemap)):
                    yield request
            return
        try:
            sitemap = Sitemap(self.without_doctype(response.body))
        except Exception:  # lxml raises several kinds on a page that is not XML  # noqa: BLE001
            sitemap = None
        if sitemap is None or sitemap.type not in ("urlset", "sitemapindex"):
            self.layout_changed(response, "a sitemap (<urlset> or <sitemapindex>)")
            return
        follow = re.compile(self.source.follow) if self.source.follow else None
        for entry in sitemap:
            loc = entry.get("loc", "")
            if not loc:
                continue
            if sitemap.type == "sitemapindex":
                url = self.link(response, loc)
                if url and (request := self.listing_request(url, self.parse_sitemap)):
                    yield request
            elif (follow is None or follow.search(loc)) and (url := self.link(response, loc)):
                native_id = self.native_id_from_url(url, self.source.selectors.get("native_id"))
                lastmod = entry.get("lastmod")
                if request := self.detail_request(
                    url, native_id, fingerprint(url, lastmod) if lastmod else "", self.parse_page
                ):
                    yield request

    def parse_page(self, response: Response) -> Iterator[JobAd]:
        yield from self.parse_ad_page(response)
