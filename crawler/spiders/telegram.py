"""Public Telegram channel previews (``https://t.me/s/<channel>``), paged back with ``?before=``.

Markup (see patroli/demosites/FIXTURES.md): each post is ``div.tgme_widget_message[data-post="chan/id"]``;
the text is ``div.tgme_widget_message_text`` directly in the bubble (a reply quote holds another
one); the date is ``a.tgme_widget_message_date time[datetime]``; older posts come from
``a.tme_messages_more[data-before]``. A channel without a public preview redirects to
``t.me/<channel>`` (no ``/s/``): that is reported, not treated as an error.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.items import JobAd
from crawler.spiders.base import PatrolSpider, logger
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


class TelegramChannelSpider(PatrolSpider):
    name = "telegram_channel"
    kind = "telegram_channel"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for channel in self.source.channels:
            url = f"{self.source.base_url}/s/{channel}"
            if request := self.listing_request(url, self.parse_channel, channel=channel, page=1):
                yield request

    def oldest_wanted(self) -> datetime | None:
        if not self.source.max_age_days:
            return None
        return datetime.now(UTC) - timedelta(days=self.source.max_age_days)

    def parse_channel(
        self, response: Response, channel: str, page: int
    ) -> Iterator[JobAd | scrapy.Request]:
        if "/s/" not in response.url:
            self.stat("telegram/no_public_preview")
            logger.warning("%s: channel %s has no public preview (redirected to %s); skipped",
                           self.source.name, channel, response.url)  # fmt: skip
            return
        posts = response.css("div.tgme_widget_message[data-post]")
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
        if (
            more
            and not reached_limit
            and (not self.source.max_pages or page < self.source.max_pages)
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
            "./div[contains(concat(' ', normalize-space(@class), ' '), ' tgme_widget_message_text ')]"
        ).get()
        if text_html is None:
            text_html = post.css("div.tgme_widget_message_text").get()
        if not text_html:
            self.stat("telegram/posts_without_text")
            return None  # photo-only or service message: nothing to classify
        links = [_absolute(response, h) for h in post.css("div.tgme_widget_message_text a::attr(href)").getall()
                 if not h.startswith("?")]  # fmt: skip
        photos = _BACKGROUND_URL_RE.findall(
            " ".join(post.css("a.tgme_widget_message_photo_wrap::attr(style)").getall())
        )
        forwarded = " ".join(
            post.css(".tgme_widget_message_forwarded_from_name ::text").getall()
        ).strip()
        views = parse_views(post.css(".tgme_widget_message_views::text").get())
        author = (
            " ".join(post.css(".tgme_widget_message_owner_name ::text").getall()).strip()
            or post_channel
        )
        return self.make_ad(
            native_id=f"{post_channel or channel}/{post_id}",
            url=f"{self.source.base_url}/{post_channel or channel}/{post_id}",
            text=text_html,
            posted_at=parse_iso_date(
                post.css("a.tgme_widget_message_date time::attr(datetime)").get()
            ),
            author=author,
            html=self.snapshot(post.get()),
            extra={
                "channel": post_channel or channel,
                "views": views,
                "forwarded_from": forwarded,
                "links": links,
                "photos": photos,
            },
        )

    def parse(self, response: Response, **kwargs: Any) -> Iterator[JobAd | scrapy.Request]:
        channel = response.url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
        yield from self.parse_channel(response, channel, 1)
