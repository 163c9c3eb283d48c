"""The demo sites' content: ads read from ``patroli/demosites/data/*.jsonl``, dated relative to start-up.

The data files hold hand-written ads with ground-truth labels (``label``, ``kind``), which tests use
as known examples; the sites never show the labels.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"
# The fictional licensed-agency register (``patroli demo`` imports it) and the networks' ground truth.
DEMO_REGISTER = (
    ("licences", DATA_DIR / "register" / "p3mi_licences.csv"),
    ("sanctions", DATA_DIR / "register" / "p3mi_sanctions.csv"),
    ("job_orders", DATA_DIR / "register" / "p3mi_job_orders.csv"),
)
NETWORKS_TRUTH = DATA_DIR / "networks_truth.json"
TELEGRAM_FIRST_ID = 1000
PRIVATE_CHANNEL = (
    "rekrut_tertutup"  # a channel without a public preview (t.me redirects to /<name>)
)


def slugify(text: str, limit: int = 60) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "iklan"


def _read(name: str) -> list[dict[str, Any]]:
    path = DATA_DIR / f"{name}.jsonl"
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _views(n: int) -> str:
    """Telegram's compact view counts: 950, 1.2K, 12.5K, 1.1M."""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}".rstrip("0").rstrip(".") + "K"
    return f"{n / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"


@dataclass(slots=True)
class DemoData:
    now: datetime
    classifieds: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    telegram: dict[str, list[dict[str, Any]]] = field(
        default_factory=dict
    )  # channel -> oldest first
    feed: list[dict[str, Any]] = field(default_factory=list)  # newest first
    # A recruiter's own site cross-posts the job board's overseas vacancies (as agencies do).
    agency_posts: list[dict[str, Any]] = field(default_factory=list)
    # Flyers (``flyers.jsonl``): each is reposted, as an image, on several of the sites above.
    flyers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def all_records(self) -> list[dict[str, Any]]:
        posts = [p for channel in self.telegram.values() for p in channel]
        return self.classifieds + self.jobs + posts + self.feed


_FLYER_ID_BASE = {
    "pasarloka": ("c", 901),
    "tg": ("t", 901),
    "rss-bridge": ("f", 901),
    "kerjanusa": ("j", 901),
}
FLYER_IMAGE_PATH = {
    "pasarloka": "/pasarloka/media",
    "tg": "/tg/file",
    "rss-bridge": "/rss-bridge/media",
    "kerjanusa": "/kerjanusa/media",
}


def flyer_image_path(site: str, flyer_id: str, variant: str) -> str:
    return f"{FLYER_IMAGE_PATH[site]}/{flyer_id}-{variant}.jpg"


def _flyer_posts(data: DemoData, site: str) -> list[dict[str, Any]]:
    """The records of ``site`` that repost a flyer: the post's own fields, the flyer's image, its
    label and kind (the flyer's), and which flyer and variation it shows."""
    prefix, first = _FLYER_ID_BASE[site]
    records: list[dict[str, Any]] = []
    for flyer in data.flyers:
        for post in flyer["posts"]:
            if post["site"] != site:
                continue
            record = {k: v for k, v in post.items() if k not in ("site", "variant", "caption")}
            record.update(
                id=f"{prefix}{first + len(records):04d}",
                flyer=flyer["id"],
                variant=post["variant"],
                label=flyer["label"],
                kind=flyer["kind"],
                destination=flyer["destination"],
                images=[flyer_image_path(site, flyer["id"], post["variant"])],
            )
            if site == "pasarloka":
                record["category"] = "lowongan-kerja"
            elif site == "tg":
                record.update(
                    text=post.get("caption", ""),
                    views=300 + 17 * len(records),
                    forwarded_from="",
                    photo=True,
                )
            elif site == "rss-bridge":
                record.update(text=post.get("caption", ""), title="", author="Anggota grup")
            elif site == "kerjanusa":
                record.update(salary_min=None, salary_max=None, currency="", unit="")
            records.append(record)
    return records


def load_demo_data(now: datetime | None = None) -> DemoData:
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    data = DemoData(now=now)
    data.flyers = _read("flyers")
    for record in [*_read("classifieds"), *_flyer_posts(data, "pasarloka")]:
        record["slug"] = slugify(record["title"])
        record["path"] = f"/pasarloka/item/{record['slug']}-iid-{record['id'].lstrip('c')}"
        data.classifieds.append(record)
    for record in _read("jobboard"):
        record["slug"] = slugify(record["title"])
        record["path"] = f"/kerjanusa/lowongan/{record['id']}-{record['slug']}"
        record["date_posted"] = (now - timedelta(days=record["days_ago"])).date().isoformat()
        record["valid_through"] = (
            now + timedelta(days=record["valid_days"] - record["days_ago"])
        ).isoformat()
        data.jobs.append(record)
    flyer_jobs = _flyer_posts(data, "kerjanusa")
    for record in flyer_jobs:
        record["slug"] = slugify(record["title"])
        record["path"] = f"/kerjanusa/lowongan/{record['id']}-{record['slug']}"
        record["date_posted"] = (now - timedelta(days=record["days_ago"])).date().isoformat()
        record["valid_through"] = (
            now + timedelta(days=record["valid_days"] - record["days_ago"])
        ).isoformat()
        data.jobs.append(record)
    for job in data.jobs:
        if job["country"] != "ID":
            post = dict(job)
            post["agency_slug"] = f"lowongan-{job['slug']}-{job['id'][1:]}"
            post["lastmod"] = (now - timedelta(days=job["days_ago"])).isoformat()
            data.agency_posts.append(post)
    for record in [*_read("telegram"), *_flyer_posts(data, "tg")]:
        channel = data.telegram.setdefault(record["channel"], [])
        record["post_id"] = TELEGRAM_FIRST_ID + len(channel)
        if record.get("photo") and not record.get("images"):
            record["images"] = [f"/tg/file/photo-{record['channel']}-{record['post_id']}.jpg"]
        record["date"] = now - timedelta(hours=record["hours_ago"])
        record["views_text"] = _views(record["views"])
        channel.append(record)
    for record in [*_read("feed"), *_flyer_posts(data, "rss-bridge")]:
        record["date"] = now - timedelta(hours=record["hours_ago"])
        data.feed.append(record)
    data.feed.sort(key=lambda r: r["date"], reverse=True)
    return data
