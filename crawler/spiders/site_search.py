"""Any site with a search box: fill its search URL templates with the patrol keywords, read results.

``search_urls`` hold ``{query}`` (a WordPress site: ``https://example.test/?s={query}``); results are
found with the ``listing_item``/``listing_link`` selectors and followed over ``next_page``; each result
page is read as schema.org JobPosting when it has it, else with the ``title``/``text`` selectors.
"""

from __future__ import annotations

from collections.abc import Iterator

from scrapy.http import Response

from crawler.items import JobAd
from crawler.spiders.classifieds import ClassifiedsSpider
from crawler.spiders.jobposting import JobPostingMixin


class SiteSearchSpider(JobPostingMixin, ClassifiedsSpider):
    name = "site_search"
    kind = "site_search"

    def start_urls_for_run(self) -> list[str]:
        return self.search_start_urls()

    def listing_complete(self) -> bool:
        return False  # search results are a sample of the site, never its whole listing

    def parse_ad(self, response: Response, listing_url: str = "") -> Iterator[JobAd]:
        for ad in self.parse_ad_page(response):
            ad.extra["listing_url"] = listing_url
            yield ad
