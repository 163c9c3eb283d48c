"""The images pipeline's bookkeeping, in process: the per-ad cap is applied and counted, and each
result lands on the item beside the URL it came from (refusals with their reason), with the flyer
look-up keys and a content hash that changes with the images."""

from __future__ import annotations

from pathlib import Path

from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.items import JobAd
from patroli.images.files import sha256_of
from patroli.images.inspect import inspect_image
from pipelines.images import FlyerImagesPipeline, ImageRefused
from tests.helpers.flyerkit import blank_png, flyer_jpeg

URLS = [f"https://img.example/{n}.jpg" for n in range(5)]


def pipeline(tmp_path: Path, per_ad: int) -> FlyerImagesPipeline:
    crawler = get_crawler(
        settings_dict={
            "PATROLI_IMAGES_DIR": str(tmp_path / "images"),
            "PATROLI_IMAGES_PER_AD": str(per_ad),
            "PATROLI_OCR_ENABLED": "false",
        }
    )
    return FlyerImagesPipeline.from_crawler(crawler)


def ad(image_urls: list[str]) -> JobAd:
    item = JobAd(source="demo_telegram", native_id="t1", url="https://t.me/demo/1", text="")
    item.image_urls = image_urls
    item.content_hash = "caption-only"
    return item


def test_the_per_ad_cap_keeps_page_order_and_counts_the_rest(tmp_path: Path) -> None:
    images = pipeline(tmp_path, per_ad=2)
    item = ad([URLS[0], URLS[0], URLS[1], URLS[2], URLS[3]])  # a repeated URL is asked once
    requests = images.get_media_requests(item, None)  # type: ignore[arg-type]
    assert [r.url for r in requests] == URLS[:2]
    assert all(r.meta["dont_redirect"] and r.meta["download_maxsize"] > 0 for r in requests)
    assert images.get_requested_urls(item) == URLS[:2]
    assert images.stats.get_value("patroli/images/skipped/per_ad_cap") == 2
    uncapped = pipeline(tmp_path, per_ad=4)
    assert len(uncapped.get_media_requests(ad(URLS[:3]), None)) == 3  # type: ignore[arg-type]
    assert uncapped.stats.get_value("patroli/images/skipped/per_ad_cap") is None


def test_results_land_beside_their_urls_with_keys_and_a_new_content_hash(tmp_path: Path) -> None:
    images = pipeline(tmp_path, per_ad=4)
    kept = []
    for data in (flyer_jpeg("p01"), blank_png()):
        facts = inspect_image(data, max_pixels=25_000_000)
        assert facts.pop("ok")
        facts["ocr"], facts["ocr_text"] = "done", "LOKER KAMBOJA" if len(kept) == 0 else ""
        images.files.put(sha256_of(data), facts["kind"], data, facts)
        kept.append(images._info("x", sha256_of(data), facts, "downloaded"))
    item = ad(URLS[:3])
    refused = Failure(ImageRefused("svg", "image/jpeg"))
    done = images.item_completed([(True, kept[0]), (False, refused), (True, kept[1])], item, None)  # type: ignore[arg-type]
    assert [i["url"] for i in done.images] == URLS[:3]
    assert done.images[1] == {"url": URLS[1], "refused": "svg"}
    assert done.images[0]["linkable"] is True
    assert done.images[2]["linkable"] is False  # the blank image gives no look-up keys
    assert done.image_text == "LOKER KAMBOJA"
    assert len(done.image_keys) == 8  # the flyer's four pHash and four dHash bands
    assert done.content_hash != "caption-only"
    assert images.stats.get_value("patroli/images/ads_with_image_text") == 1
