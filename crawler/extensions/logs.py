"""StructuredLogs: a crawl's log lines are redacted, and with ``PATROLI_LOG_FORMAT=json`` they are
JSON objects naming the run and the source (``patroli.logs``).

However the crawl was started (``patroli crawl``, ``scrapy crawl``, Scrapyd). In JSON mode
``crawler/settings.py`` switches Scrapy's own text handler off (``LOG_ENABLED``) and this extension
installs the JSON one, at the crawl's ``LOG_LEVEL``; the few lines Scrapy writes before extensions
load are not logged then.

Settings: ``PATROLI_LOG_FORMAT``. Runs after ``CrawlRunRecorder`` (which names the run).
"""

from __future__ import annotations

import logging
from typing import Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler

from crawler.runs import RUN_ID
from patroli import logs


class StructuredLogs:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.spider: Spider | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        logs.install_redaction()
        if logs.json_enabled():
            root = logging.getLogger()
            if not any(getattr(h, "_patroli_component", "") == "crawl" for h in root.handlers):
                root.addHandler(
                    logs.make_handler("crawl", "json", level=crawler.settings.get("LOG_LEVEL"))
                )
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        source = getattr(getattr(spider, "source", None), "name", None) or spider.name
        run_id = self.crawler.stats.get_value(RUN_ID) if self.crawler.stats else None
        self.spider = spider
        logs.bind(spider, source=str(source), run_id=str(run_id or ""))

    def engine_stopped(self) -> None:
        if self.spider is not None:
            logs.unbind(self.spider)
