"""RSS, Atom and JSON Feed: news sites, blogs, and bridges of Facebook groups, Instagram or TikTok
accounts and Telegram channels (RSS-Bridge).

Each entry is one ad or post; its content is the text; the raw ``<item>``/``<entry>`` (or JSON
item) is kept as evidence. Atom ``rel="next"`` links are followed. As checked on real feeds
(tests/fixtures/real/feeds, rssbridge):

- item links are resolved against the feed's URL; an item without a link (microblog items,
  RSS-Bridge's MRSS) gets the feed URL with its id as fragment, never a bare feed URL nor a
  ``urn:`` id, so that no two items share one URL;
- an item without an author takes the feed's ``<author>`` — except RSS-Bridge's, which is always
  "RSS-Bridge", the program, not the poster;
- two items sharing a ``guid`` but not a link stay two ads (id = guid + link);
- RSS-Bridge reports its errors as feed *items* by default (``[error] output = "feed"``): those
  are counted as ``rssbridge_error``, never stored as ads; its HTML error pages and 429 answers
  are refusals too (``crawler/walls.py``).

A feed has no use for a DTD, and one that declares entities is an attack: feedparser's expat parser
expands nested internal entities (billion laughs) up to its amplification limit — seconds of the
crawl's one thread and hundreds of MiB for one page. The DTD is cut off before feedparser reads the
feed (``strip_doctype``, counted under ``patroli/xml/doctype_removed``); its entity references are then
left as text.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import feedparser
import scrapy
from scrapy.http import Response

from crawler.items import JobAd
from crawler.spiders.base import PatrolSpider, image_urls
from crawler.walls import RSSBRIDGE_ERROR, Refusal, is_rssbridge_error_item
from patroli.text.dates import parse_feed_date

RSSBRIDGE_AUTHOR = "RSS-Bridge"


def json_feed(body: bytes) -> feedparser.FeedParserDict | None:
    """A JSON Feed (jsonfeed.org, RSS-Bridge's ``format=Json``) in feedparser's shape; ``None``
    when the body is not one (feedparser 6.0 reads only XML feeds)."""
    if body.lstrip()[:1] != b"{":
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or "jsonfeed.org" not in str(data.get("version", "")):
        return None

    def author(node: Any) -> str:
        authors = node.get("authors") or ([node["author"]] if node.get("author") else [])
        return ", ".join(
            str(a.get("name", "")) for a in authors if isinstance(a, dict) and a.get("name")
        )

    entries = []
    for item in data.get("items") or []:
        if not isinstance(item, dict):
            continue
        content = item.get("content_html") or item.get("content_text") or ""
        entries.append(
            feedparser.FeedParserDict(
                id=str(item.get("id") or ""),
                link=str(item.get("url") or item.get("external_url") or ""),
                title=str(item.get("title") or ""),
                content=[{"value": str(content)}] if content else [],
                summary=str(item.get("summary") or ""),
                author=author(item),
                published=item.get("date_published") or "",
                updated=item.get("date_modified") or "",
                tags=[{"term": t} for t in item.get("tags") or [] if isinstance(t, str)],
            )
        )
    feed = feedparser.FeedParserDict(author=author(data), links=[])
    if data.get("next_url"):
        feed["links"] = [{"rel": "next", "href": str(data["next_url"])}]
    return feedparser.FeedParserDict(entries=entries, feed=feed, version="json", bozo=False)


def entry_images(entry: Any) -> list[str]:
    """Image URLs of a feed entry: ``media:content`` and ``media:thumbnail`` (Media RSS), and
    enclosures whose type is an image."""
    urls = []
    for media in entry.get("media_content", []) or []:
        kind = f"{media.get('medium', '')} {media.get('type', '')}"
        if "image" in kind or not kind.strip():
            urls.append(media.get("url"))
    urls += [thumb.get("url") for thumb in entry.get("media_thumbnail", []) or []]
    urls += [
        link.get("href")
        for link in entry.get("enclosures", []) or []
        if str(link.get("type", "")).startswith("image/")
    ]
    return [u for u in urls if isinstance(u, str)]


class FeedSpider(PatrolSpider):
    name = "feed"
    kind = "feed"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.source.start_urls:
            if request := self.listing_request(url, self.parse_feed, page=1):
                yield request

    def listing_complete(self) -> bool:
        return False  # a feed shows its latest items only

    def raw_entries(self, response: Response) -> list[str]:
        """The entries' source text, for evidence: XML elements, or JSON Feed items."""
        body = response.body.lstrip()
        if body[:1] in (b"{", b"["):
            try:
                items = json.loads(response.text).get("items", [])
            except (ValueError, AttributeError):
                return []
            return [json.dumps(item, ensure_ascii=False) for item in items]
        try:
            return response.xpath("//*[local-name()='item' or local-name()='entry']").getall()
        except (ValueError, AttributeError):  # not XML at all
            return []

    def parse_feed(self, response: Response, page: int = 1) -> Iterator[JobAd | scrapy.Request]:
        if self.refused(response):
            return
        body = self.without_doctype(response.body)
        parsed = json_feed(response.body) or feedparser.parse(
            body,
            response_headers={
                "content-type": (response.headers.get("Content-Type") or b"").decode("latin-1")
            },
        )
        raw_entries = self.raw_entries(response)
        if not parsed.entries:
            if parsed.bozo or parsed.get("version", "") == "":
                self.layout_changed(response, "RSS/Atom/JSON Feed entries (not a readable feed)")
            return
        feed_author = str(parsed.feed.get("author") or "")
        if feed_author.strip() == RSSBRIDGE_AUTHOR:
            feed_author = ""
        seen: dict[str, str] = {}
        for index, entry in enumerate(parsed.entries):
            content = entry.get("content", [{}])[0].get("value") if entry.get("content") else None
            text = content or entry.get("summary") or entry.get("description") or ""
            title = str(entry.get("title", ""))
            if is_rssbridge_error_item(title, text):
                self.record_refusal(Refusal(RSSBRIDGE_ERROR, f"error item {title!r}"), response.url)
                continue
            written = str(entry.get("link") or "")
            # Resolved against the feed; a link no browser should open (javascript:, malformed) is
            # no link at all.
            usable = self.ad_url(response, written) if not written.startswith("urn:") else ""
            link = usable if written and usable != response.url else ""
            native = str(entry.get("id") or link)
            images = entry_images(entry)
            if not text.strip():
                text = title  # a title-only item (microblog, empty body) is still a post
            if not native or not (text.strip() or images):
                self.stat("feed/entries_without_text")
                continue
            if native in seen and seen[native] != link:
                native = f"{native} {link}"  # a guid shared by different items
            seen[native] = link
            raw = raw_entries[index] if index < len(raw_entries) else ""
            author = str(entry.get("author") or "")
            if author.strip() == RSSBRIDGE_AUTHOR:
                author = ""
            yield self.make_ad(
                native_id=native,
                url=link or f"{response.url}#{quote(native, safe='')}",
                title=title,
                text=text,
                posted_at=parse_feed_date(entry.get("published") or entry.get("updated")),
                author=author or feed_author,
                html=self.snapshot(raw),
                image_urls=image_urls(response, images),
                extra=self.entry_extra(entry, response, has_link=bool(link)),
            )
        next_links = [
            link.get("href") for link in parsed.feed.get("links", []) if link.get("rel") == "next"
        ]
        more = bool(next_links and next_links[0])
        if more and (not self.source.max_pages or page < self.source.max_pages):
            next_url = self.link(response, next_links[0])
            request = (
                self.listing_request(next_url, self.parse_feed, page=page + 1) if next_url else None
            )
            if request is not None:
                yield request

    @staticmethod
    def entry_extra(entry: Any, response: Response, has_link: bool) -> dict[str, Any]:
        extra: dict[str, Any] = {"feed_url": response.url}
        if not has_link:
            extra["no_link"] = True
        tags = [t.get("term") for t in entry.get("tags", []) if t.get("term")]
        if tags:
            extra["tags"] = tags
        return extra
