"""Spiders on real saved pages (tests/fixtures/real, byte-for-byte as found; MANIFEST.tsv says where).

For each saved page a reader's count is made independently with lxml and compared with what the
spider stores; titles, dates, authors, URLs and contacts are checked on a sample of each platform.
Failure pages (RSS-Bridge error items and error pages, a no-preview landing page, a captcha page
served with 200) must end as a named status with no ads. The callbacks run in-process on the saved
bytes (fast); ``test_templates_crawl_saved_pages_end_to_end`` replays them over loopback through the
registry's own ready entries, swapping only their base URL.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree, html
from scrapy import Request
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.utils.test import get_crawler

from crawler.items import JobAd
from crawler.sources import SourceConfig, load_registry
from crawler.spiders import SPIDER_BY_KIND, PatrolSpider
from crawler.walls import refusal_of
from pipelines.extract import entities_for, entity_payload
from pipelines.normalize import clean_text, html_to_text
from tests.helpers.realsite import CORPUS, corpus_problems, read_manifest

FOREVER = 36500  # the saved pages are older than a template's max_age_days: read them all


def template(name: str, **changes: Any) -> SourceConfig:
    return dataclasses.replace(load_registry().get(name), **changes)


def spider_of(source: SourceConfig) -> PatrolSpider:
    cls = SPIDER_BY_KIND[source.kind]
    crawler = get_crawler(cls, {"PATROLI_SNAPSHOT_MAX_BYTES": 256 * 1024})
    return cls.from_crawler(crawler, source=source)


def saved(path: str, url: str, status: int = 200, meta: dict[str, Any] | None = None) -> Response:
    body = (CORPUS / path).read_bytes()
    request = Request(url, meta=meta or {})
    if path.endswith(".json"):
        return TextResponse(url=url, body=body, encoding="utf-8", status=status, request=request)
    cls = XmlResponse if path.endswith(".xml") else HtmlResponse
    return cls(url=url, body=body, encoding="utf-8", status=status, request=request)


def ads_of(output: Any) -> list[JobAd]:
    return [item for item in output if isinstance(item, JobAd)]


def stats(spider: PatrolSpider) -> dict[str, Any]:
    assert spider.crawler.stats is not None
    return spider.crawler.stats.get_stats()


def shown(ad: JobAd) -> str:
    """The ad's text as the normalize pipeline stores it."""
    return clean_text(html_to_text(ad.text), 20_000)


def test_every_kept_page_is_byte_for_byte_what_the_manifest_records() -> None:
    rows = read_manifest()
    assert corpus_problems() == []
    kept = [r for r in rows if r.kept]
    assert len(kept) >= 25
    assert all((CORPUS / r.file).is_file() for r in kept)
    assert not any((CORPUS / r.file).exists() for r in rows if not r.kept)


# --- Telegram ----------------------------------------------------------------------------------


def visible_posts(path: str) -> list[Any]:
    """Posts a reader sees with something to read (text, a poll, or a photo: a flyer's text is in
    its image), counted with lxml."""
    tree = html.fromstring((CORPUS / path).read_bytes())
    posts = tree.xpath(
        "//div[contains(concat(' ', normalize-space(@class), ' '), ' tgme_widget_message ')][@data-post]"
    )
    return [
        p
        for p in posts
        if p.xpath(
            ".//div[contains(@class, 'tgme_widget_message_text')]//text()[normalize-space()]"
        )
        or p.xpath(".//div[contains(@class, 'tgme_widget_message_poll_question')]")
        or p.xpath(
            ".//a[contains(@class, 'tgme_widget_message_photo_wrap')][contains(@style, 'url(')]"
        )
    ]


def telegram_ads(path: str, channel: str) -> tuple[list[JobAd], list[Request], PatrolSpider]:
    spider = spider_of(template("tpl_telegram_channel", max_age_days=FOREVER))
    out = list(spider.parse_channel(saved(path, f"https://t.me/s/{channel}"), channel, 1))
    return ads_of(out), [o for o in out if isinstance(o, Request)], spider


@pytest.mark.parametrize(
    ("path", "channel"),
    [
        ("telegram/tme_s_durov.html", "durov"),
        ("telegram/fragment_it_begin_488_poll.html", "it_begin"),
        ("telegram/fragment_channel_4_from_author.html", "channel"),
        ("telegram/fragment_oper_goblin_22358_forwarded.html", "oper_goblin"),
        ("telegram/fragment_oper_goblin_22360_link_preview.html", "oper_goblin"),
        ("telegram/fragment_topwar_official_70991_text.html", "topwar_official"),
        ("telegram/fragment_anna_news_46908_photo_video.html", "anna_news"),
    ],
)
def test_telegram_posts_visible_are_posts_stored(path: str, channel: str) -> None:
    visible = visible_posts(path)
    ads, _, spider = telegram_ads(path, channel)
    assert len(ads) == len(visible) >= 1
    assert [a.native_id for a in ads] == [p.get("data-post") for p in visible]
    dates = [
        p.xpath(".//a[contains(@class,'tgme_widget_message_date')]/time/@datetime")[0]
        for p in visible
    ]
    assert [a.posted_at for a in ads] == [datetime.fromisoformat(d).astimezone(UTC) for d in dates]
    assert not stats(spider).get("patroli/layout_changed")


def test_telegram_durov_page_fields_as_displayed() -> None:
    ads, requests, spider = telegram_ads("telegram/tme_s_durov.html", "durov")
    by_id = {a.native_id: a for a in ads}
    # 20 posts: one is a video without caption, kept for its image (a flyer's text is in its image)
    assert len(ads) == 20
    first = by_id["durov/519"]
    assert first.url == "https://t.me/durov/519"
    assert first.author == "Pavel Durov"
    assert first.extra["signature"] == "Pavel Durov"
    assert first.extra["views"] == 8_670_000
    assert shown(first).split("\n")[0] == "🤖 Your Telegram inbox can now run itself."
    # Inline tags are joined as displayed, <br> is a line break.
    assert shown(by_id["durov/521"]).startswith(
        "💎 TON’s native currency is becoming Gram.\n\n🤑 Gram"
    )
    assert by_id["durov/521"].extra["link_preview"]["url"] == "https://gram.org/"
    assert [r.url for r in requests] == ["https://t.me/s/durov?before=519"]
    assert stats(spider).get("patroli/telegram/posts_without_text") is None
    assert stats(spider).get("patroli/telegram/photo_only_posts") == 1


def test_telegram_post_permalinks_are_links_not_contacts() -> None:
    ads, _, _ = telegram_ads("telegram/tme_s_durov.html", "durov")
    by_id = {a.native_id: a for a in ads}

    def entities(ad: JobAd) -> dict[str, Any]:
        ad.text = shown(ad)
        return entities_for(entity_payload(ad))

    only_permalink = entities(by_id["durov/528"])  # links t.me/contest/456, a post of @contest
    assert "https://t.me/contest/456" in only_permalink["links"]
    assert only_permalink["telegram"] == []
    assert entities(by_id["durov/527"])["telegram"] == ["@contest"]  # names the channel itself
    assert entities(by_id["durov/539"])["telegram"] == []  # links its own post t.me/durov/537


def test_telegram_signature_poll_forward_and_source_line_breaks() -> None:
    (signed,), _, _ = telegram_ads("telegram/fragment_channel_4_from_author.html", "channel")
    assert signed.author == "Channel title (🅰️rkadiy Ivanov)"
    assert signed.extra["signature"] == "🅰️rkadiy Ivanov"
    (poll,), _, spider = telegram_ads("telegram/fragment_it_begin_488_poll.html", "it_begin")
    assert shown(poll).split("\n") == [
        "Как лучше?",
        "Несколько постов в день",
        "Один пост в несколько дней",
        "Свой вариант в комментарии",
    ]
    assert poll.extra["poll"] is True
    assert stats(spider)["patroli/telegram/polls"] == 1
    (forward,), _, _ = telegram_ads(
        "telegram/fragment_oper_goblin_22358_forwarded.html", "oper_goblin"
    )
    assert forward.extra["forwarded_from"] == "Пул N3"
    assert forward.extra["forwarded_from_url"] == "https://t.me/dimsmirnov175/44604"
    assert forward.extra["views"] == 214_400
    # The saver re-indented the markup: a source line break inside the text is a space.
    (text,), _, _ = telegram_ads(
        "telegram/fragment_topwar_official_70991_text.html", "topwar_official"
    )
    assert shown(text).split("\n")[0] == (
        "Неопознанный летающий объект замечен в 160 – 200 км от Петербурга"
    )


def test_telegram_paging_is_bounded_per_channel() -> None:
    spider = spider_of(template("tpl_telegram_channel", max_age_days=FOREVER, max_pages=1))
    out = list(
        spider.parse_channel(saved("telegram/tme_s_durov.html", "https://t.me/s/durov"), "durov", 1)
    )
    assert not [o for o in out if isinstance(o, Request)]
    assert stats(spider)["patroli/telegram/paging_bounded"] == 1
    # By date: every post of the page is older than 30 days before now (2026-12).
    recent = spider_of(template("tpl_telegram_channel", max_age_days=30))
    out = list(
        recent.parse_channel(saved("telegram/tme_s_durov.html", "https://t.me/s/durov"), "durov", 1)
    )
    assert ads_of(out) == []
    assert not [o for o in out if isinstance(o, Request)]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("telegram/landing_tme_python_group.html", "python"),
        ("telegram/landing_tme_durov_channel.html", "durov"),
        ("telegram/landing_tme_user.html", "nikolai"),
    ],
)
def test_telegram_landing_page_is_no_public_preview_not_a_layout_change(
    path: str, name: str
) -> None:
    tree = html.fromstring((CORPUS / path).read_bytes())
    assert tree.xpath("//div[contains(@class,'tgme_page')]")
    assert not visible_posts(path)
    for url in (
        f"https://t.me/s/{name}",
        f"https://t.me/{name}",
    ):  # served at /s/ with 200, or redirected
        spider = spider_of(template("tpl_telegram_channel"))
        assert list(spider.parse_channel(saved(path, url), name, 1)) == []
        assert stats(spider)["patroli/refused/no_public_preview"] == 1
        assert not stats(spider).get("patroli/layout_changed")


# --- Feeds and RSS-Bridge ----------------------------------------------------------------------


def visible_items(path: str) -> list[str]:
    """Titles (or ids) of the items a feed reader lists, counted with lxml / json."""
    data = (CORPUS / path).read_bytes()
    if path.endswith(".json"):
        return [i.get("title") or i["id"] for i in json.loads(data)["items"]]
    tree = etree.fromstring(data)
    items = tree.xpath("//*[local-name()='item' or local-name()='entry']")
    return [
        (
            i.xpath("string(./*[local-name()='title'])")
            or i.xpath("string(./*[local-name()='guid' or local-name()='id'])")
        )
        for i in items
    ]


def feed_ads(path: str, url: str = "http://127.0.0.1/feed") -> tuple[list[JobAd], PatrolSpider]:
    spider = spider_of(template("tpl_rssbridge_telegram"))
    return ads_of(spider.parse_feed(saved(path, url))), spider


FEEDS = [
    "rssbridge/atom_feed.common.xml",
    "rssbridge/atom_feed.emptyItems.xml",
    "rssbridge/atom_feed.microblog.xml",
    "rssbridge/json_feed.common.json",
    "rssbridge/mrss_feed.common.xml",
    "rssbridge/mrss_feed.microblog.xml",
    "rssbridge/generated/telegrambridge_durov.atom.xml",
    "rssbridge/generated/telegrambridge_durov.mrss.xml",
    "rssbridge/generated/telegrambridge_durov.json",
    "rssbridge/generated/telegrambridge_topwar_official.atom.xml",
]


@pytest.mark.parametrize("path", FEEDS)
def test_feed_items_visible_are_items_stored(path: str) -> None:
    visible = visible_items(path)
    ads, spider = feed_ads(path)
    assert len(ads) == len(visible) >= 2
    assert len({a.url for a in ads}) == len(ads)  # no two items share a URL (no bare feed URL)
    assert all(a.url.startswith("http") for a in ads)  # never a urn:sha1 id
    assert not stats(spider).get("patroli/layout_changed")


def test_feed_fields_on_real_rssbridge_output() -> None:
    ads, _ = feed_ads("rssbridge/atom_feed.common.xml")
    assert [a.author for a in ads] == [
        "fulmeek",
        "Brent Simmons and Manton Reece",
        "Mark Pilgrim",
        "",
    ]
    assert ads[0].url == "http://example.com/blog/test-entry"
    assert ads[0].posted_at == datetime(2018, 12, 1, 12, tzinfo=UTC)
    micro, _ = feed_ads("rssbridge/mrss_feed.microblog.xml", "http://127.0.0.1/feed?x=1")
    assert [a.url for a in micro] == [
        "http://127.0.0.1/feed?x=1#1918f084648b82057c1dd3faa3d091da82a6fac2",
        "http://127.0.0.1/feed?x=1#e62189168a06dfa74f61c621c79c33c4c8517e1f",
    ]
    durov, _ = feed_ads("rssbridge/generated/telegrambridge_durov.json")
    assert {a.author for a in durov} == {"Pavel Durov"}
    assert durov[0].html.startswith("{")  # the JSON item is the evidence


@pytest.mark.parametrize(
    "path",
    [
        "rssbridge/generated/error_item_not_found.atom.xml",
        "rssbridge/generated/error_item_not_found.mrss.xml",
        "rssbridge/generated/error_item_no_preview_python.atom.xml",
    ],
)
def test_rssbridge_error_items_are_a_named_status_never_ads(path: str) -> None:
    assert len(visible_items(path)) == 1
    ads, spider = feed_ads(path)
    assert ads == []
    assert stats(spider)["patroli/refused/rssbridge_error"] == 1


@pytest.mark.parametrize(
    ("path", "status", "named"),
    [
        ("rssbridge/generated/error_http_500_not_found.html", 500, "rssbridge_error"),
        ("rssbridge/generated/error_upstream_429.html", 429, "rate_limited"),
        ("failures/google_unusual_traffic_captcha.html", 200, "soft_block"),
    ],
)
def test_error_pages_are_recognised_by_name(path: str, status: int, named: str) -> None:
    refusal = refusal_of("http://127.0.0.1/x", status, (CORPUS / path).read_bytes())
    assert refusal is not None
    assert refusal.status == named


def test_real_content_pages_are_never_taken_for_refusals() -> None:
    for row in read_manifest():
        if (
            row.kept and row.platform in ("telegram", "feeds", "wordpress")
        ) or "telegrambridge" in row.file:
            assert (
                refusal_of("http://127.0.0.1/x", 200, (CORPUS / row.file).read_bytes()) is None
            ), row.file


def test_captcha_page_as_a_listing_is_a_soft_block_not_a_layout_change() -> None:
    spider = spider_of(template("tpl_jobstreet_id"))
    out = list(
        spider.parse_listing(
            saved("failures/google_unusual_traffic_captcha.html", "https://id.jobstreet.com/id/x")
        )
    )
    assert out == []
    assert stats(spider)["patroli/refused/soft_block"] == 1
    assert not stats(spider).get("patroli/layout_changed")


# --- WordPress with Yoast ----------------------------------------------------------------------


WORDPRESS = [
    (
        "wordpress/yoast_post_majkaswelt.com.html",
        "https://majkaswelt.com/top-5-fashion-must-haves-2018-werbung/",
        "div.entry-content",
        "TOP 5 Fashion Must Haves 2018 [Werbung]",
        datetime(2018, 11, 27, 16, 15, 35, tzinfo=UTC),
        "majainfos_zlfca4v6",
        "Rüschen",
    ),
    (
        "wordpress/yoast_post_github.blog.html",
        "https://github.blog/2019-03-29-leader-spotlight-erin-spiceland/",
        "div.post__content",
        "Leader spotlight: Erin Spiceland",
        datetime(2019, 3, 29, 16, 0, 49, tzinfo=UTC),
        "Jessica Rudder",
        "Choctaw",
    ),
]


@pytest.mark.parametrize(("path", "url", "text", "title", "posted", "author", "word"), WORDPRESS)
def test_wordpress_post_dates_and_author_from_yoast_json_ld(
    path: str, url: str, text: str, title: str, posted: datetime, author: str, word: str
) -> None:
    source = dataclasses.replace(load_registry().get("demo_agensi"), selectors={"text": text})
    tree = html.fromstring((CORPUS / path).read_bytes())
    assert len(tree.xpath("//article[contains(@class,'type-post')]")) == 1  # one post on the page
    (ad,) = ads_of(spider_of(source).parse_page(saved(path, url)))
    assert ad.title == title  # the JSON-LD Article's headline
    assert ad.posted_at == posted
    assert ad.author == author  # Article.author is an @id: resolved to the Person node
    assert word in shown(ad)


def test_selectors_can_return_attributes() -> None:
    source = dataclasses.replace(
        load_registry().get("demo_agensi"),
        selectors={
            "text": "div.entry-content",
            "title": "meta[property='og:title']::attr(content)",
            "posted": "//meta[@property='article:modified_time']/@content",
        },
    )
    page = saved(*WORDPRESS[0][:2])
    (ad,) = ads_of(spider_of(source).parse_page(page))
    assert ad.title == "TOP 5 Fashion Must Haves 2018 [Werbung] - MajkasWelt"
    assert ad.posted_at == datetime(2018, 12, 28, 11, 44, 30, tzinfo=UTC)


# --- End to end: the ready registry entries over loopback into a temporary store ---------------


@pytest.mark.crawl
def test_templates_crawl_saved_pages_end_to_end(tmp_path: Path) -> None:
    import yaml

    from patroli.storage import open_store
    from tests.helpers.cli import run_patroli
    from tests.helpers.realsite import Route, serve, swap_base

    routes = [
        Route("/s/durov", CORPUS / "telegram/tme_s_durov.html"),
        Route("/s/durov?before=519", status=404),  # the older page was not saved
        Route("/s/python", status=302, location="/python"),
        Route("/python", CORPUS / "telegram/landing_tme_python_group.html"),
        Route(
            "/?action=display&bridge=TelegramBridge&username=nama_kanal_loker&format=Atom",
            CORPUS / "rssbridge/generated/telegrambridge_durov.atom.xml",
            "application/atom+xml; charset=UTF-8",
        ),
        Route(
            "/?action=display&bridge=FacebookBridge&context=Group&g=nama_grup_loker&format=Atom",
            CORPUS / "rssbridge/generated/error_item_not_found.atom.xml",
            "application/atom+xml; charset=UTF-8",
        ),
        Route(
            "/?action=display&bridge=InstagramBridge&context=Username&u=nama_akun&media_type=all&format=Atom",
            CORPUS / "rssbridge/generated/error_upstream_429.html",
            status=429,
        ),
        Route(
            "/?action=display&bridge=TikTokBridge&context=By+user&username=%40nama_akun&format=Atom",
            CORPUS / "rssbridge/generated/error_http_500_not_found.html",
            status=500,
        ),
        Route(
            "/id/kerja-luar-negeri-jobs", CORPUS / "failures/google_unusual_traffic_captcha.html"
        ),
    ]
    with serve(routes, origins=["https://t.me"]) as site:
        origins = {
            "https://t.me": site.base_url,
            "http://localhost:3000": site.base_url,
            "https://id.jobstreet.com": site.base_url,
        }
        names = [
            "tpl_telegram_channel",
            "tpl_rssbridge_telegram",
            "tpl_rssbridge_facebook_group",
            "tpl_rssbridge_instagram",
            "tpl_rssbridge_tiktok",
            "tpl_jobstreet_id",
        ]
        entries = []
        for name in names:
            source = swap_base(load_registry().get(name), origins, enabled=True)
            if name == "tpl_telegram_channel":  # which channels to read, and the pages' age
                source = dataclasses.replace(
                    source, channels=("durov", "python"), max_age_days=FOREVER
                )
            entries.append(registry_entry(source))
        registry = tmp_path / "sources.yaml"
        registry.write_text(yaml.safe_dump({"sources": entries}, allow_unicode=True))
        store = f"sqlite:///{tmp_path / 'real.db'}"
        summary = tmp_path / "summary.json"
        result = run_patroli(
            "crawl",
            "--sources",
            str(registry),
            "--store",
            store,
            "--summary-json",
            str(summary),
            "--no-classify",
            "-s",
            "PATROLI_RETRY_BACKOFF_BASE=0.01",
            "-s",
            "PATROLI_MONITORS_ENABLED=False",
            # the pages' images live on the platforms' CDNs, not saved here
            "-s",
            "PATROLI_IMAGES_ENABLED=False",
        )
    runs = {r["source"]: r for r in json.loads(summary.read_text())}
    assert result.returncode == 4, (
        result.stdout[-3000:] + result.stderr[-3000:]
    )  # refused sources failed
    with open_store(store) as db:

        def count(source: str) -> int:
            return db.search(f"source:{source}", limit=1000).total

        assert (
            count("tpl_telegram_channel") == len(visible_posts("telegram/tme_s_durov.html")) == 20
        )
        assert (
            count("tpl_rssbridge_telegram")
            == len(visible_items("rssbridge/generated/telegrambridge_durov.atom.xml"))
            == 20
        )
        for refused in (
            "tpl_rssbridge_facebook_group",
            "tpl_rssbridge_instagram",
            "tpl_rssbridge_tiktok",
            "tpl_jobstreet_id",
        ):
            assert count(refused) == 0
        hit = db.search("source:tpl_telegram_channel TON", limit=5).hits[0]
        assert hit["author"] == "Pavel Durov"
        assert hit["url"] == f"{site.base_url}/durov/521"
    telegram = runs["tpl_telegram_channel"]
    assert "no_public_preview" in telegram["conditions"]
    assert telegram["status"] == "degraded"
    assert runs["tpl_rssbridge_telegram"]["status"] == "ok"
    for name, condition in [
        ("tpl_rssbridge_facebook_group", "rssbridge_error"),
        ("tpl_rssbridge_instagram", "rate_limited"),
        ("tpl_rssbridge_tiktok", "rssbridge_error"),
        ("tpl_jobstreet_id", "soft_block"),
    ]:
        assert runs[name]["status"] == "failed", (name, runs[name]["notes"])
        assert condition in runs[name]["conditions"], (name, runs[name]["conditions"])
        assert any(note.startswith(condition) for note in runs[name]["notes"])
    assert "rssbridge_error" in result.stdout
    assert "soft_block" in result.stdout


def registry_entry(source: SourceConfig) -> dict[str, Any]:
    """A source back as a registry entry (the fields the schema knows, defaults left out)."""
    entry: dict[str, Any] = {"name": source.name, "kind": source.kind, "enabled": source.enabled}
    for name in ("start_urls", "channels", "search_urls", "keywords", "allowed_hosts"):
        if value := getattr(source, name):
            entry[name] = list(value)
    for name in (
        "base_url",
        "follow",
        "selectors",
        "max_pages",
        "max_age_days",
        "api",
        "embedded",
        "politeness",
        "private_network",
        "budget",
    ):
        if value := getattr(source, name):
            entry[name] = value
    return entry
