"""Any site that embeds schema.org ``JobPosting`` (JSON-LD or microdata), read with ``extruct``.

One generic spider serves every such board: it reads the postings on each page it visits and
follows links that match the source's ``follow`` pattern (detail pages) and ``rel=next`` links.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import extruct
import scrapy
from scrapy.http import Response

from crawler.incremental import fingerprint
from crawler.items import JobAd
from crawler.sources import SourceConfig
from crawler.spiders.base import PatrolSpider, text_of
from patroli.text.dates import parse_iso_date


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
        url = str(posting.get("url") or response.url)
        # The id announced by the listing wins, so that incremental crawling can recognise the job
        # before downloading it; otherwise the posting's own identifier, else its URL.
        native = native_id or native
        place, country = _place(posting.get("jobLocation"))
        return self.make_ad(
            native_id=str(native or url),
            url=response.urljoin(url),
            title=str(posting.get("title") or ""),
            text=str(posting.get("description") or ""),
            posted_at=parse_iso_date(str(posting.get("datePosted") or "")),
            author=_name(posting.get("hiringOrganization")),
            location=place,
            salary_text=_salary(posting.get("baseSalary")),
            html=self.snapshot(response.text),
            extra={
                "country": country,
                "employment_type": posting.get("employmentType"),
                "valid_through": posting.get("validThrough"),
            },
        )

    def parse_ad_page(self: Any, response: Response) -> Iterator[JobAd]:
        """An ad page: its JobPostings, else the registry's title/text selectors, else a layout change."""
        self.stat("detail_pages")
        facts = self.page_facts(response)
        native_id = facts.pop("native_id")
        postings = list(self.extract_postings(response))
        for posting in postings:
            ad = self.make_posting_ad(
                posting, response, native_id=native_id if len(postings) == 1 else None
            )
            ad.extra.update(facts)
            yield ad
        if postings:
            return
        if ad := self.ad_from_selectors(
            response, "schema.org JobPosting or the title/text selectors"
        ):
            yield ad


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
        """A listing page: postings embedded in it, links to job pages, and the next page."""
        postings = list(self.extract_postings(response))
        for posting in postings:
            yield self.make_posting_ad(posting, response)
        follow = re.compile(self.source.follow) if self.source.follow else None
        links = 0
        for link in response.css("a[href]"):
            href = link.attrib["href"]
            if not (follow and follow.search(href)):
                continue
            url = response.urljoin(href)
            if url in self.visited_listings:
                continue
            self.visited_listings.add(url)
            links += 1
            # The card around the link is what the listing says about the job.
            card = link.xpath("ancestor::*[self::article or self::li or self::tr][1]") or [link]
            yield self.detail_request(
                url, self.job_id(url), fingerprint(url, text_of(card)), self.parse_job
            )
        if not postings and not links and not response.css(".empty-state, [data-empty]"):
            self.layout_changed(response, "job links or JobPosting data")
        next_page = response.css('a[rel="next"]::attr(href), link[rel="next"]::attr(href)').get()
        if next_page:
            if self.source.max_pages and page >= self.source.max_pages:
                self.truncated = True
            elif request := self.listing_request(
                response.urljoin(next_page), self.parse_listing, page=page + 1
            ):
                yield request

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
