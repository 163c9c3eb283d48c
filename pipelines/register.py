"""RegisterCheckPipeline: the licensed-agency register's findings on each scored ad.

Runs after classification (``ITEM_PIPELINES`` 450): the register (``patroli agencies import``) is
read from the store once when the crawl opens, in a thread; each ad is then checked with dictionary
look-ups (``patroli.agencies.check``): licensed agency with matching contacts (lowers risk), a
licence number not in the register, expired or revoked, a licensed name with other contacts
(impersonation), no job order for the destination (raise it). The model is not touched: the risk
moves in log-odds and the flag is recomputed at the model's own threshold.

Settings: ``PATROLI_REGISTER_CHECK_ENABLED``, ``PATROLI_STORE_URL``, ``PATROLI_LANGUAGE``. Without
an imported register the step passes ads through unchanged. Stats: ``patroli/register/<finding>``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Self

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector

from crawler.items import JobAd
from patroli.agencies.check import RegisterSnapshot, apply_check, check
from patroli.config.table import (
    PATROLI_LANGUAGE,
    PATROLI_REGISTER_CHECK_ENABLED,
    PATROLI_STORE_URL,
)
from patroli.storage import StoreError, open_store

logger = logging.getLogger(__name__)
_FIELDS = (
    "agency_names",
    "licence_numbers",
    "phones",
    "whatsapp",
    "telegram",
    "emails",
    "countries",
    "job_type",
    "title",
    "text",
    "risk",
    "risk_margin",
    "flagged",
    "reasons",
    "reason_codes",
    "agency_id",
    "register_import",
    "risky",
    "genre",
)


def load_snapshot(store_url: str) -> RegisterSnapshot | None:
    with open_store(store_url) as store:
        return RegisterSnapshot.from_store(store)


class RegisterCheckPipeline:
    def __init__(self, stats: StatsCollector, store_url: str, language: str) -> None:
        self.stats = stats
        self.store_url = store_url
        self.language = language
        self.snapshot: RegisterSnapshot | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not PATROLI_REGISTER_CHECK_ENABLED.from_settings(settings):
            raise NotConfigured("PATROLI_REGISTER_CHECK_ENABLED is off")
        assert crawler.stats is not None  # noqa: S101 - Scrapy sets it before components
        return cls(
            crawler.stats,
            PATROLI_STORE_URL.from_settings(settings),
            PATROLI_LANGUAGE.from_settings(settings),
        )

    async def open_spider(self) -> None:
        try:
            self.snapshot = await asyncio.to_thread(load_snapshot, self.store_url)
        except StoreError as exc:  # the store pipeline reports an unreachable store itself
            logger.warning("register not read (%s); ads are stored without the register check", exc)
            return
        if self.snapshot is None:
            logger.info("no agency register imported (`patroli agencies import`): check skipped")
        else:
            self.stats.set_value(
                "patroli/register/import", self.snapshot.import_record.get("import_id")
            )

    def process_item(self, item: JobAd) -> JobAd:
        if self.snapshot is None:
            return item
        ad = {name: getattr(item, name) for name in _FIELDS}
        result = check(ad, self.snapshot)
        apply_check(ad, result, self.snapshot, self.language)
        for name in (
            "risk",
            "risk_margin",
            "flagged",
            "risky",
            "reasons",
            "reason_codes",
            "agency_id",
            "register_import",
        ):
            setattr(item, name, ad[name])
        for code in result.codes:
            self.stats.inc_value(f"patroli/register/{code.split(':')[1].split('|')[0]}")
        return item
