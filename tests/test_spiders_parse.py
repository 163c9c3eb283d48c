"""Spider callbacks on saved responses (the demo sites' markup rendered in-process): no network."""

from __future__ import annotations

from crawler.spiders.telegram import parse_views
from tests.helpers.spiderkit import BASE, NOW, page, sites, spider_for, split, stat


def test_telegram_page_yields_posts_and_the_older_page() -> None:
    spider = spider_for("demo_telegram")
    ads, requests = split(
        spider.parse_channel(page("/tg/s/lokerasia_express"), "lokerasia_express", 1)
    )
    posts = sites().data.telegram["lokerasia_express"]
    assert [a.native_id for a in ads] == [f"lokerasia_express/{p['post_id']}" for p in posts[-20:]]
    assert [r.url for r in requests] == [
        f"{BASE}/tg/s/lokerasia_express?before={posts[-20]['post_id']}"
    ]
    first = ads[0]
    assert first.url == f"{BASE}/tg/lokerasia_express/{posts[-20]['post_id']}"
    assert first.posted_at == posts[-20]["date"]
    assert first.posted_at.tzinfo is not None
    assert first.extra["views"] == parse_views(posts[-20]["views_text"])
    assert "tgme_widget_message" in first.html
    assert first.source == "demo_telegram"


def test_telegram_text_keeps_emoji_and_links() -> None:
    spider = spider_for("demo_telegram")
    ads, _ = split(spider.parse_channel(page("/tg/s/lokerasia_express"), "lokerasia_express", 1))
    posts = {
        f"lokerasia_express/{p['post_id']}": p for p in sites().data.telegram["lokerasia_express"]
    }
    for ad in ads:
        post = posts[ad.native_id]
        emoji = [ch for ch in post["text"] if ord(ch) > 0x1F300]
        for ch in emoji[:3]:
            assert ch in ad.text
        assert ad.extra["forwarded_from"] == post["forwarded_from"]
        assert bool(ad.extra["photos"]) == post["photo"]


def test_telegram_last_page_has_no_older_link() -> None:
    spider = spider_for("demo_telegram")
    posts = sites().data.telegram["lokerasia_express"]
    ads, requests = split(
        spider.parse_channel(
            page(f"/tg/s/lokerasia_express?before={posts[2]['post_id']}"), "lokerasia_express", 3
        )
    )
    assert len(ads) == 2
    assert requests == []


def test_telegram_changed_layout_is_counted_not_crashed() -> None:
    spider = spider_for("demo_telegram")
    ads, requests = split(
        spider.parse_channel(
            page("/tg/s/lokerasia_express", mode="layout", site="tg"), "lokerasia_express", 1
        )
    )
    assert ads == []
    assert requests == []
    assert stat(spider, "patroli/layout_changed") == 1
    assert stat(spider, "patroli/layout_changed/demo_telegram") == 1
    assert spider.degraded_urls == [f"{BASE}/tg/s/lokerasia_express"]


def test_telegram_empty_channel_is_not_a_layout_change() -> None:
    spider = spider_for("demo_telegram")
    ads, _ = split(
        spider.parse_channel(
            page("/tg/s/lokerasia_express", mode="empty", site="tg"), "lokerasia_express", 1
        )
    )
    assert ads == []
    assert stat(spider, "patroli/layout_changed") is None


def test_telegram_channel_without_preview_is_reported() -> None:
    spider = spider_for("demo_telegram")
    landing = page("/tg/rekrut_tertutup")
    ads, requests = split(spider.parse_channel(landing, "rekrut_tertutup", 1))
    assert ads == []
    assert requests == []
    assert stat(spider, "patroli/telegram/no_public_preview") == 1


def test_classifieds_listing_links_every_card_and_the_next_page() -> None:
    spider = spider_for("demo_pasarloka")
    _, requests = split(spider.parse_listing(page("/pasarloka/lowongan-kerja_c4"), 1))
    jobs = [a for a in sites().data.classifieds if a["category"] == "lowongan-kerja"]
    assert [r.url for r in requests[:-1]] == [BASE + a["path"] for a in jobs[:20]]
    assert requests[-1].url == f"{BASE}/pasarloka/lowongan-kerja_c4?page=2"


def test_classifieds_ad_page_gives_all_fields() -> None:
    spider = spider_for("demo_pasarloka")
    ad_data = next(a for a in sites().data.classifieds if "hari" in a["posted"])
    (ad,), _ = split(spider.parse_ad(page(ad_data["path"])))
    assert ad.native_id == ad_data["id"].lstrip("c")
    assert ad.title == ad_data["title"]
    assert ad.salary_text == (ad_data["price"] or "Nego")
    assert ad.author == ad_data["seller"]
    assert ad.location == ad_data["location"]
    assert ad.posted_at is not None
    assert ad.posted_at.tzinfo is not None
    assert (NOW - ad.posted_at).days < 70 or ad.posted_at <= NOW
    first_line = ad_data["description"].split("\n")[0][:30]
    assert first_line.split()[0] in ad.text


def test_classifieds_empty_search_is_quiet_and_changed_layout_is_counted() -> None:
    spider = spider_for("demo_pasarloka")
    assert split(spider.parse_listing(page("/pasarloka/items/q-zzzqqq"), 1)) == ([], [])
    assert stat(spider, "patroli/layout_changed") is None
    assert split(
        spider.parse_listing(
            page("/pasarloka/lowongan-kerja_c4", mode="layout", site="pasarloka"), 1
        )
    ) == ([], [])
    assert stat(spider, "patroli/layout_changed") == 1


def test_jobposting_detail_page_reads_json_ld() -> None:
    spider = spider_for("demo_kerjanusa")
    job = next(j for j in sites().data.jobs if j.get("salary_min") and j.get("salary_max"))
    (ad,), _ = split(spider.parse_page(page(job["path"])))
    assert ad.native_id == job["id"]
    assert ad.title == job["title"]
    assert ad.author == job["company"]
    assert job["city"] in ad.location
    assert ad.extra["country"] == job["country"]
    assert ad.salary_text.startswith(job["currency"])
    assert ad.posted_at is not None
    assert ad.posted_at.date().isoformat() == job["date_posted"]


def test_jobposting_listing_follows_job_links_and_next() -> None:
    spider = spider_for("demo_kerjanusa")
    ads, requests = split(spider.parse_page(page("/kerjanusa/lowongan"), 1, listing=True))
    assert ads == []
    assert [r.url for r in requests[:-1]] == [BASE + j["path"] for j in sites().data.jobs[:20]]
    assert requests[-1].url == f"{BASE}/kerjanusa/lowongan?page=2"


def test_jobposting_page_without_structured_data_is_a_layout_change() -> None:
    spider = spider_for("demo_kerjanusa")
    job = sites().data.jobs[0]
    assert split(spider.parse_page(page(job["path"], mode="layout", site="kerjanusa"))) == ([], [])
    assert stat(spider, "patroli/layout_changed") == 1


def test_feed_entries_become_ads_in_rss_and_atom() -> None:
    spider = spider_for("demo_fb_group")
    path = "/rss-bridge/?action=display&bridge=FacebookBridge&context=Group&g=infolokerln&format="
    rss, _ = split(spider.parse_feed(page(path + "Mrss")))
    atom, _ = split(spider.parse_feed(page(path + "Atom")))
    assert len(rss) == len(atom) == len(sites().data.feed)
    assert [a.native_id for a in rss] == [a.native_id for a in atom]
    newest = sites().data.feed[0]
    assert rss[0].author == newest["author"]
    assert rss[0].posted_at == newest["date"]
    assert rss[0].html.startswith("<item")
    assert rss[0].html.endswith("</item>")


def test_feed_that_is_not_a_feed_is_a_layout_change() -> None:
    spider = spider_for("demo_fb_group")
    path = (
        "/rss-bridge/?action=display&bridge=FacebookBridge&context=Group&g=infolokerln&format=Mrss"
    )
    assert split(spider.parse_feed(page(path, mode="layout", site="rss-bridge"))) == ([], [])
    assert stat(spider, "patroli/layout_changed") == 1
