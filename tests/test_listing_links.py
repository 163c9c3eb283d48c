"""Listings that survive bad links: an unusable link (``javascript:``, ``mailto:``, malformed) is
counted and skipped while the rest of the page is read, by every spider kind; and a listing walk
disturbed by a spider error (or any other incident) marks nothing gone and makes the run degraded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from scrapy.http import HtmlResponse, Request, Response, TextResponse, XmlResponse

from crawler.incremental import IncrementalMiddleware
from crawler.items import make_ad_id
from crawler.runs import summarize
from crawler.sources import SourceConfig
from patroli.storage import open_store
from tests.helpers.components import build, crawler_with, stats
from tests.helpers.spiderkit import BASE, page, spider_for, split, stat

BAD_HREFS = (
    "javascript:void(0)",
    " JavaScript:alert(1)",
    "mailto:agen@example.test",
    "tel:+6281255501234",
    "http://[::1",
    "http://demo.test:99999/",
    "http://",
)


def edited(response: Response, old: str, new: str, count: int = 1) -> Response:
    """``response`` with ``old`` replaced in its body (``count`` times), as the same kind of response."""
    body = response.text.replace(old, new, count)
    assert body != response.text, f"{old!r} not in {response.url}"
    cls = XmlResponse if isinstance(response, XmlResponse) else HtmlResponse
    return cls(
        url=response.url, body=body.encode(), encoding="utf-8", request=Request(response.url)
    )


def unusable(spider: Any) -> dict[str, int]:
    assert spider.crawler.stats is not None
    return {
        k.removeprefix("patroli/links/unusable/"): v
        for k, v in spider.crawler.stats.get_stats().items()
        if k.startswith("patroli/links/unusable/")
    }


def test_classifieds_listing_skips_bad_cards_and_reads_the_rest() -> None:
    spider = spider_for("demo_pasarloka")
    listing = page("/pasarloka/lowongan-kerja_c4")
    cards = "".join(
        f'<li data-aut-id="itemBox"><a href="{h}/item/x">iklan</a></li>' for h in BAD_HREFS
    )
    hostile = edited(listing, '<li data-aut-id="itemBox"', cards + '<li data-aut-id="itemBox"')
    _, expected = split(spider_for("demo_pasarloka").parse_listing(listing, 1))
    _, requests = split(spider.parse_listing(hostile, 1))
    assert [r.url for r in requests] == [r.url for r in expected]  # 20 ads and the next page
    assert stat(spider, "patroli/links/unusable") == len(BAD_HREFS)
    assert unusable(spider) == {"javascript": 2, "mailto": 1, "tel": 1, "malformed": 3}


def test_a_javascript_next_page_link_ends_the_walk_without_an_error() -> None:
    spider = spider_for("demo_pasarloka")
    listing = page("/pasarloka/lowongan-kerja_c4")
    hostile = edited(
        listing, 'href="/pasarloka/lowongan-kerja_c4?page=2"', 'href="javascript:next()"', count=-1
    )
    _, requests = split(spider.parse_listing(hostile, 1))
    assert len(requests) == 20  # every ad, no next page
    assert unusable(spider) == {"javascript": 1}


def test_jobposting_listing_skips_links_it_cannot_follow() -> None:
    spider = spider_for("demo_kerjanusa")
    listing = page("/kerjanusa/lowongan")
    bad = "".join(
        f'<a href="{h}/kerjanusa/lowongan/j9{i}-x">x</a>' for i, h in enumerate(BAD_HREFS)
    )
    hostile = edited(listing, '<div class="job-list">', '<div class="job-list">' + bad)
    _, expected = split(spider_for("demo_kerjanusa").parse_listing(listing))
    _, requests = split(spider.parse_listing(hostile))
    assert [r.url for r in requests] == [r.url for r in expected]
    assert stat(spider, "patroli/links/unusable") == len(BAD_HREFS)


def test_sitemap_skips_locs_it_cannot_follow() -> None:
    spider = spider_for("demo_agensi")
    sitemap = page("/agensi/post-sitemap.xml")
    locs = "".join(
        f"<url><loc>{h}/agensi/lowongan-x{i}/</loc></url>" for i, h in enumerate(BAD_HREFS[:4])
    )
    hostile = edited(sitemap, "<url>", locs + "<url>")
    _, expected = split(spider_for("demo_agensi").parse_sitemap(sitemap))
    _, requests = split(spider.parse_sitemap(hostile))
    assert [r.url for r in requests] == [r.url for r in expected]
    assert unusable(spider) == {"javascript": 2, "mailto": 1, "tel": 1}


def test_telegram_and_feed_next_links_that_are_no_links_are_skipped() -> None:
    telegram = spider_for("demo_telegram")
    channel = page("/tg/s/lokerasia_express")
    hostile = edited(
        channel, 'href="/tg/s/lokerasia_express?before=', 'href="javascript:more()" data-x="'
    )
    ads, requests = split(telegram.parse_channel(hostile, "lokerasia_express", 1))
    assert len(ads) == 20
    assert requests == []
    assert unusable(telegram) == {"javascript": 1}

    feed = spider_for("demo_fb_group")
    atom = page(
        "/rss-bridge/?action=display&bridge=FacebookBridge&context=Group&g=infolokerln&format=Atom"
    )
    body = atom.text.replace("<entry>", '<link rel="next" href="javascript:next()"/><entry>', 1)
    hostile_feed = TextResponse(
        url=atom.url, body=body.encode(), encoding="utf-8", request=Request(atom.url)
    )
    expected, _ = split(spider_for("demo_fb_group").parse_feed(atom))
    ads, requests = split(feed.parse_feed(hostile_feed))
    assert len(ads) == len(expected) > 0
    assert requests == []
    assert unusable(feed) == {"javascript": 1}


def test_an_ad_url_that_is_no_web_url_is_not_stored() -> None:
    feed = spider_for("demo_fb_group")
    rss = page(
        "/rss-bridge/?action=display&bridge=FacebookBridge&context=Group&g=infolokerln&format=Mrss"
    )
    body = rss.text.replace("<link>https://www.facebook.com", "<link>javascript:alert(1)//", 1)
    hostile = TextResponse(
        url=rss.url, body=body.encode(), encoding="utf-8", request=Request(rss.url)
    )
    ads, _ = split(feed.parse_feed(hostile))
    assert ads
    assert all(ad.url.startswith(("https://", BASE)) for ad in ads)


def test_postings_that_name_no_web_url_keep_their_own_ids_and_the_page_url() -> None:
    spider = spider_for("demo_kerjanusa")
    postings = "".join(
        '<script type="application/ld+json">{"@context": "https://schema.org", '
        f'"@type": "JobPosting", "title": "Loker {n}", "description": "Pabrik Taiwan", '
        f'"url": "{href}"}}</script>'
        for n, href in enumerate(["javascript:apply(1)", "javascript:apply(2)", "/kerjanusa/j7"])
    )
    url = BASE + "/kerjanusa/lowongan"
    listing = HtmlResponse(
        url=url,
        body=f"<html><head>{postings}</head><body></body></html>".encode(),
        encoding="utf-8",
        request=Request(url),
    )
    ads, _ = split(spider.parse_listing(listing))
    assert [ad.url for ad in ads] == [url, url, BASE + "/kerjanusa/j7"]
    assert [ad.native_id for ad in ads] == [
        "javascript:apply(1)",
        "javascript:apply(2)",
        BASE + "/kerjanusa/j7",
    ]


# --- a disturbed walk marks nothing gone, and the run is degraded ---------------------------


@pytest.fixture
def known_three(store_url: str) -> IncrementalMiddleware:
    """The incremental middleware of a crawl whose store knows ads 1, 2 and 3 of ``demo_unit``."""
    with open_store(store_url) as store:
        store.upsert_ads(
            [
                {
                    "ad_id": make_ad_id("demo_unit", n),
                    "source": "demo_unit",
                    "source_kind": "classifieds",
                    "native_id": n,
                    "url": f"http://demo.test/ad/{n}",
                    "title": f"Loker {n}",
                    "text": "Loker pabrik Taiwan",
                    "crawled_at": "2026-11-01T00:00:00+00:00",
                    "content_hash": f"h{n}",
                    "html": "<p>v1</p>",
                    "extra": {},
                }
                for n in "123"
            ]
        )
    middleware = build(IncrementalMiddleware, crawler_with(PATROLI_STORE_URL=store_url))
    assert middleware.crawler.spider is not None
    asyncio.run(middleware.spider_opened(middleware.crawler.spider))
    return middleware


@pytest.mark.parametrize(
    "incident",
    [
        "spider_exceptions/count",
        "patroli/links/unusable",
        "patroli/scope/refused",
        "patroli/budget/depth_refused",
    ],
)
def test_a_complete_walk_with_an_incident_marks_nothing_gone(
    known_three: IncrementalMiddleware, store_url: str, incident: str
) -> None:
    crawler = known_three.crawler
    spider = crawler.spider
    with open_store(store_url) as store:  # stored again by the store pipeline: seen this run
        store.touch_ads([make_ad_id("demo_unit", "1")], datetime.now(UTC).isoformat())
    assert crawler.stats is not None
    crawler.stats.inc_value(incident)
    asyncio.run(known_three.spider_closed(spider, "finished"))  # type: ignore[arg-type]
    with open_store(store_url) as store:
        gone = [n for n in "123" if store.get_ad(make_ad_id("demo_unit", n)).get("gone_at")]
    assert gone == []
    assert stats(crawler)["patroli/incremental/gone_withheld"] == 1


def test_a_spider_error_makes_the_run_degraded() -> None:
    crawler = crawler_with()
    assert crawler.stats is not None
    for key, value in {
        "start_time": "2026-11-28T02:00:00+00:00",
        "finish_reason": "finished",
        "item_scraped_count": 40,
        "response_received_count": 5,
        "spider_exceptions/count": 1,
        "spider_exceptions/ValueError": 1,
    }.items():
        crawler.stats.set_value(key, value)
    run = summarize(SourceConfig(name="demo_unit", kind="classifieds"), crawler)
    assert run.status == "degraded"
    assert any("1 error(s) in the spider" in note for note in run.notes)
