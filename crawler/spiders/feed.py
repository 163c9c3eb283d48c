"""RSS and Atom feeds: news sites, blogs, and bridges of Facebook groups or X accounts (RSS-Bridge).

Each entry is one ad or post; its content is the text. The raw ``<item>``/``<entry>`` XML is kept
as evidence. Atom ``rel="next"`` links are followed.

A feed has no use for a DTD, and one that declares entities is an attack: feedparser's expat parser
expands nested internal entities (billion laughs) up to its amplification limit — seconds of the
crawl's one thread and hundreds of MiB for one page. The DTD is cut off before feedparser reads the
feed (``strip_doctype``, counted under ``patroli/xml/doctype_removed``); its entity references are then
left as text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import feedparser
import scrapy
from scrapy.http import Response

from crawler.items import JobAd
from crawler.spiders.base import PatrolSpider
from patroli.text.dates import parse_feed_date


class FeedSpider(PatrolSpider):
    name = "feed"
    kind = "feed"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.source.start_urls:
            yield scrapy.Request(url, callback=self.parse_feed, cb_kwargs={"page": 1})

    def parse_feed(self, response: Response, page: int = 1) -> Iterator[JobAd | scrapy.Request]:
        body = self.without_doctype(response.body)
        parsed = feedparser.parse(
            body,
            response_headers={
                "content-type": (response.headers.get("Content-Type") or b"").decode("latin-1")
            },
        )
        raw_entries = response.xpath("//*[local-name()='item' or local-name()='entry']")
        if not parsed.entries:
            if parsed.bozo or parsed.get("version", "") == "":
                self.layout_changed(response, "RSS/Atom entries (not a readable feed)")
            return
        for index, entry in enumerate(parsed.entries):
            content = entry.get("content", [{}])[0].get("value") if entry.get("content") else None
            text = content or entry.get("summary") or entry.get("description") or ""
            link = entry.get("link") or ""
            native = entry.get("id") or link
            if not native or not text.strip():
                self.stat("feed/entries_without_text")
                continue
            raw = raw_entries[index].get() if index < len(raw_entries) else ""
            yield self.make_ad(
                native_id=native,
                url=self.ad_url(response, link),
                title=entry.get("title", ""),
                text=text,
                posted_at=parse_feed_date(entry.get("published") or entry.get("updated")),
                author=entry.get("author", ""),
                html=self.snapshot(raw),
                extra={"feed_url": response.url},
            )
        next_links = [
            link.get("href") for link in parsed.feed.get("links", []) if link.get("rel") == "next"
        ]
        if (
            next_links
            and (not self.source.max_pages or page < self.source.max_pages)
            and (next_url := self.link(response, next_links[0]))
        ):
            yield scrapy.Request(next_url, callback=self.parse_feed, cb_kwargs={"page": page + 1})
