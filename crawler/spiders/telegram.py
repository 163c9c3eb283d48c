"""Public Telegram channel previews (``https://t.me/s/<channel>``), paged back with ``?before=``.

Markup (see patroli/demosites/FIXTURES.md): each post is ``div.tgme_widget_message[data-post="chan/id"]``;
the text is ``div.tgme_widget_message_text`` directly in the bubble (a reply quote holds another
one); the date is ``a.tgme_widget_message_date time[datetime]``; older posts come from
``a.tme_messages_more[data-before]``. A channel without a public preview redirects to
``t.me/<channel>`` (no ``/s/``), a landing page (``div.tgme_page``): that is the named status
``no_public_preview``, not an error and not a layout change.

Checked on real saved pages (tests/fixtures/real/telegram): the signature of a post
(``.tgme_widget_message_from_author``) is kept beside the channel as author detail, a poll's question
and options are its text, a forward keeps its origin post's URL, and the permalink of another
channel's post is a link, never a contact. Paging back stops at ``max_age_days``
(``PATROLI_TELEGRAM_MAX_AGE_DAYS``), ``max_pages`` per channel (``PATROLI_TELEGRAM_MAX_PAGES``) or
the first post already stored.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.items import JobAd
from crawler.spiders.base import PatrolSpider, image_urls, logger
from crawler.walls import NO_PUBLIC_PREVIEW, Refusal
from patroli.config.table import PATROLI_TELEGRAM_MAX_AGE_DAYS, PATROLI_TELEGRAM_MAX_PAGES
from patroli.text.dates import parse_iso_date

_BACKGROUND_URL_RE = re.compile(r"background-image:\s*url\(['\"]?([^'\")]+)")
_VIEWS_RE = re.compile(r"^([\d.]+)([KM]?)$")


def _absolute(response: Response, href: str) -> str:
    """A link a post shows (kept, never followed): absolute where it can be, else as written."""
    try:
        return response.urljoin(href)
    except ValueError:
        return href


def parse_views(text: str | None) -> int | None:
    match = _VIEWS_RE.match((text or "").strip())
    if not match:
        return None
    factor = {"": 1, "K": 1_000, "M": 1_000_000}[match.group(2)]
    return int(float(match.group(1)) * factor)


def poll_text(post: Any) -> str:
    """A poll as a reader sees it: the question, then one option per line (HTML, like post text)."""
    question = displayed(post.css(".tgme_widget_message_poll_question ::text").getall())
    if not question:
        return ""
    options = [
        displayed(o.css("::text").getall())
        for o in post.css(".tgme_widget_message_poll_option_text")
    ]
    return "<br/>".join(escape(line) for line in [question, *options] if line)


def displayed(texts: list[str]) -> str:
    """Text nodes as a reader sees them: joined as they stand, runs of whitespace as one space."""
    return " ".join("".join(texts).split())


class TelegramChannelSpider(PatrolSpider):
    name = "telegram_channel"
    kind = "telegram_channel"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for channel in self.source.channels:
            url = f"{self.source.base_url}/s/{channel}"
            if request := self.listing_request(url, self.parse_channel, channel=channel, page=1):
                yield request

    def oldest_wanted(self) -> datetime:
        days = self.source.max_age_days or PATROLI_TELEGRAM_MAX_AGE_DAYS.from_settings(
            self.settings
        )
        return datetime.now(UTC) - timedelta(days=days)

    def max_pages(self) -> int:
        return self.source.max_pages or PATROLI_TELEGRAM_MAX_PAGES.from_settings(self.settings)

    def no_public_preview(self, response: Response, channel: str) -> None:
        self.stat("telegram/no_public_preview")
        self.record_refusal(
            Refusal(NO_PUBLIC_PREVIEW, f"channel {channel} has no public post list"), response.url
        )
        logger.warning(
            "%s: channel %s has no public preview (%s); skipped",
            self.source.name,
            channel,
            response.url,
        )

    def parse_channel(
        self, response: Response, channel: str, page: int
    ) -> Iterator[JobAd | scrapy.Request]:
        if "/s/" not in response.url:
            self.no_public_preview(response, channel)
            return
        if self.refused(response):
            return
        posts = response.css("div.tgme_widget_message[data-post]")
        if not posts and response.css("div.tgme_page"):
            # Telegram's landing page for a name, served at the /s/ address itself.
            self.no_public_preview(response, channel)
            return
        if not posts:
            # A public channel always shows at least its "channel created" service message, so a
            # preview page without posts means the markup changed, unless it says it is empty.
            if not response.css(".tme_no_messages_found"):
                self.layout_changed(response, "Telegram posts (div.tgme_widget_message)")
            return
        oldest_wanted = self.oldest_wanted()
        reached_limit = False
        incremental = getattr(self, "incremental", None)
        for post in posts:
            ad = self.parse_post(post, response, channel)
            if ad is None:
                continue
            if oldest_wanted and ad.posted_at and ad.posted_at < oldest_wanted:
                reached_limit = True
                continue
            if incremental is not None and incremental.known(ad.native_id):
                # Posts are in time order: older pages hold only posts we already have.
                reached_limit = True
                self.stat("telegram/known_posts")
            yield ad
        more = response.css("a.tme_messages_more[data-before]::attr(href)").get()
        if more and not reached_limit and page >= self.max_pages():
            self.truncated = True
            self.stat("telegram/paging_bounded")
        elif (
            more
            and not reached_limit
            and (url := self.link(response, more))
            and (
                request := self.listing_request(
                    url, self.parse_channel, channel=channel, page=page + 1
                )
            )
        ):
            yield request

    def parse_post(self, post: Any, response: Response, channel: str) -> JobAd | None:
        data_post = post.attrib.get("data-post", "")
        post_channel, _, post_id = data_post.rpartition("/")
        if not post_id.isdigit():
            return None
        bubble = post.css("div.tgme_widget_message_bubble")
        text_html = bubble.xpath(
            ".//div[contains(concat(' ', normalize-space(@class), ' '), ' tgme_widget_message_text ')]"
            "[not(ancestor::*[contains(@class, 'tgme_widget_message_reply')])]"
        ).get()
        if text_html is None:
            text_html = post.css("div.tgme_widget_message_text").get()
        poll = poll_text(post)
        if poll:
            self.stat("telegram/polls")
            text_html = f"{text_html}<br/>{poll}" if text_html else poll
        photos = _BACKGROUND_URL_RE.findall(
            " ".join(post.css("a.tgme_widget_message_photo_wrap::attr(style)").getall())
        )
        if not text_html and not photos:
            self.stat("telegram/posts_without_text")
            return None  # a service message: nothing to classify
        if not text_html:
            self.stat("telegram/photo_only_posts")  # a flyer: its text is in the image
        links = [
            _absolute(response, h)
            for h in post.css("div.tgme_widget_message_text a::attr(href)").getall()
            if not h.startswith("?")
        ]
        forwarded = displayed(post.css(".tgme_widget_message_forwarded_from_name ::text").getall())
        forwarded_href = post.css(".tgme_widget_message_forwarded_from_name::attr(href)").get()
        views = parse_views(post.css(".tgme_widget_message_views::text").get())
        owner = displayed(post.css(".tgme_widget_message_owner_name ::text").getall())
        signature = displayed(post.css(".tgme_widget_message_from_author ::text").getall())
        preview = post.css("a.tgme_widget_message_link_preview")
        author = owner or post_channel
        if signature and signature != author:
            author = f"{author} ({signature})"
        return self.make_ad(
            native_id=f"{post_channel or channel}/{post_id}",
            url=f"{self.source.base_url}/{post_channel or channel}/{post_id}",
            text=text_html or "",
            image_urls=image_urls(response, photos),
            posted_at=parse_iso_date(
                post.css("a.tgme_widget_message_date time::attr(datetime)").get()
            ),
            author=author,
            html=self.snapshot(post.get()),
            extra={
                "channel": post_channel or channel,
                "views": views,
                "forwarded_from": forwarded,
                "forwarded_from_url": _absolute(response, forwarded_href) if forwarded_href else "",
                "signature": signature,
                "poll": bool(poll),
                "link_preview": {
                    "url": preview.attrib.get("href", ""),
                    "title": displayed(preview.css(".link_preview_title ::text").getall()),
                    "site": displayed(preview.css(".link_preview_site_name ::text").getall()),
                }
                if preview
                else None,
                "links": links,
                "photos": photos,
            },
        )

    def parse(self, response: Response, **kwargs: Any) -> Iterator[JobAd | scrapy.Request]:
        channel = response.url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
        yield from self.parse_channel(response, channel, 1)
