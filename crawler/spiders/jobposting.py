"""Any site that embeds schema.org ``JobPosting`` (JSON-LD or microdata), read with ``extruct``.

One generic spider serves every such board: it reads the postings on each page it visits and
follows links that match the source's ``follow`` pattern (detail pages) and next-page links
(``rel`` containing ``next``: SEEK/Jobstreet write ``rel="nofollow next"``; or the ``next_page``
selector). Boards without JobPosting are read three more ways, on listing and job pages alike:
listing cards (``listing_item`` with ``listing_title`` … selectors: SEEK's ``article[data-card-type]``,
LinkedIn's guest ``div.base-card``), the app state the page renders from (``embedded``: Next.js
``__NEXT_DATA__``, Apollo state), and the registry's ``title``/``text`` selectors.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import extruct
import scrapy
from scrapy.http import Response

from crawler.incremental import fingerprint
from crawler.items import JobAd
from crawler.sources import SourceConfig
from crawler.spiders.base import PatrolSpider, image_urls, og_images, select, text_of
from crawler.structured import article_facts, embedded_state, map_records, page_selector
from patroli.text.dates import parse_iso_date

NEXT_PAGE = 'a[rel~="next"]::attr(href), link[rel~="next"]::attr(href)'


def _types(item: dict[str, Any]) -> list[str]:
    value = item.get("@type") or item.get("type") or []
    values = value if isinstance(value, list) else [value]
    return [str(v).rsplit("/", 1)[-1] for v in values]


def iter_jobpostings(data: Any) -> Iterator[dict[str, Any]]:
    """Walk extruct output (lists, @graph, nested items) and yield every JobPosting."""
    if isinstance(data, list):
        for value in data:
            yield from iter_jobpostings(value)
    elif isinstance(data, dict):
        if "JobPosting" in _types(data):
            yield data.get("properties", data) if "properties" in data else data
            return
        for value in data.values():
            if isinstance(value, (list, dict)):
                yield from iter_jobpostings(value)


def _name(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or value.get("properties", {}).get("name") or "")
    if isinstance(value, list):
        return ", ".join(n for n in (_name(v) for v in value) if n)
    return str(value or "")


def _place(location: Any) -> tuple[str, str]:
    """(human-readable place, country code) from jobLocation."""
    locations = location if isinstance(location, list) else [location]
    places, countries = [], []
    for loc in locations:
        if not isinstance(loc, dict):
            continue
        address = loc.get("address", loc)
        if isinstance(address, dict):
            country = address.get("addressCountry", "")
            country = _name(country) if isinstance(country, dict) else str(country or "")
            parts = [address.get("addressLocality"), address.get("addressRegion"), country]
            places.append(", ".join(str(p) for p in parts if p))
            countries.append(country)
        elif address:
            places.append(str(address))
    return "; ".join(places), (countries[0] if countries else "")


def _images(value: Any) -> list[str]:
    """schema.org ``image``: a URL, an ImageObject (``url``/``contentUrl``), or a list of them."""
    values = value if isinstance(value, list) else [value]
    urls = []
    for item in values:
        if isinstance(item, dict):
            item = (
                item.get("url") or item.get("contentUrl") or item.get("properties", {}).get("url")
            )
        if isinstance(item, str):
            urls.append(item)
    return urls


def _salary(base: Any) -> str:
    if not isinstance(base, dict):
        return str(base or "")
    currency = base.get("currency", "")
    value = base.get("value", {})
    if isinstance(value, dict):
        unit = value.get("unitText", "")
        if "minValue" in value or "maxValue" in value:
            amount = f"{value.get('minValue', '')}-{value.get('maxValue', '')}".strip("-")
        else:
            amount = str(value.get("value", ""))
        return " ".join(p for p in (currency, amount, f"/{unit}" if unit else "") if p)
    return f"{currency} {value}".strip()


class JobPostingMixin:
    """Reading ad pages as schema.org JobPosting, with the registry's selectors as a fallback."""

    source: SourceConfig

    def extract_postings(self: Any, response: Response) -> Iterator[dict[str, Any]]:
        try:
            data = extruct.extract(
                response.text,
                base_url=response.url,
                syntaxes=["json-ld", "microdata"],
                uniform=True,
                errors="log",
            )
        except Exception:  # a malformed page must not stop the crawl; count it and move on
            self.stat("jobposting/unparseable_pages")
            self.logger.warning("could not read structured data on %s", response.url, exc_info=True)
            return
        yield from iter_jobpostings(data.get("json-ld", []))
        yield from iter_jobpostings(data.get("microdata", []))

    def make_posting_ad(
        self: Any, posting: dict[str, Any], response: Response, native_id: str | None = None
    ) -> JobAd:
        identifier = posting.get("identifier")
        native = identifier.get("value") if isinstance(identifier, dict) else identifier
        named = str(posting.get("url") or "").strip()
        # The URL as the listing names it, absolute; a javascript: URL stays itself (its id).
        with contextlib.suppress(ValueError):
            named = response.urljoin(named) if named else response.url
        # The id announced by the listing wins, so that incremental crawling can recognise the job
        # before downloading it; otherwise the posting's own identifier, else its URL.
        native = native_id or native
        place, country = _place(posting.get("jobLocation"))
        return self.make_ad(
            native_id=str(native or named),
            url=self.ad_url(response, named),  # never a javascript: URL
            title=str(posting.get("title") or ""),
            text=str(posting.get("description") or ""),
            posted_at=parse_iso_date(str(posting.get("datePosted") or "")),
            author=_name(posting.get("hiringOrganization")) or _name(posting.get("author")),
            location=place,
            salary_text=_salary(posting.get("baseSalary")),
            html=self.snapshot(response.text),
            image_urls=image_urls(response, [*_images(posting.get("image")), *og_images(response)]),
            extra={
                "country": country,
                "employment_type": posting.get("employmentType"),
                "valid_through": posting.get("validThrough"),
            },
        )

    def embedded_ads(self: Any, response: Response, native_id: str | None = None) -> list[JobAd]:
        """Ads from the app state the page renders from (the source's ``embedded`` map)."""
        spec = self.source.embedded
        if not spec:
            return []
        state = embedded_state(page_selector(response), str(spec.get("script", "__NEXT_DATA__")))
        if state is None:
            return []
        ads = []
        records = map_records(state, spec)
        for record in records:
            url = response.urljoin(record["url"]) if record.get("url") else response.url
            native = (native_id if len(records) == 1 else None) or record.get("native_id") or url
            posted = record.get("posted", "")
            ads.append(
                self.make_ad(
                    native_id=str(native),
                    url=url,
                    title=record.get("title", ""),
                    text=record.get("text") or record.get("title", ""),
                    posted_at=parse_iso_date(posted),
                    author=record.get("author", ""),
                    location=record.get("location", ""),
                    salary_text=record.get("price", ""),
                    html=self.snapshot(record.get("_record", "")),
                    extra={
                        "posted_text": posted,
                        "from_embedded_state": spec.get("script", "__NEXT_DATA__"),
                    },
                )
            )
        if ads:
            self.stat("jobposting/embedded_state_ads", len(ads))
        return ads

    def parse_ad_page(self: Any, response: Response) -> Iterator[JobAd]:
        """An ad page: its JobPostings, else the app state it renders from, else the registry's
        title/text selectors (with the page's JSON-LD Article facts), else a layout change."""
        self.stat("detail_pages")
        if (partial := self.refused_page(response)) is not None:
            yield from partial
            return
        facts = self.page_facts(response)
        native_id = facts.pop("native_id")
        postings = list(self.extract_postings(response))
        article = article_facts(page_selector(response)) if postings else {}
        for posting in postings:
            ad = self.make_posting_ad(
                posting, response, native_id=native_id if len(postings) == 1 else None
            )
            ad.author = ad.author or article.get("author", "")
            ad.extra.update(facts)
            yield self.complete_from_card(ad, response)
        if postings:
            return
        if embedded := self.embedded_ads(response, native_id):
            for ad in embedded:
                ad.extra.update(facts)
                yield self.complete_from_card(ad, response)
            return
        readable = self.source.selectors.get("title") or self.source.selectors.get("text")
        if not readable and (card := response.meta.get("patroli_card")):
            # No way to read the page itself: what its listing card said stays.
            self.layout_changed(response, "schema.org JobPosting or embedded state")
            self.stat("partial_ads")
            yield self.card_ad(card, partial=True)
            return
        if ad := self.ad_from_selectors(
            response, "schema.org JobPosting or the title/text selectors"
        ):
            yield ad
        elif card := response.meta.get("patroli_card"):
            self.stat("partial_ads")
            yield self.card_ad(card, partial=True)


class JobPostingSpider(JobPostingMixin, PatrolSpider):
    name = "jobposting_site"
    kind = "jobposting_site"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.source.start_urls:
            if request := self.listing_request(url, self.parse_listing, page=1):
                yield request

    def listing_complete(self) -> bool:
        return not self.truncated and not self.listing_failures and not self.degraded_urls

    def parse_listing(self, response: Response, page: int = 1) -> Iterator[JobAd | scrapy.Request]:
        """A listing page: postings embedded in it, listing cards, the app state it renders from,
        links to job pages, and the next page."""
        if self.refused(response):
            return
        postings = list(self.extract_postings(response))
        for posting in postings:
            yield self.make_posting_ad(posting, response)
        follow = re.compile(self.source.follow) if self.source.follow else None
        links = 0
        cards = 0
        if not postings and self.source.selectors.get("listing_item"):
            for request_or_ad in self.listing_cards(response, follow):
                cards += 1
                yield request_or_ad
        if not postings and not cards:
            for ad in self.embedded_ads(response):
                cards += 1
                yield ad
        for link in response.css("a[href]") if not cards else []:
            href = link.attrib["href"]
            if not (follow and follow.search(href)):
                continue
            url = self.link(response, href)
            if url is None or url in self.visited_listings:
                continue
            self.visited_listings.add(url)
            links += 1
            # The card around the link is what the listing says about the job.
            card = link.xpath("ancestor::*[self::article or self::li or self::tr][1]") or [link]
            if request := self.detail_request(
                url, self.job_id(url), fingerprint(url, text_of(card)), self.parse_job
            ):
                yield request
        empty = self.source.selectors.get("empty") or ".empty-state, [data-empty]"
        if not postings and not links and not cards and not select(response, empty):
            self.layout_changed(response, "job links or JobPosting data")
        next_query = self.source.selectors.get("next_page") or NEXT_PAGE
        next_page = select(response, next_query).get()
        if next_page and (next_url := self.link(response, next_page)):
            if self.source.max_pages and page >= self.source.max_pages:
                self.truncated = True
            elif request := self.listing_request(next_url, self.parse_listing, page=page + 1):
                yield request

    def listing_cards(
        self, response: Response, follow: re.Pattern[str] | None
    ) -> Iterator[JobAd | scrapy.Request]:
        """Each listing card: its job page requested (the card kept as a partial ad if the page
        cannot be had), or, when the source follows no job pages, the card itself as the ad."""
        sel = self.source.selectors
        for card in select(response, sel["listing_item"]):
            href = select(card, sel.get("listing_link", "a::attr(href)")).get()
            if not href:
                self.stat("jobposting/cards_without_link")
                continue
            url = response.urljoin(href)
            native_id = self.job_id(url)
            facts = self.card_facts(card, url, native_id)
            if follow is not None and follow.search(href) and url not in self.visited_listings:
                self.visited_listings.add(url)
                if request := self.detail_request(
                    url, native_id, fingerprint(url, text_of([card])), self.parse_job, card=facts
                ):
                    yield request
            else:
                ad = self.card_ad(facts, partial=True)
                ad.posted_at = parse_iso_date(facts["posted"]) or ad.posted_at
                yield ad

    def job_id(self, url: str) -> str:
        """The id a job page will have: the site's id in the URL if the registry says where, else the URL."""
        return self.native_id_from_url(url, self.source.selectors.get("native_id"))

    def parse_job(self, response: Response) -> Iterator[JobAd]:
        yield from self.parse_ad_page(response)

    # Kept for spiders and tests that hand any page to one callback.
    def parse_page(
        self, response: Response, page: int = 1, listing: bool = False
    ) -> Iterator[JobAd | scrapy.Request]:
        if listing:
            yield from self.parse_listing(response, page)
        else:
            yield from self.parse_job(response)
