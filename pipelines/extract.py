"""ExtractEntitiesPipeline: the contacts, places and money in an ad, via ``patroli.text``.

Phones become E.164 (investigators link recruiters across sites by them), Telegram handles and
e-mails are lower-cased, destinations become ISO country codes, and amounts are split into the
salary offered and the fees asked of the worker. Leads: bank accounts (``BANK:DIGITS``), the agency
names (``PT …``) and licence numbers an ad prints, the province it recruits in, the transit points
of its route and its kind of work. Runs in batches in worker processes
(``pipelines.offload``); when the classify step is on, the same worker call also scores the ads
(``extract_and_score``: one round trip per batch instead of two, which the
classify step then finds done). Settings: ``PATROLI_WORKERS``, ``PATROLI_EXTRACT_BATCH_SIZE``,
``PATROLI_BATCH_DELAY``.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from crawler.items import JobAd
from patroli.config.table import PATROLI_BATCH_DELAY, PATROLI_EXTRACT_BATCH_SIZE, PATROLI_WORKERS
from patroli.text.agencies import extract_agency_names, extract_licence_numbers
from patroli.text.banks import extract_bank_accounts
from patroli.text.contacts import extract_emails, extract_links, extract_telegram_handles
from patroli.text.jobs import job_type
from patroli.text.money import classify_money
from patroli.text.phones import extract_phones, extract_whatsapp
from patroli.text.places import HOME_COUNTRY, extract_countries
from patroli.text.regions import extract_province, extract_transit
from pipelines.offload import MicroBatcher, OffloadingPipeline, WorkerPool, run_in

logger = logging.getLogger(__name__)


WARM_UP_PAYLOAD = {
    "title": "Loker Kamboja",
    "text": "Admin CS Phnom Penh gaji 1.200 USD, biaya 5 jt, WA 0812-5551-2345",
    "salary_text": "",
    "location": "",
    "links": ["https://wa.me/6281255512345"],
    "channel": "",
    "site_country": "",
}


def entity_payload(item: JobAd) -> dict[str, Any]:
    """What extraction reads from an item: small and picklable, to send to a worker."""
    return {
        "title": item.title,
        "text": item.text,
        "salary_text": item.salary_text,
        "location": item.location,
        "links": list(item.extra.get("links", [])),
        "channel": item.extra.get("channel") or "",
        "site_country": str(item.extra.get("country") or ""),
        "image_text": item.image_text,  # what a flyer says counts like the caption
    }


def entities_for(payload: dict[str, Any]) -> dict[str, Any]:
    """The entity fields of one ad (pure: same payload, same result)."""
    text = f"{payload['title']}\n{payload['text']}"
    if payload.get("image_text"):
        text += f"\n\n{payload['image_text']}"
    links = " ".join(payload["links"])
    telegram = extract_telegram_handles(f"{text} {links}")
    if payload["channel"]:  # the channel an ad was seen in is not a contact in it
        telegram = [h for h in telegram if h != f"@{payload['channel'].lower()}"]
    countries = extract_countries(f"{text}\n{payload['location']}")
    site_country = payload["site_country"].upper()
    if len(site_country) == 2 and site_country != HOME_COUNTRY and site_country not in countries:
        countries.insert(0, site_country)
    salary, fees = classify_money(
        f"{payload['salary_text']}\n{text}" if payload["salary_text"] else text
    )
    return {
        "phones": extract_phones(text),
        "whatsapp": extract_whatsapp(f"{text} {links}"),
        "telegram": telegram,
        "emails": extract_emails(text),
        "links": list(dict.fromkeys([*extract_links(text), *payload["links"]])),
        "countries": countries,
        "salary_amount": salary.amount if salary else None,
        "salary_currency": salary.currency if salary else "",
        "salary_period": salary.period if salary else "",
        "fees": [{"amount": fee.amount, "currency": fee.currency} for fee in fees],
        "bank_accounts": extract_bank_accounts(text),
        "agency_names": extract_agency_names(text),
        "licence_numbers": extract_licence_numbers(text),
        "province": extract_province(payload["location"], text) or "",
        "transit": extract_transit(text),
        "job_type": job_type(text),
    }


def extract_and_score(
    payloads: list[dict[str, Any]], model_dir: str, language: str
) -> list[tuple[dict[str, Any], Any]]:
    """In a worker: entities and scores (``pipelines.classify.Scored``) of a batch in one call (one
    round trip instead of two)."""
    from classifiers.datasets import model_text
    from pipelines.classify import score_batch

    texts = [model_text(p["title"], p["text"], p.get("image_text")) for p in payloads]
    return list(
        zip(entities_for_batch(payloads), score_batch(model_dir, texts, language), strict=True)
    )


def entities_for_batch(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entities_for(p) for p in payloads]


class ExtractEntitiesPipeline(OffloadingPipeline):
    def __init__(
        self,
        stats: StatsCollector,
        workers: int,
        batch_size: int,
        batch_delay: float = PATROLI_BATCH_DELAY.default_value(),
        crawler: Crawler | None = None,
    ) -> None:
        self.crawler = crawler
        self.combined: MicroBatcher[dict[str, Any], Any] | None = None
        self.stats = stats
        self.workers = workers
        self.batch_size = batch_size
        self.batch_delay = batch_delay
        self.executor: Executor | None = None
        self.batcher: MicroBatcher[dict[str, Any], dict[str, Any]] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None  # noqa: S101 - Scrapy sets it before components
        settings = crawler.settings
        return cls(
            crawler.stats,
            workers=PATROLI_WORKERS.from_settings(settings),
            batch_size=PATROLI_EXTRACT_BATCH_SIZE.from_settings(settings),
            batch_delay=PATROLI_BATCH_DELAY.from_settings(settings),
            crawler=crawler,
        )

    async def open_spider(self) -> None:
        executor = self.executor = WorkerPool.acquire(self.workers)

        async def process(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return await run_in(executor, entities_for_batch, payloads)

        self.batcher = MicroBatcher.shared("extract", process, self.batch_size, self.batch_delay)
        # Phone metadata and regexes load on first use: pay that before the first page arrives.
        await run_in(executor, entities_for_batch, [WARM_UP_PAYLOAD])

    async def close_spider(self) -> None:
        if self.combined is not None:
            await self.combined.drain()
        await super().close_spider()

    def scoring(self) -> Any:
        """The crawl's classify step when it can score in the extraction call, else None."""
        classify = getattr(self.crawler, "patroli_classify", None)
        if classify is None or classify.batcher is None or self.executor is None:
            return None
        if self.combined is None:
            executor, model_dir, language = self.executor, classify.model_dir, classify.language

            async def process(payloads: list[dict[str, Any]]) -> list[Any]:
                return await run_in(executor, extract_and_score, payloads, model_dir, language)

            key = ("extract+score", model_dir, language)
            self.combined = MicroBatcher.shared(key, process, self.batch_size, self.batch_delay)
        return classify

    async def process_item(self, item: JobAd) -> JobAd:
        assert self.batcher is not None  # noqa: S101 - open_spider ran
        try:
            classify = self.scoring()
            if classify is not None and self.combined is not None:
                entities, score = await self.combined.submit(entity_payload(item))
                classify.score_in_place(item, score)
            else:
                entities = await self.batcher.submit(entity_payload(item))
        except Exception:  # a broken worker must not cost the entities: do it here instead
            logger.exception(
                "extraction worker failed for %s; extracting in the crawl process", item.url
            )
            self.stats.inc_value("patroli/extract/worker_failed")
            entities = entities_for(entity_payload(item))
        for key, value in entities.items():
            setattr(item, key, value)
        # Coverage counters: a source whose ads suddenly have no contacts has probably changed.
        if item.phones or item.whatsapp or item.telegram or item.emails:
            self.stats.inc_value("patroli/extract/with_contact")
        if item.posted_at:
            self.stats.inc_value("patroli/extract/with_date")
        if item.countries:
            self.stats.inc_value("patroli/extract/with_country")
        return item
