"""Entities in feeds and sitemaps are never expanded or resolved: no billion laughs, no XXE."""

from __future__ import annotations

from pathlib import Path

from scrapy import Request
from scrapy.http import TextResponse, XmlResponse

from tests.helpers.spiderkit import BASE, spider_for, split, stat

LAUGHS = '<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
    for i in range(1, 10)
)


def feed_with(doctype: str, text: str) -> TextResponse:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE rss [{doctype}]><rss version="2.0"><channel>'
        "<title>Loker</title>"
        + "".join(
            f"<item><title>Lowongan {n}</title><guid>{BASE}/a/{n}</guid><link>{BASE}/a/{n}</link>"
            f"<description>Dicari operator. {text}</description></item>"
            for n in range(3)
        )
        + "</channel></rss>"
    )
    url = f"{BASE}/feed.xml"
    return TextResponse(url=url, body=body.encode(), encoding="utf-8", request=Request(url))


def test_nested_entities_in_a_feed_are_not_expanded() -> None:
    spider = spider_for("demo_fb_group")
    # &lol4; is 10,000 times "lol": small enough for expat's own amplification limit to let it
    # through (a feed of many such entries costs hundreds of MiB), &lol9; is not.
    ads, _ = split(spider.parse_feed(feed_with(LAUGHS, "&lol4;")))
    ads += split(spider.parse_feed(feed_with(LAUGHS, "&lol9;")))[0]
    assert len(ads) == 6
    assert all("lollol" not in ad.text and len(ad.text) < 200 for ad in ads), ads[0].text[:200]
    assert stat(spider, "patroli/xml/doctype_removed") == 2


def test_external_entities_in_a_feed_are_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("RAHASIA-canary", encoding="utf-8")
    spider = spider_for("demo_fb_group")
    doctype = (
        f'<!ENTITY xxe SYSTEM "file://{secret}"><!ENTITY % dtd SYSTEM "http://127.0.0.1:9/x.dtd">'
    )
    ads, _ = split(spider.parse_feed(feed_with(doctype, "&xxe;")))
    assert len(ads) == 3
    assert not any("RAHASIA" in ad.text or "RAHASIA" in ad.html for ad in ads)


def test_entities_in_a_sitemap_are_neither_expanded_nor_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(f"{BASE}/agensi/lowongan-rahasia/", encoding="utf-8")
    spider = spider_for("demo_agensi")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [{LAUGHS}<!ENTITY xxe SYSTEM "file://{secret}">]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>&xxe;</loc></url><url><loc>{BASE}/agensi/lowongan-&lol9;/</loc></url>"
        f"<url><loc>{BASE}/agensi/lowongan-biasa/</loc></url></urlset>"
    )
    url = f"{BASE}/agensi/post-sitemap.xml"
    response = XmlResponse(url=url, body=body.encode(), encoding="utf-8", request=Request(url))
    _, requests = split(spider.parse_sitemap(response))
    urls = [r.url for r in requests]
    assert f"{BASE}/agensi/lowongan-biasa/" in urls  # the sitemap after the bomb is still read
    assert not [url for url in urls if "lol" in url or "rahasia" in url]
    assert stat(spider, "patroli/xml/doctype_removed") == 1
