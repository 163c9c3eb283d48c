"""The one record shape that flows from spiders through the pipelines to the store."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def make_ad_id(source: str, native_id: str) -> str:
    """Return a stable id, so that re-crawling the same ad updates one record instead of adding one."""
    return hashlib.sha256(f"{source}\x1f{native_id}".encode()).hexdigest()[:24]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class JobAd:
    """A job ad as one source shows it.

    Spiders fill the first block with what the page says and nothing inferred; pipelines fill the
    rest in ``ITEM_PIPELINES`` order (see ``pipelines/__init__.py``).
    """

    # --- filled by the spider: facts from the page ---
    source: str  # registry name of the source, e.g. "demo_classifieds"
    native_id: str  # the site's own id for the ad (post id, listing id), or its canonical URL
    url: str  # canonical URL of the ad
    text: str  # the ad's body as text (HTML allowed: the normalize pipeline turns it into text)
    title: str = ""
    posted_at: datetime | None = None  # tz-aware
    author: str = ""  # seller, poster or channel
    source_kind: str = ""  # telegram_channel, classifieds, jobposting_site, feed, ...
    location: str = ""  # as printed by the site
    salary_text: str = ""  # as printed by the site (price field, baseSalary)
    html: str = ""  # raw evidence: the HTML (or XML) fragment or page the ad was read from
    crawled_at: datetime = field(default_factory=utcnow)
    image_urls: list[str] = field(default_factory=list)  # images the ad shows (photos, flyers)
    extra: dict[str, Any] = field(
        default_factory=dict
    )  # source-specific facts (views, photos, ...)

    # --- filled by pipelines ---
    ad_id: str = ""
    # The images pipeline: per image {url, sha256, kind, width, height, phash, dhash, ..., ocr_text}
    # or {url, refused: reason}; the text read in them; their flyer look-up keys (patroli.images.bands).
    images: list[dict[str, Any]] = field(default_factory=list)
    image_text: str = ""
    image_keys: list[str] = field(default_factory=list)
    content_hash: str = ""
    phones: list[str] = field(default_factory=list)  # E.164
    whatsapp: list[str] = field(default_factory=list)  # E.164 numbers behind wa.me links
    telegram: list[str] = field(default_factory=list)  # @handles, lower-case
    emails: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)  # ISO 3166-1 alpha-2, destinations named
    salary_amount: float | None = None
    salary_currency: str = ""
    salary_period: str = ""
    fees: list[dict[str, Any]] = field(default_factory=list)  # [{"amount": 5e6, "currency": "IDR"}]
    risk: float | None = None  # calibrated probability of illegal placement
    flagged: bool = False  # risky and an ad (genre): what the review queue shows
    reasons: list[str] = field(default_factory=list)  # short, in the deployment's language
    reason_codes: list[str] = field(default_factory=list)  # language-neutral codes of the reasons
    risk_margin: float | None = None  # risk minus threshold: near 0 = the model is least sure
    risky: bool = False  # risk at or above the threshold, any genre (a report can be risky)
    genre: str | None = None  # ad, report or other, as the model reads the text
    lang: str | None = None  # ISO 639-1 code of the text's language; others than id/ms/en: no risk
    model_version: str = ""
    # the WARC record of the response the ad was read from: {file, offset, length, record_id,
    # digest} (crawler.warcarchive); empty when no WARC is written
    warc: dict[str, Any] = field(default_factory=dict)
    # leads (pipelines/extract.py) and the register check (pipelines/register.py)
    bank_accounts: list[str] = field(default_factory=list)  # "BRI:002101555123504"
    agency_names: list[str] = field(default_factory=list)  # "PT Sinar Jaya Abadi", as written
    licence_numbers: list[str] = field(default_factory=list)  # licence numbers the ad claims
    province: str = ""  # ISO 3166-2:ID code of the province the ad recruits in
    transit: list[str] = field(default_factory=list)  # exit towns and gateways on the route
    job_type: str = ""  # patroli.text.jobs code
    agency_id: str = ""  # the register entry the ad names (with matching contacts or not)
    register_import: str = ""  # the register import the check used
