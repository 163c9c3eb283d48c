"""The ready templates of platforms with NO real page saved publicly (OLX, Jobstreet/SEEK, Glints,
LinkedIn guest, Facebook login walls): their mechanics on small pages written by the team after the
platforms' observed structure (see tests/fixtures/real/FINDINGS.md). These pages are NOT real
pages and prove the spider's handling of the structure, not that the platform still serves it.

Also here: partial ads from listing cards, and the exit code of a layout change.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

from scrapy import Request
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.items import JobAd
from crawler.monitors import MonitorSettings, apply_checks, run_checks
from crawler.runs import summarize
from crawler.sources import SourceConfig, load_registry
from crawler.spiders import SPIDER_BY_KIND, PatrolSpider
from patroli.cli.patrol import print_summary
from tests.helpers.realsite import swap_base

LOCAL = "http://platform.test"


def template(name: str, origin: str, **changes: Any) -> SourceConfig:
    return swap_base(load_registry().get(name), {origin: LOCAL}, **changes)


def spider_of(source: SourceConfig) -> PatrolSpider:
    cls = SPIDER_BY_KIND[source.kind]
    return cls.from_crawler(get_crawler(cls, {}), source=source)


def page(url: str, body: str, status: int = 200, meta: dict[str, Any] | None = None) -> Response:
    request = Request(url, meta=meta or {})
    if body.lstrip().startswith("{"):
        return TextResponse(
            url=url, body=body.encode(), encoding="utf-8", status=status, request=request
        )
    return HtmlResponse(
        url=url, body=body.encode(), encoding="utf-8", status=status, request=request
    )


def split(output: Any) -> tuple[list[JobAd], list[Request]]:
    items = list(output)
    return [i for i in items if isinstance(i, JobAd)], [i for i in items if isinstance(i, Request)]


def stats(spider: PatrolSpider) -> dict[str, Any]:
    assert spider.crawler.stats is not None
    return spider.crawler.stats.get_stats()


# Team-written, after OLX's search API as public scrapers read it (data[], metadata.next_page_url).
OLX_PAGE = {
    "data": [
        {
            "id": "912345678",
            "title": "Dicari ART ke Taiwan",
            "description": "Gaji 8 jt, berangkat cepat",
            "price": {"value": {"raw": 8000000, "display": "Rp 8.000.000"}},
            "locations_resolved": {"ADMIN_LEVEL_3_name": "Malang"},
            "created_at": "2026-11-20T08:00:00+07:00",
            "user_id": "u42",
        },
        {
            "id": "912345679",
            "title": "Lowongan pabrik Malaysia",
            "description": "Tanpa biaya",
            "price": {"value": {"display": "Rp 6.500.000"}},
            "locations_resolved": {"ADMIN_LEVEL_3_name": "Blitar"},
            "created_at": "2026-11-21T09:30:00+07:00",
            "user_id": "u43",
        },
    ],
    "metadata": {"next_page_url": f"{LOCAL}/api/relevance/v4/search?category=4&page=1"},
}


def test_olx_template_pages_through_the_json_search_api() -> None:
    source = template("tpl_olx_id_lowongan", "https://www.olx.co.id")
    spider = spider_of(source)
    (first_url, *search_urls) = spider.api_start_urls()
    assert first_url.startswith(f"{LOCAL}/api/relevance/v4/search?category=4")
    assert "page=0" in first_url
    assert any("query=TKW" in u and "page=0" in u for u in search_urls)
    ads, requests = split(spider.parse_api(page(first_url, json.dumps(OLX_PAGE)), page=1))
    assert [a.native_id for a in ads] == ["912345678", "912345679"]
    assert ads[0].url == f"{LOCAL}/item/iid-912345678"  # the template's item URL, origin swapped
    assert (ads[0].title, ads[0].salary_text, ads[0].location, ads[0].author) == (
        "Dicari ART ke Taiwan",
        "Rp 8.000.000",
        "Malang",
        "u42",
    )
    assert ads[0].posted_at == datetime(2026, 11, 20, 1, tzinfo=UTC)
    assert ads[0].extra["from_api"] is True
    assert [r.url for r in requests] == [OLX_PAGE["metadata"]["next_page_url"]]
    # An empty page ends the paging; an answer without the records is a layout change.
    empty = {"data": [], "metadata": {}}
    assert split(spider.parse_api(page(requests[0].url, json.dumps(empty)), page=2)) == ([], [])
    assert not stats(spider).get("patroli/layout_changed")
    split(spider.parse_api(page(first_url + "&x", json.dumps({"error": "moved"})), page=1))
    assert stats(spider)["patroli/layout_changed"] == 1


def test_olx_template_pages_by_number_when_the_answer_names_no_next_page() -> None:
    spider = spider_of(template("tpl_olx_id_lowongan", "https://www.olx.co.id", max_pages=2))
    first_url = spider.api_start_urls()[0]
    no_next = {"data": OLX_PAGE["data"]}
    _, requests = split(spider.parse_api(page(first_url, json.dumps(no_next)), page=1))
    assert [r.url for r in requests] == [first_url.replace("page=0", "page=1")]
    _, requests = split(spider.parse_api(page(requests[0].url, json.dumps(no_next)), page=2))
    assert requests == []
    assert spider.truncated


# Team-written, after SEEK's search markup (seen in an unlicensed public fixture, not copied).
SEEK_LISTING = """<html><body>
<article data-card-type="JobCard"><a data-automation="jobTitle" href="/id/job/81234567?type=standard">Admin Kamboja</a>
<a data-automation="jobCompany">PT Contoh</a><span data-automation="jobLocation">Jakarta</span>
<span data-automation="jobSalary">Rp 18.000.000</span><span data-automation="jobListingDate">2 hari yang lalu</span>
<span data-automation="jobShortDescription">Gaji besar, tiket ditanggung</span></article>
<a href="/id/kerja-luar-negeri-jobs?page=2" rel="nofollow next">Berikutnya</a></body></html>"""


def test_jobstreet_template_cards_partial_ads_and_nofollow_next() -> None:
    spider = spider_of(template("tpl_jobstreet_id", "https://id.jobstreet.com"))
    listing = page(f"{LOCAL}/id/kerja-luar-negeri-jobs", SEEK_LISTING)
    _ads, requests = split(spider.parse_listing(listing))
    detail, next_page = requests
    assert next_page.url == f"{LOCAL}/id/kerja-luar-negeri-jobs?page=2"  # rel="nofollow next"
    assert detail.url == f"{LOCAL}/id/job/81234567?type=standard"
    assert detail.meta["patroli_ad"]["native_id"] == "81234567"
    # The job page fails: the card stays, as a partial ad with what it said.
    failure = Failure(HttpError(page(detail.url, "gone", status=404, meta=detail.meta)))
    failure.request = detail  # type: ignore[attr-defined]
    (partial,) = spider.detail_failed(failure)
    assert partial.extra["partial"] is True
    assert (partial.title, partial.author, partial.location, partial.salary_text) == (
        "Admin Kamboja",
        "PT Contoh",
        "Jakarta",
        "Rp 18.000.000",
    )
    assert partial.posted_at is not None
    assert partial.extra["posted_text"] == "2 hari yang lalu"
    assert "fingerprint" not in partial.extra  # so that the next crawl asks for the page again
    # The job page answers: a complete ad, with the card's salary where the page has none.
    job = """<html><body><h1 data-automation="job-detail-title">Admin Kamboja</h1>
    <div data-automation="jobAdDetails">Penempatan Phnom Penh. Hubungi WA 0812-5550-1234</div></body></html>"""
    (ad,) = split(spider.parse_job(page(detail.url, job, meta=detail.meta)))[0]
    assert ad.extra["partial"] is False
    assert (ad.native_id, ad.salary_text, ad.author) == ("81234567", "Rp 18.000.000", "PT Contoh")


# Team-written, after LinkedIn's jobs-guest fragment (seen in an unlicensed public fixture).
LINKEDIN_FRAGMENT = """<li><div class="base-card job-search-card" data-entity-urn="urn:li:jobPosting:4012345678">
<a class="base-card__full-link" href="https://id.linkedin.com/jobs/view/admin-staff-4012345678?position=1"></a>
<h3 class="base-search-card__title">Admin Staff (Overseas)</h3><h4 class="base-search-card__subtitle">Contoh Ltd</h4>
<span class="job-search-card__location">Jakarta, Indonesia</span>
<time class="job-search-card__listdate" datetime="2026-11-28">1 week ago</time></div></li>"""


def test_linkedin_guest_template_keeps_cards_as_ads_without_visiting_the_authwall() -> None:
    spider = spider_of(template("tpl_linkedin_guest", "https://www.linkedin.com"))
    url = spider.source.start_urls[0]
    ads, requests = split(spider.parse_listing(page(url, LINKEDIN_FRAGMENT)))
    assert requests == []
    (ad,) = ads
    assert (ad.native_id, ad.title, ad.author) == (
        "4012345678",
        "Admin Staff (Overseas)",
        "Contoh Ltd",
    )
    assert ad.posted_at == datetime(2026, 11, 28, tzinfo=UTC)
    assert ad.extra["partial"] is True


def test_glints_template_reads_the_apollo_state_in_next_data() -> None:
    state = {
        "props": {
            "pageProps": {
                "apolloState": {
                    "Job:6c0f0c9e-0000-4000-8000-000000000001": {
                        "__typename": "Job",
                        "id": "6c0f0c9e-0000-4000-8000-000000000001",
                        "title": "Caregiver Jepang",
                        "createdAt": "2026-11-30T10:00:00Z",
                    },
                    "Company:1": {"__typename": "Company", "id": "1", "name": "PT Contoh"},
                }
            }
        }
    }
    body = f'<html><body><script id="__NEXT_DATA__" type="application/json">{json.dumps(state)}</script></body></html>'
    spider = spider_of(template("tpl_glints_id", "https://glints.com"))
    ads, _ = split(spider.parse_listing(page(spider.source.start_urls[0], body)))
    (ad,) = ads
    assert (ad.native_id, ad.title) == ("6c0f0c9e-0000-4000-8000-000000000001", "Caregiver Jepang")
    assert (
        ad.url
        == "https://glints.com/id/opportunities/jobs/job/6c0f0c9e-0000-4000-8000-000000000001"
    )
    assert ad.posted_at == datetime(2026, 11, 30, 10, tzinfo=UTC)
    assert not stats(spider).get("patroli/layout_changed")


def test_login_wall_is_a_named_status_with_no_ads() -> None:
    # Team-written after the phrase Facebook shows logged-out visitors; no real wall was saved publicly.
    wall = "<html><head><title>Log in to Facebook</title></head><body>You must log in to continue.</body></html>"
    spider = spider_of(template("tpl_jobstreet_id", "https://id.jobstreet.com"))
    assert split(spider.parse_listing(page(f"{LOCAL}/id/kerja-luar-negeri-jobs", wall))) == ([], [])
    assert stats(spider)["patroli/refused/login_wall"] == 1
    redirected = spider_of(template("tpl_jobstreet_id", "https://id.jobstreet.com"))
    split(
        redirected.parse_listing(
            page(f"{LOCAL}/login?next=/id/jobs", "<html><body>Masuk</body></html>")
        )
    )
    assert stats(redirected)["patroli/refused/login_wall"] == 1


def run_of(stats_values: dict[str, Any]) -> Any:
    source = load_registry().get("tpl_telegram_channel")
    crawler = get_crawler(SPIDER_BY_KIND[source.kind], {})
    crawler.stats = MemoryStatsCollector(crawler)  # the stats a crawl would have
    base = {
        "start_time": datetime(2026, 12, 1, tzinfo=UTC),
        "finish_reason": "finished",
        "response_received_count": 1,
    }
    for key, value in {**base, **stats_values}.items():
        crawler.stats.set_value(key, value)
    return summarize(source, crawler)


def test_a_layout_change_with_zero_ads_is_degraded_exit_3() -> None:
    run = run_of({"patroli/layout_changed": 1, "patroli/degraded_urls": ["http://x/s/chan"]})
    failures = apply_checks(run, run_checks(run, [], MonitorSettings()))
    assert [f.check for f in failures] == ["items"]  # alerted: no ads at all...
    assert run.status == "degraded"  # ...but the layout change explains it: exit 3, not 4
    assert run.conditions == ["layout_changed"]
    assert print_summary([run]) == 3


def test_a_layout_change_does_not_hide_a_failure_it_does_not_explain() -> None:
    run = run_of(
        {"patroli/layout_changed": 1, "patroli/listing_failed": 5, "item_scraped_count": 3}
    )
    failures = apply_checks(run, run_checks(run, [], MonitorSettings()))
    assert [f.check for f in failures] == ["errors"]
    assert run.status == "failed"


def test_a_source_refused_with_zero_ads_failed_exit_4_with_its_status_named() -> None:
    run = run_of({"patroli/refused/soft_block": 1, "patroli/refused_urls": ["http://x/list"]})
    assert run.status == "failed"
    assert run.conditions == ["soft_block"]
    assert any(n.startswith("soft_block: 1 page(s) answered with a captcha") for n in run.notes)
    assert "refused page: http://x/list" in run.notes
    assert print_summary([run]) == 4
    some = run_of({"patroli/refused/rate_limited": 1, "item_scraped_count": 5})
    assert some.status == "degraded"
    assert some.conditions == ["rate_limited"]


def test_every_template_is_disabled_and_says_its_terms() -> None:
    templates = [s for s in load_registry().sources if s.template]
    names = {s.name for s in templates}
    assert names >= {
        "tpl_telegram_channel",
        "tpl_rssbridge_telegram",
        "tpl_rssbridge_facebook_group",
        "tpl_rssbridge_instagram",
        "tpl_rssbridge_tiktok",
        "tpl_olx_id_lowongan",
        "tpl_jobstreet_id",
        "tpl_glints_id",
        "tpl_kalibrr",
        "tpl_linkedin_guest",
        "tpl_loker_id",
        "tpl_karir_com",
    }
    for source in templates:
        assert not source.enabled, source.name
        assert source.terms, source.name
        assert source.politeness.get("download_delay"), source.name
    proven = {s.name for s in templates if "NOT proven" not in s.description}
    assert proven == {"tpl_telegram_channel", "tpl_rssbridge_telegram"}
    rssbridge = [s for s in templates if s.name.startswith("tpl_rssbridge")]
    assert all("format=Atom" in s.start_urls[0] for s in rssbridge)  # MRSS carries no authors


def test_swap_base_changes_only_the_origin() -> None:
    source = load_registry().get("tpl_olx_id_lowongan")
    local = swap_base(source, {"https://www.olx.co.id": LOCAL})
    assert local.api["url"] == source.api["url"].replace("https://www.olx.co.id", LOCAL)
    assert local.selectors == source.selectors
    assert local.api["fields"]["url"] == f"{LOCAL}/item/iid-{{id}}"
    assert {k: v for k, v in local.api["fields"].items() if k != "url"} == {
        k: v for k, v in source.api["fields"].items() if k != "url"
    }
    assert local.private_network["allow"] is True  # a loopback replay, with its reason
    assert local.private_network["reason"]
    assert dataclasses.replace(local, api=source.api, private_network={}) == source


def test_sources_list_shows_the_templates_as_disabled_templates() -> None:
    from tests.helpers.cli import run_patroli

    result = run_patroli("sources", "list", "--json")
    assert result.returncode == 0, result.stderr
    listed = {s["name"]: s for s in json.loads(result.stdout)}
    assert listed["tpl_olx_id_lowongan"]["template"] is True
    assert listed["tpl_olx_id_lowongan"]["enabled"] is False
    assert listed["demo_telegram"]["template"] is False
    table = run_patroli("sources", "list").stdout
    assert table.count("no (template)") == len([n for n in listed if n.startswith("tpl_")])
