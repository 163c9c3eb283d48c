"""Pipelines and middlewares built the way Scrapy builds them: ``from_crawler`` on a test crawler
(``scrapy.utils.test.get_crawler``) that carries the project's own ``PATROLI_*`` and ``RETRY_*``
settings, so a unit test sees the defaults a real crawl sees."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, TypeVar

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from crawler import settings as project
from crawler.items import JobAd
from patroli import config

T = TypeVar("T")


class SourceSpider(Spider):
    """A spider of one registry source, as the components see it: a name, a source and whether it
    covered the whole listing (what the incremental middleware asks before marking ads gone)."""

    name = "unit"

    def __init__(self, source: str = "demo_unit", complete: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = SimpleNamespace(name=source)
        self.complete = complete

    def listing_complete(self) -> bool:
        return self.complete


def project_settings() -> dict[str, Any]:
    """The project's settings that components read (not the reactor or logging ones), patroli's
    read from the environment now: the module ``crawler.settings`` froze them when first imported,
    before the session's fixtures pointed the run directories at temporary ones."""
    retry = {name: getattr(project, name) for name in dir(project) if name.startswith("RETRY_")}
    return {**retry, **config.scrapy_settings()}


def crawler_with(**settings: Any) -> Crawler:
    """A crawler with the project's settings, ``settings`` on top, and its spider attached."""
    built = get_crawler(SourceSpider, {**project_settings(), **settings})
    built.spider = SourceSpider.from_crawler(built)
    return built


def build(component: type[T], crawler: Crawler) -> T:
    """``component`` as Scrapy builds it (its ``from_crawler``)."""
    return build_from_crawler(component, crawler)


def stats(crawler: Crawler) -> dict[str, Any]:
    assert crawler.stats is not None
    return dict(crawler.stats.get_stats())


def job_ad(native_id: str = "1", **fields: Any) -> JobAd:
    """An ad as a spider yields it (fictional contacts)."""
    values: dict[str, Any] = {
        "source": "demo_unit",
        "native_id": native_id,
        "url": f"http://demo.test/ad/{native_id}",
        "text": "Dicari admin CS di Phnom Penh, gaji 1.500 USD. WA 0812-5551-2345",
        "title": "Loker admin Kamboja",
        **fields,
    }
    return JobAd(**values)
