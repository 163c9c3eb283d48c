"""ExtractEntitiesPipeline: the contacts, places and money in an ad, via ``crawler.extract``.

Phones become E.164 (investigators link recruiters across sites by them), Telegram handles and
e-mails are lower-cased, destinations become ISO country codes, and amounts are split into the
salary offered and the fees asked of the worker.
"""

from __future__ import annotations

from typing import Self

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from crawler.extract import (
    classify_money,
    extract_countries,
    extract_emails,
    extract_links,
    extract_phones,
    extract_telegram_handles,
    extract_whatsapp,
)
from crawler.items import JobAd


def extract_entities(item: JobAd) -> JobAd:
    """Fill the entity fields of ``item`` from its title, text and site fields (pure, no I/O)."""
    text = f"{item.title}\n{item.text}"
    item.phones = extract_phones(text)
    item.whatsapp = extract_whatsapp(text + " " + " ".join(item.extra.get("links", [])))
    item.telegram = extract_telegram_handles(text + " " + " ".join(item.extra.get("links", [])))
    channel = item.extra.get("channel")
    if channel:  # the channel's own name is where the ad was seen, not a contact in it
        item.telegram = [h for h in item.telegram if h != f"@{channel.lower()}"]
    item.emails = extract_emails(text)
    item.links = list(dict.fromkeys([*extract_links(text), *item.extra.get("links", [])]))
    countries = extract_countries(f"{text}\n{item.location}")
    site_country = str(item.extra.get("country") or "").upper()
    if len(site_country) == 2 and site_country != "ID" and site_country not in countries:
        countries.insert(0, site_country)
    item.countries = countries
    salary, fees = classify_money(f"{item.salary_text}\n{text}" if item.salary_text else text)
    if salary:
        item.salary_amount, item.salary_currency, item.salary_period = (
            salary.amount,
            salary.currency,
            salary.period,
        )
    item.fees = [{"amount": fee.amount, "currency": fee.currency} for fee in fees]
    return item


class ExtractEntitiesPipeline:
    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None  # noqa: S101 - Scrapy sets it before components
        return cls(crawler.stats)

    def process_item(self, item: JobAd) -> JobAd:
        extract_entities(item)
        # Coverage counters: a source whose ads suddenly have no contacts has probably changed.
        if item.phones or item.whatsapp or item.telegram or item.emails:
            self.stats.inc_value("patroli/extract/with_contact")
        if item.posted_at:
            self.stats.inc_value("patroli/extract/with_date")
        if item.countries:
            self.stats.inc_value("patroli/extract/with_country")
        return item
