"""DedupePipeline: gives each ad its stable id and drops repeats within one crawl.

Across crawls the store upserts on the same id, so a nightly re-crawl updates instead of adding;
this step only saves the work of scoring and writing the same ad twice in one run (a post that
shows on two listing pages, say). It remembers the last ``RECENT_IDS`` ads, not every ad of the
crawl: repeats come close together, and a late one costs only an upsert, while a set of every ad
would grow with the crawl (``bench/crawl_memory.py``).
"""

from __future__ import annotations

from typing import Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from crawler.incremental import RECENT_IDS, RecentIds
from crawler.items import JobAd, make_ad_id


class DedupePipeline:
    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats
        self.seen_ids = RecentIds(RECENT_IDS)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None  # noqa: S101 - Scrapy sets it before components
        return cls(crawler.stats)

    def process_item(self, item: JobAd) -> JobAd:
        item.ad_id = make_ad_id(item.source, item.native_id)
        if item.ad_id in self.seen_ids:
            self.stats.inc_value("patroli/dedupe/dropped")
            raise DropItem(
                f"ad {item.ad_id} ({item.source} {item.native_id}) seen twice in this crawl"
            )
        self.seen_ids.add(item.ad_id)
        return item
