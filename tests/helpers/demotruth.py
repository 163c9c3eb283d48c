"""Ground truth of the demo sites: which stored ad is which hand-labelled demo record."""

from __future__ import annotations

from typing import Any

from crawler.items import make_ad_id
from patroli.demosites.data import load_demo_data

CRAWLED_CLASSIFIED_CATEGORIES = ("lowongan-kerja", "jasa")  # what the demo_pasarloka source lists


def truth() -> dict[str, dict[str, Any]]:
    """ad_id -> demo record (with its ``label`` and ``kind``) for every ad the demo sources list."""
    data = load_demo_data()
    records: dict[str, dict[str, Any]] = {}
    for ad in data.classifieds:
        if ad["category"] in CRAWLED_CLASSIFIED_CATEGORIES:
            records[make_ad_id("demo_pasarloka", ad["id"].lstrip("c"))] = {
                **ad,
                "source": "demo_pasarloka",
            }
    for channel, posts in data.telegram.items():
        for post in posts:
            records[make_ad_id("demo_telegram", f"{channel}/{post['post_id']}")] = {
                **post,
                "source": "demo_telegram",
            }
    for job in data.jobs:
        records[make_ad_id("demo_kerjanusa", job["id"])] = {**job, "source": "demo_kerjanusa"}
    for post in data.feed:
        number = post["id"].lstrip("f")
        native = f"https://www.facebook.com/groups/infolokerln/permalink/{number}5550{number}/"
        records[make_ad_id("demo_fb_group", native)] = {**post, "source": "demo_fb_group"}
    return records


def ad_id_of(source: str, record_id: str) -> str:
    for ad_id, record in truth().items():
        if record["source"] == source and record["id"] == record_id:
            return ad_id
    raise KeyError(record_id)


# Hand-picked by the authors of the demo data (patroli/demosites/data/*.jsonl) as unmistakable.
KNOWN_ILLEGAL = {
    "demo_pasarloka": ["c0001", "c0004", "c0006", "c0008", "c0020"],
    "demo_kerjanusa": ["j0002", "j0006", "j0039", "j0048", "j0061"],
    "demo_telegram": ["t0001", "t0002", "t0003", "t0006", "t0033"],
    "demo_fb_group": ["f0001", "f0003", "f0006", "f0008", "f0011"],
}
KNOWN_DOMESTIC = {
    "demo_pasarloka": ["c0002", "c0016", "c0021", "c0031", "c0089"],
    "demo_kerjanusa": ["j0001", "j0004", "j0013", "j0017", "j0031"],
    "demo_telegram": ["t0086", "t0091", "t0093", "t0098", "t0120"],
    "demo_fb_group": ["f0002", "f0010", "f0024", "f0039", "f0044"],
}
