"""Each spider over real HTTP against the demo sites: to the end, empty, and a changed layout."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import crawl
from demotruth import truth

from demosites.process import DemoSitesProcess

pytestmark = pytest.mark.crawl
SOURCES = {
    "demo_pasarloka": "pasarloka",
    "demo_telegram": "tg",
    "demo_kerjanusa": "kerjanusa",
    "demo_fb_group": "rss-bridge",
}


@pytest.mark.parametrize("source", SOURCES)
def test_spider_follows_pagination_to_the_end(
    source: str, demo_sites: DemoSitesProcess, store_url: str
) -> None:
    result, (run,) = crawl(demo_sites.url, store_url, source, extra=("--no-classify",))
    assert result.returncode == 0, result.stderr[-2000:]
    assert run["items"] == Counter(r["source"] for r in truth().values())[source]
    assert run["degraded_pages"] == 0
    assert run["status"] == "ok"


@pytest.mark.parametrize("source", SOURCES)
def test_empty_listing_is_a_quiet_night_not_an_error(
    source: str, fresh_demo_sites: DemoSitesProcess, store_url: str
) -> None:
    fresh_demo_sites.set_fault(SOURCES[source], "empty")
    result, (run,) = crawl(fresh_demo_sites.url, store_url, source, extra=("--no-classify",))
    assert result.returncode == 0, result.stderr[-2000:]
    assert (run["items"], run["degraded_pages"], run["status"]) == (0, 0, "ok")


@pytest.mark.parametrize("source", SOURCES)
def test_changed_layout_degrades_the_run_with_the_url(
    source: str, fresh_demo_sites: DemoSitesProcess, store_url: str
) -> None:
    fresh_demo_sites.set_fault(SOURCES[source], "layout")
    result, (run,) = crawl(fresh_demo_sites.url, store_url, source, extra=("--no-classify",))
    assert result.returncode == 3, result.stdout + result.stderr[-2000:]
    assert run["status"] == "degraded"
    assert run["degraded_pages"] >= 1
    assert run["stats"][f"patroli/layout_changed/{source}"] == run["degraded_pages"]
    assert all(url.startswith(fresh_demo_sites.url) for url in run["degraded_urls"])
    assert "layout changed" in result.stdout


def test_server_errors_fail_the_source(fresh_demo_sites: DemoSitesProcess, store_url: str) -> None:
    fresh_demo_sites.set_fault("tg", "error")
    result, (run,) = crawl(
        fresh_demo_sites.url, store_url, "demo_telegram", extra=("--no-classify",)
    )
    assert result.returncode == 4
    assert run["status"] == "failed"
    assert run["items"] == 0
    assert run["stats"]["retry/max_reached"] >= 1
