"""Every spider kind over real HTTP against the demo sites, under the faults real sites throw at it:
pagination to the end, an empty listing, a changed layout, legacy 8-bit encodings, and pages in the
middle of a listing that answer 404 and 500. One crawl of all sources per scenario."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from crawler.keywords import load_keywords
from patroli.demosites.data import load_demo_data
from patroli.demosites.process import DemoSitesProcess
from patroli.storage import open_store
from tests.helpers.cli import crawl
from tests.helpers.demotruth import truth

pytestmark = pytest.mark.crawl

SOURCES = [
    "demo_pasarloka",
    "demo_telegram",
    "demo_kerjanusa",
    "demo_fb_group",
    "demo_agensi",
    "demo_agensi_cari",
]
SCENARIOS = ("ok", "empty", "layout", "encoding", "broken")
FAST_RETRIES = (
    "-s",
    "PATROLI_RETRY_BACKOFF_BASE=0.05",
    "-s",
    "PATROLI_MONITORS_ENABLED=False",
    "--no-classify",
)


def search_matches() -> set[str]:
    """The recruiter-site posts its search box returns for the patrol keywords (as the site matches)."""
    posts = load_demo_data().agency_posts
    found = set()
    for keyword in load_keywords():
        words = keyword.lower().split()
        found |= {
            p["id"]
            for p in posts
            if all(w in (p["title"] + " " + p["description"]).lower() for w in words)
        }
    return found


def expected_ok() -> dict[str, int]:
    counts = Counter(r["source"] for r in truth().values())
    return {
        **counts,
        "demo_agensi": len(load_demo_data().agency_posts),
        "demo_agensi_cari": len(search_matches()),
    }


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Crawl every source once per fault scenario (lazily), returning (runs by source, store URL, exit code)."""
    done: dict[str, tuple[dict[str, dict[str, Any]], str, int]] = {}

    def run(mode: str) -> tuple[dict[str, dict[str, Any]], str, int]:
        if mode not in done:
            directory = tmp_path_factory.mktemp(f"crawl-{mode}")
            with DemoSitesProcess(port=0) as sites:
                if mode != "ok":
                    sites.set_fault("all", mode)
                store = f"sqlite:///{directory / 'patroli.db'}"
                result, runs = crawl(sites.url, store, *SOURCES, extra=FAST_RETRIES)
            assert runs, result.stdout[-3000:] + result.stderr[-3000:]
            done[mode] = ({r["source"]: r for r in runs}, store, result.returncode)
        return done[mode]

    return run


@pytest.mark.parametrize("source", SOURCES)
def test_pagination_is_followed_to_the_end(scenario: Any, source: str) -> None:
    runs, _, code = scenario("ok")
    assert code == 0
    assert runs[source]["items"] == expected_ok()[source]
    assert runs[source]["status"] == "ok"
    assert runs[source]["degraded_pages"] == 0


@pytest.mark.parametrize("source", SOURCES)
def test_an_empty_listing_is_a_quiet_night_not_an_error(scenario: Any, source: str) -> None:
    runs, _, code = scenario("empty")
    assert code == 0
    assert (runs[source]["items"], runs[source]["degraded_pages"], runs[source]["status"]) == (
        0,
        0,
        "ok",
    )


@pytest.mark.parametrize("source", SOURCES)
def test_a_changed_layout_degrades_the_run_and_names_the_page(scenario: Any, source: str) -> None:
    runs, _, code = scenario("layout")
    assert code == 3
    run = runs[source]
    assert run["status"] == "degraded"
    assert run["degraded_pages"] >= 1
    assert run["stats"][f"patroli/layout_changed/{source}"] == run["degraded_pages"]
    assert run["degraded_urls"]


@pytest.mark.parametrize("source", SOURCES)
def test_legacy_8bit_pages_read_the_same_as_utf8(scenario: Any, source: str) -> None:
    runs, store_url, _ = scenario("encoding")
    ok_runs, ok_store, _ = scenario("ok")
    assert runs[source]["items"] == ok_runs[source]["items"]
    with open_store(store_url) as legacy, open_store(ok_store) as utf8:
        query = f"source:{source}"
        old = {
            h["ad_id"]: (h["title"], h["text"], h["author"])
            for h in legacy.search(query, limit=1000).hits
        }
        new = {
            h["ad_id"]: (h["title"], h["text"], h["author"])
            for h in utf8.search(query, limit=1000).hits
        }
    assert old == new
    assert (
        any(ord(ch) > 0x2000 for title, text, _ in old.values() for ch in title + text)
        or source == "demo_agensi_cari"
    )


def test_404_and_500_in_the_middle_of_a_listing_cost_only_those_ads(scenario: Any) -> None:
    runs, _, code = scenario("broken")
    posts = load_demo_data().agency_posts
    expected = expected_ok()
    broken_matches = len(search_matches() & {posts[1]["id"], posts[2]["id"]})
    assert code == 3
    assert runs["demo_pasarloka"]["items"] == expected["demo_pasarloka"] - 2
    assert runs["demo_kerjanusa"]["items"] == expected["demo_kerjanusa"] - 2
    assert runs["demo_agensi"]["items"] == expected["demo_agensi"] - 2
    assert runs["demo_agensi_cari"]["items"] == expected["demo_agensi_cari"] - broken_matches
    # the channel's second page answers 500: its first page is kept, older pages are unreachable
    lost = (
        len(load_demo_data().telegram["lokerasia_express"]) - 20
    )  # all but the channel's first page
    assert runs["demo_telegram"]["items"] == expected["demo_telegram"] - lost
    assert runs["demo_fb_group"]["items"] == expected["demo_fb_group"]
    for source in ("demo_pasarloka", "demo_kerjanusa", "demo_agensi", "demo_telegram"):
        run = runs[source]
        assert run["status"] == "degraded", source
        assert run["stats"].get("retry/max_reached", 0) >= 1, (
            source
        )  # the 500 was retried, then given up
        assert any("failed after retries" in note for note in run["notes"]), source
    assert runs["demo_pasarloka"]["stats"]["downloader/response_status_count/404"] == 1


def test_a_source_answering_only_500_fails(
    fresh_demo_sites: DemoSitesProcess, store_url: str
) -> None:
    fresh_demo_sites.set_fault("tg", "error")
    result, (run,) = crawl(fresh_demo_sites.url, store_url, "demo_telegram", extra=FAST_RETRIES)
    assert result.returncode == 4
    assert run["status"] == "failed"
    assert run["items"] == 0
    assert run["stats"]["retry/max_reached"] >= 1
    assert run["stats"]["patroli/retry/backoff_ms"] > 0
