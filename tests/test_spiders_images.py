"""Where spiders find an ad's images, on the demo sites' markup rendered in-process (no network):
Telegram photo wraps (a photo-only post is kept), classifieds galleries and og:image, feed
media:content and Atom enclosures, JSON-LD image, and a WordPress post's og:image."""

from __future__ import annotations

from crawler.spiders.feed import entry_images
from crawler.spiders.jobposting import _images
from tests.helpers.spiderkit import BASE, page, sites, spider_for, split


def flyer_record(source_list: list[dict], flyer: str) -> dict:
    return next(r for r in source_list if r.get("flyer") == flyer)


def test_telegram_photo_only_posts_are_kept_with_their_photo() -> None:
    spider = spider_for("demo_telegram")
    ads, _ = split(spider.parse_channel(page("/tg/s/lokerln_poster"), "lokerln_poster", 1))
    flyer_only = next(a for a in ads if a.native_id.endswith("/1000"))  # p01, no caption
    assert flyer_only.text == ""
    assert flyer_only.image_urls == [f"{BASE}/tg/file/p01-original.jpg"]
    captioned = next(a for a in ads if a.native_id.endswith("/1001"))
    assert "gambar" in captioned.text
    assert captioned.image_urls == [f"{BASE}/tg/file/p02-original.jpg"]
    assert spider.crawler.stats.get_value("patroli/telegram/photo_only_posts") == 2


def test_classifieds_gallery_and_og_image_are_read_once_each() -> None:
    spider = spider_for("demo_pasarloka")
    record = flyer_record(sites().data.classifieds, "p01")
    (ad,) = split(spider.parse_ad(page(record["path"])))[0]
    assert ad.image_urls == [f"{BASE}/pasarloka/media/p01-resized.jpg"]  # gallery = og:image
    plain = next(r for r in sites().data.classifieds if not r.get("images"))
    (ad,) = split(spider.parse_ad(page(plain["path"])))[0]
    assert ad.image_urls == [f"{BASE}/pasarloka/static/placeholder.png"]


def test_feed_media_content_and_enclosures() -> None:
    spider = spider_for("demo_fb_group")
    feed = (
        "/rss-bridge/?action=display&bridge=FacebookBridge&context=Group&g=infolokerln&format=Mrss"
    )
    ads, _ = split(spider.parse_feed(page(feed)))
    with_images = {a.native_id: a.image_urls for a in ads if a.image_urls}
    assert sorted(u.rsplit("/", 1)[1] for urls in with_images.values() for u in urls) == [
        "p01-mirrored.jpg",
        "p02-resized_small.jpg",
    ]
    entry = {
        "media_content": [
            {"url": "https://x/a.jpg", "medium": "image"},
            {"url": "https://x/v.mp4", "medium": "video"},
        ],
        "enclosures": [
            {"href": "https://x/b.png", "type": "image/png"},
            {"href": "https://x/c.mp3", "type": "audio/mpeg"},
        ],
    }
    assert entry_images(entry) == ["https://x/a.jpg", "https://x/b.png"]


def test_jsonld_image_and_wordpress_og_image() -> None:
    spider = spider_for("demo_kerjanusa")
    job = flyer_record(sites().data.jobs, "p04")
    ads = list(spider.parse_job(page(job["path"])))
    assert ads[0].image_urls == [f"{BASE}/kerjanusa/media/p04-original.jpg"]
    agency = spider_for("demo_agensi")
    post = next(p for p in sites().data.agency_posts if p.get("flyer") == "p04")
    (ad,) = list(agency.parse_page(page(f"/agensi/{post['agency_slug']}/")))
    assert ad.image_urls == [f"{BASE}/kerjanusa/media/p04-original.jpg"]
    assert _images([{"@type": "ImageObject", "contentUrl": "/a.png"}, "/b.jpg", 7]) == [
        "/a.png",
        "/b.jpg",
    ]
