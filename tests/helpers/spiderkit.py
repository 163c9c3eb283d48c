"""Helpers for spider tests: pages rendered by the demo sites in-process, spiders with a crawler."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from scrapy import Request
from scrapy.http import HtmlResponse, Response, XmlResponse
from scrapy.utils.test import get_crawler

from crawler.items import JobAd
from crawler.sources import SourceConfig, load_registry
from crawler.spiders import SPIDER_BY_KIND, PatrolSpider
from patroli.demosites.data import load_demo_data
from patroli.demosites.server import DemoSites

BASE = "http://demo.test"
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
_SITES: DemoSites | None = None


def sites() -> DemoSites:
    global _SITES
    if _SITES is None:
        _SITES = DemoSites(load_demo_data(now=NOW))
    return _SITES


def page(path: str, *, mode: str = "ok", site: str = "") -> Response:
    """The response the demo sites give for ``path`` (faults as asked), as Scrapy would see it."""
    demo = DemoSites(sites().data) if mode != "ok" else sites()
    if mode != "ok":
        demo.set_fault(site, mode)
    rendered = demo.handle("GET", path)
    url = BASE + path
    cls = XmlResponse if "xml" in rendered.content_type else HtmlResponse
    return cls(
        url=url,
        body=rendered.body.encode("utf-8"),
        encoding="utf-8",
        status=rendered.status,
        request=Request(url),
    )


def demo_source(name: str) -> SourceConfig:
    os.environ["PATROLI_DEMO_URL"] = BASE
    try:
        return load_registry().get(name)
    finally:
        del os.environ["PATROLI_DEMO_URL"]


def spider_for(name: str, **kwargs: Any) -> PatrolSpider:
    source = demo_source(name)
    cls = SPIDER_BY_KIND[source.kind]
    crawler = get_crawler(cls, {"PATROLI_SNAPSHOT_MAX_BYTES": 256 * 1024})
    return cls.from_crawler(crawler, source=source, **kwargs)


def split(output: Any) -> tuple[list[JobAd], list[Request]]:
    items = list(output)
    return [i for i in items if isinstance(i, JobAd)], [i for i in items if isinstance(i, Request)]


def stat(spider: PatrolSpider, key: str) -> Any:
    assert spider.crawler.stats is not None
    return spider.crawler.stats.get_value(key)
