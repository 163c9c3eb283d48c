"""One spider per source kind; the source registry says which sites each one visits."""

from __future__ import annotations

from crawler.spiders.base import PatrolSpider
from crawler.spiders.classifieds import ClassifiedsSpider
from crawler.spiders.feed import FeedSpider
from crawler.spiders.jobposting import JobPostingSpider
from crawler.spiders.site_search import SiteSearchSpider
from crawler.spiders.sitemap import SitemapSpider
from crawler.spiders.telegram import TelegramChannelSpider

SPIDER_BY_KIND: dict[str, type[PatrolSpider]] = {
    spider.kind: spider
    for spider in (
        TelegramChannelSpider,
        ClassifiedsSpider,
        JobPostingSpider,
        FeedSpider,
        SitemapSpider,
        SiteSearchSpider,
    )
}

__all__ = [
    "SPIDER_BY_KIND",
    "ClassifiedsSpider",
    "FeedSpider",
    "JobPostingSpider",
    "PatrolSpider",
    "SiteSearchSpider",
    "SitemapSpider",
    "TelegramChannelSpider",
]
