"""The crawl scope (crawler/scope.py): every request, redirect and meta refresh of a crawl stays on its
source's hosts, over http(s); Scrapy's file, ftp, data and s3 handlers are off; the registry widens a
scope only by ``allowed_hosts`` and lets a source reach private addresses only with a reason."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.core.downloader.handlers import DownloadHandlers
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from crawler.incidents import MEDIA_META, walk_incidents
from crawler.runs import summarize
from crawler.scope import CrawlScopeMiddleware, OutOfScope, SourceScope
from crawler.sources import SourceConfig, load_registry
from patroli.demosites.process import DemoSitesProcess
from tests.helpers.cli import run_patroli_measured
from tests.helpers.components import build, stats
from tests.helpers.spiderkit import BASE, spider_for

OFF_THE_SOURCE = [
    ("http://127.0.0.1/pasarloka/item/x-iid-1", "off_host"),
    ("http://localhost/pasarloka/", "off_host"),
    ("http://[::ffff:127.0.0.1]/", "off_host"),
    ("http://[::1]/", "off_host"),
    ("http://2130706433/", "off_host"),
    ("http://0x7f.1/", "off_host"),
    ("http://0177.0.0.1/", "off_host"),
    ("http://127.1/", "off_host"),
    ("http://demo.test.evil.example/", "off_host"),
    ("http://evil.example/demo.test/", "off_host"),
    ("http://demo.test:8080/pasarloka/", "off_host"),  # another port of the same host
    ("http://demo.test@127.0.0.1/", "malformed"),  # user info: which host is meant?
    ("ftp://demo.test/lowongan.txt", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("file:///dev/zero", "scheme"),
    ("s3://bucket/ads.html", "scheme"),
]
ON_THE_SOURCE = [
    f"{BASE}/pasarloka/lowongan-kerja_c4?page=2",
    "https://demo.test/pasarloka/",  # the same host over https
    "http://DEMO.test./pasarloka/",  # the same host, spelled in capitals with the root dot
    "http://demo.test:80/robots.txt",
]


def scope_for(name: str = "demo_pasarloka") -> CrawlScopeMiddleware:
    spider = spider_for(name)
    spider.crawler.spider = spider  # as Scrapy sets it when the crawl starts
    return build(CrawlScopeMiddleware, spider.crawler)


@pytest.mark.parametrize(("url", "reason"), OFF_THE_SOURCE)
def test_a_request_off_the_source_is_refused_and_counted(url: str, reason: str) -> None:
    scope = scope_for()
    with pytest.raises(OutOfScope) as refused:
        scope.process_request(Request(url))
    assert refused.value.reason == reason
    counted = stats(scope.crawler)
    assert (counted["patroli/scope/refused"], counted[f"patroli/scope/refused/{reason}"]) == (1, 1)


@pytest.mark.parametrize("url", ON_THE_SOURCE)
def test_a_request_on_the_source_passes(url: str) -> None:
    assert scope_for().process_request(Request(url)) is None


def test_an_image_off_the_source_is_refused_apart_from_the_walk() -> None:
    """An ad's images (the images pipeline marks their requests) are held to the source's hosts too,
    but a refused image says nothing about the listing: the walk stays trusted, the run names it."""
    scope = scope_for()
    image = {MEDIA_META: True}
    with pytest.raises(OutOfScope, match="off_host"):
        scope.process_request(Request("https://cdn.example/flyer.jpg", meta=image))
    with pytest.raises(OutOfScope, match="scheme"):
        scope.process_request(Request("file:///etc/passwd", meta=image))
    counted = stats(scope.crawler)
    assert {k: v for k, v in counted.items() if k.startswith("patroli/scope/")} == {
        "patroli/scope/refused_media": 2,
        "patroli/scope/refused_media/off_host": 1,
        "patroli/scope/refused_media/scheme": 1,
    }
    assert walk_incidents(counted) == []
    assert scope.crawler.stats is not None
    for key, value in {
        "start_time": "2026-11-28T02:00:00+00:00",
        "finish_reason": "finished",
        "item_scraped_count": 3,
    }.items():
        scope.crawler.stats.set_value(key, value)
    run = summarize(spider_for("demo_pasarloka").source, scope.crawler)
    assert run.status == "degraded"
    assert any(
        "2 image request(s) refused by the crawl scope (1 off the source's hosts, 1 not http(s))"
        in n
        for n in run.notes
    ), run.notes


def test_every_spider_kind_is_held_to_its_own_hosts() -> None:
    for name in (
        "demo_telegram",
        "demo_kerjanusa",
        "demo_fb_group",
        "demo_agensi",
        "demo_agensi_cari",
    ):
        scope = scope_for(name)
        assert scope.process_request(Request(f"{BASE}/anything")) is None
        with pytest.raises(OutOfScope):
            scope.process_request(Request("http://127.0.0.1:9/"))


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(
    "location", ["http://127.0.0.1:9/x", "//127.0.0.1:9/protocol-relative", "http://localhost/x"]
)
def test_a_redirect_off_the_source_is_refused(status: int, location: str) -> None:
    scope = scope_for()
    redirects = build(RedirectMiddleware, scope.crawler)
    request = Request(f"{BASE}/pasarloka/item/x-iid-1")
    answer = Response(request.url, status=status, headers={"Location": location}, request=request)
    redirected = redirects.process_response(request, answer)
    assert isinstance(redirected, Request)
    with pytest.raises(OutOfScope, match="off_host"):
        scope.process_request(redirected)
    assert stats(scope.crawler)["patroli/scope/refused_redirects"] == 1


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/html,x"]
)
def test_a_redirect_to_another_scheme_is_not_followed_and_counted(location: str) -> None:
    scope = scope_for()
    redirects = build(RedirectMiddleware, scope.crawler)
    request = Request(f"{BASE}/pasarloka/item/x-iid-1")
    answer = Response(request.url, status=302, headers={"Location": location}, request=request)
    assert redirects.process_response(request, answer) is answer  # Scrapy follows http(s) only
    assert scope.process_response(request, answer) is answer
    counted = stats(scope.crawler)
    assert (
        counted["patroli/scope/refused/scheme"],
        counted["patroli/scope/refused_redirects"],
    ) == (1, 1)


@pytest.mark.parametrize("target", ["http://127.0.0.1:9/", "file:///etc/passwd"])
def test_a_meta_refresh_off_the_source_is_refused(target: str) -> None:
    scope = scope_for()
    refresh = build(MetaRefreshMiddleware, scope.crawler)
    request = Request(f"{BASE}/pasarloka/item/x-iid-1")
    body = f'<html><head><meta http-equiv="refresh" content="0; url={target}"></head></html>'
    answer = HtmlResponse(request.url, body=body.encode(), encoding="utf-8", request=request)
    followed = refresh.process_response(request, answer)
    if isinstance(followed, Request):
        with pytest.raises(OutOfScope):
            scope.process_request(followed)
    else:
        scope.process_response(request, followed)
    assert stats(scope.crawler)["patroli/scope/refused_redirects"] == 1


def test_allowed_hosts_widen_the_scope_and_nothing_else_does() -> None:
    source = SourceConfig(
        name="wide",
        kind="feed",
        start_urls=("https://loker.example/feed.xml",),
        allowed_hosts=("cdn.loker.example", "*.img.example", "media.example:8443"),
    )
    scope = SourceScope.of(source)
    for url in (
        "https://loker.example/a",
        "http://cdn.loker.example/b",
        "https://a.b.img.example/c",
        "https://media.example:8443/d",
    ):
        scope.check(url)
    for url in (
        "https://img.example/",
        "https://media.example/",
        "https://evil.example/",
        "https://loker.example:8443/",
        "https://loker.example.evil.example/",
    ):
        with pytest.raises(OutOfScope):
            scope.check(url)


@dataclass(frozen=True, slots=True)
class ApiSource(SourceConfig):
    """A source read through a JSON search API (the registry's ``api`` map of real platforms)."""

    api: dict[str, Any] = field(default_factory=dict)


def test_the_hosts_of_a_search_api_are_the_sources_own() -> None:
    source = ApiSource(
        name="api",
        kind="classifieds",
        start_urls=("https://www.loker.example/lowongan",),
        api={
            "url": "https://api.loker.example/v4/search?page={page}",
            "search_url": "https://search.loker.example:8443/q?query={query}&page={page}",
            "fields": {"url": "https://elsewhere.example/item/{id}"},
        },
    )
    scope = SourceScope.of(source)
    for url in (
        "https://www.loker.example/x",
        "https://api.loker.example/v4/search?page=2",
        "https://search.loker.example:8443/q?query=kerja&page=2",
    ):
        scope.check(url)
    for url in (
        "https://elsewhere.example/item/1",
        "https://loker.example/",
        "https://search.loker.example/q",
    ):
        with pytest.raises(OutOfScope):
            scope.check(url)


def test_a_spider_without_a_registry_source_is_held_to_http() -> None:
    crawler = get_crawler()
    scope = build(CrawlScopeMiddleware, crawler)
    assert scope.process_request(Request("http://anywhere.example/")) is None
    with pytest.raises(OutOfScope, match="scheme"):
        scope.process_request(Request("file:///etc/passwd"))


def test_the_project_downloads_nothing_but_http() -> None:
    from patroli.patrol.runner import project_settings

    settings = project_settings()
    crawler = get_crawler(
        settings_dict={"DOWNLOAD_HANDLERS": settings.getdict("DOWNLOAD_HANDLERS")}
    )
    handlers = DownloadHandlers(crawler)
    for scheme in ("file", "ftp", "data", "s3"):
        assert handlers._get_handler(scheme) is None, scheme
    assert set(handlers._schemes) == {"http", "https"}
    assert settings["DOWNLOADER_MIDDLEWARES"]["crawler.scope.CrawlScopeMiddleware"] < 100  # robots
    assert settings["TWISTED_DNS_RESOLVER"] == "crawler.addresses.GuardedResolver"


def test_private_network_needs_a_reason_and_the_demo_sources_give_one(tmp_path: Path) -> None:
    registry = tmp_path / "sources.yaml"
    registry.write_text(
        "sources:\n"
        "  - name: no_reason\n    kind: feed\n    start_urls: ['http://127.0.0.1:9/f.xml']\n"
        "    private_network: {allow: true}\n"
        "  - name: bad_host\n    kind: feed\n    start_urls: ['http://127.0.0.1:9/f.xml']\n"
        "    allowed_hosts: ['http://evil.example/path']\n"
        "  - name: good\n    kind: feed\n    start_urls: ['http://127.0.0.1:9/f.xml']\n"
        "    allowed_hosts: ['cdn.example', '*.example.org', 'media.example:8443']\n"
        "    private_network: {allow: true, reason: 'a feed on the office network'}\n"
        "    budget: {requests: 10, depth: 3, bytes: 1048576, seconds: 60}\n",
        encoding="utf-8",
    )
    loaded = load_registry(registry)
    assert [s.name for s in loaded.sources] == ["good"]
    assert {p.name for p in loaded.problems} == {"no_reason", "bad_host"}
    demo = [s for s in load_registry().sources if s.name.startswith("demo_")]
    assert demo
    assert all(s.private_network.get("allow") and s.private_network.get("reason") for s in demo)


@pytest.mark.crawl
def test_links_to_local_files_are_never_read(tmp_path: Path) -> None:
    """A listing links a local file and /dev/zero (Scrapy's file handler reads a whole file, ignoring
    DOWNLOAD_MAXSIZE, and /dev/zero never ends); the source's selectors would take any text."""
    canary = tmp_path / "canary.txt"
    canary.write_text("<p>CANARY-9b1e4 isi berkas lokal</p>", encoding="utf-8")
    registry = tmp_path / "sources.yaml"
    registry.write_text(
        "sources:\n  - name: files\n    kind: classifieds\n"
        "    start_urls: ['${PATROLI_DEMO_URL}/hostile/files']\n"
        "    private_network: {allow: true, reason: 'the hostile test site runs on this machine'}\n"
        "    selectors: {listing_item: 'li.card', listing_link: 'a::attr(href)', title: 'h1, p',\n"
        "                text: 'div.body, p'}\n",
        encoding="utf-8",
    )
    summary = tmp_path / "summary.json"
    with DemoSitesProcess(port=0, hostile=True) as sites:
        sites.configure_hostile(mode="hostile", canary=str(canary))
        done = run_patroli_measured(
            "crawl",
            "--sources",
            str(registry),
            "--store",
            f"sqlite:///{tmp_path / 'p.db'}",
            "--summary-json",
            str(summary),
            "--no-classify",
            "-s",
            "PATROLI_MONITORS_ENABLED=False",
            env={"PATROLI_DEMO_URL": sites.url},
            address_space=1536 * 1024 * 1024,
        )
    assert done.peak_rss < 400 * 1024 * 1024, done.peak_rss
    assert "MemoryError" not in done.stderr
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("p.db*"))
    assert b"CANARY-9b1e4" not in stored
    (run,) = json.loads(summary.read_text())
    assert run["items"] == 3, done.stderr[-2000:]
    assert run["stats"]["patroli/links/unusable/file"] == 2
