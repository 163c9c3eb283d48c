"""Nightly re-crawls: unchanged ads are not downloaded again, edited ones are (evidence kept), ads that
disappeared are marked gone and kept, and a crawl killed with SIGKILL resumes to the same result."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from patroli.demosites.data import load_demo_data
from patroli.demosites.process import DemoSitesProcess
from patroli.storage import open_store
from tests.helpers.cli import PATROLI, crawl
from tests.helpers.demotruth import truth

pytestmark = pytest.mark.crawl

DETAIL_SOURCES = ("demo_pasarloka", "demo_kerjanusa", "demo_agensi")
QUICK = (
    "--no-classify",
    "-s",
    "PATROLI_RETRY_BACKOFF_BASE=0.05",
    "-s",
    "PATROLI_MONITORS_ENABLED=False",
)


def detail_pages(runs: list[dict]) -> int:
    return sum(int(r["stats"].get("patroli/detail_pages", 0)) for r in runs)


@pytest.fixture(scope="module")
def recrawl_sites() -> Iterator[DemoSitesProcess]:
    """Demo sites shared by the re-crawl tests: the first patrol's URLs must answer again (they
    name the port). Each test puts the faults it switched on back to "ok"."""
    with DemoSitesProcess(port=0) as sites:
        yield sites


@pytest.fixture(scope="module")
def first_patrol(
    recrawl_sites: DemoSitesProcess, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[dict]]:
    """One first patrol of the detail sources and Telegram; the re-crawl tests each continue from a
    copy of its store."""
    database = tmp_path_factory.mktemp("first-patrol") / "patroli.db"
    result, runs = crawl(
        recrawl_sites.url, f"sqlite:///{database}", *DETAIL_SOURCES, "demo_telegram", extra=QUICK
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return database, runs


@pytest.fixture
def after_first_patrol(
    first_patrol: tuple[Path, list[dict]], recrawl_sites: DemoSitesProcess, tmp_path: Path
) -> Iterator[tuple[str, list[dict]]]:
    """A store as the first patrol left it (a copy of its own) and that patrol's runs."""
    database, runs = first_patrol
    copy = tmp_path / "patroli.db"
    with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)
    yield f"sqlite:///{copy}", runs
    recrawl_sites.set_fault("all", "ok")


def test_second_crawl_downloads_at_most_a_tenth_of_the_detail_pages(
    recrawl_sites: DemoSitesProcess, after_first_patrol: tuple[str, list[dict]], tmp_path: Path
) -> None:
    store_url, first = after_first_patrol
    _, second = crawl(
        recrawl_sites.url,
        store_url,
        *DETAIL_SOURCES,
        "demo_telegram",
        extra=QUICK,
        summary=tmp_path / "second.json",
    )
    assert detail_pages(first) >= 280
    assert detail_pages(second) <= 0.1 * detail_pages(first)
    by_source = {r["source"]: r for r in second}
    for source in DETAIL_SOURCES:
        assert (
            by_source[source]["unchanged"]
            == next(r for r in first if r["source"] == source)["items"]
        )
        assert by_source[source]["status"] == "ok"
    # Telegram stops paging back at posts it already has.
    telegram_first = next(r for r in first if r["source"] == "demo_telegram")
    assert by_source["demo_telegram"]["pages"] < telegram_first["pages"]
    with open_store(store_url) as store:
        assert store.count() == sum(r["items"] for r in first)
        ad = store.search("source:demo_pasarloka", limit=1).hits[0]
        assert ad["last_seen"] > ad["first_seen"]


def test_edited_ad_is_downloaded_again_and_both_versions_kept(
    recrawl_sites: DemoSitesProcess, after_first_patrol: tuple[str, list[dict]], tmp_path: Path
) -> None:
    store_url, _ = after_first_patrol
    recrawl_sites.set_fault("pasarloka", "edited")
    _, (run,) = crawl(
        recrawl_sites.url, store_url, "demo_pasarloka", extra=QUICK, summary=tmp_path / "2.json"
    )
    assert run["stats"]["patroli/detail_pages"] == 1
    assert run["updated"] == 1
    with open_store(store_url) as store:
        (edited,) = store.search('"GAJI NAIK"').hits
        evidence = store.get_ad(edited["ad_id"], with_evidence=True)["evidence"]
    assert len(evidence) == 2
    assert "GAJI NAIK" not in evidence[0]["html"]
    assert "GAJI NAIK" in evidence[1]["html"]


def test_ads_that_disappear_are_marked_gone_and_kept(
    recrawl_sites: DemoSitesProcess, after_first_patrol: tuple[str, list[dict]], tmp_path: Path
) -> None:
    store_url, first = after_first_patrol
    total = sum(r["items"] for r in first)
    for site in ("pasarloka", "kerjanusa", "agensi"):
        recrawl_sites.set_fault(site, "removed")
    _, second = crawl(
        recrawl_sites.url, store_url, *DETAIL_SOURCES, extra=QUICK, summary=tmp_path / "2.json"
    )
    assert all(r["stats"].get("patroli/incremental/gone") == 3 for r in second)
    with open_store(store_url) as store:
        gone = [h for h in store.search("", limit=1000).hits if h.get("gone_at")]
        assert store.count() == total
    assert len(gone) == 9
    for site in ("pasarloka", "kerjanusa", "agensi"):
        recrawl_sites.set_fault(site, "ok")
    crawl(recrawl_sites.url, store_url, *DETAIL_SOURCES, extra=QUICK, summary=tmp_path / "3.json")
    with open_store(store_url) as store:
        assert not [h for h in store.search("", limit=1000).hits if h.get("gone_at")]


def stored_native_ids(store_url: str) -> list[tuple[str, str]]:
    with open_store(store_url) as store:
        return sorted((h["source"], h["native_id"]) for h in store.search("", limit=10_000).hits)


def test_crawl_killed_with_sigkill_resumes_to_the_same_ads(
    demo_sites: DemoSitesProcess, tmp_path: Path
) -> None:
    sources = ("demo_pasarloka", "demo_kerjanusa")
    expected = sorted(
        (r["source"], str(r["native"])) for r in truth_with_native_ids() if r["source"] in sources
    )
    store_url = f"sqlite:///{tmp_path / 'resumed.db'}"
    env = {**os.environ, "PATROLI_DEMO_URL": demo_sites.url, "PATROLI_LOG_LEVEL": "WARNING"}
    slow = (
        "-s",
        "DOWNLOAD_DELAY=0.02",
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
        "-s",
        "CONCURRENT_REQUESTS_PER_DOMAIN=2",
        "-s",
        "PATROLI_STORE_BATCH_SIZE=10",
    )
    args = [
        str(PATROLI),
        "crawl",
        *sources,
        "--store",
        store_url,
        "--jobs-dir",
        str(tmp_path / "jobs"),
        *QUICK,
        *slow,
    ]
    process = subprocess.Popen(
        [*args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.3)
        if (tmp_path / "resumed.db").exists() and 40 <= len(stored_native_ids(store_url)) < len(
            expected
        ) // 2:
            break
    os.killpg(process.pid, signal.SIGKILL)  # the crawl and its worker processes, mid-flight
    process.wait()
    interrupted = stored_native_ids(store_url)
    assert 40 <= len(interrupted) < len(expected)
    assert (tmp_path / "jobs" / "demo_pasarloka" / "requests.queue").exists()
    resumed = subprocess.run(
        [*args, "--resume"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert stored_native_ids(store_url) == expected


def truth_with_native_ids() -> list[dict]:
    records = []
    for record in truth().values():
        if record["source"] == "demo_pasarloka":
            records.append({"source": record["source"], "native": record["id"].lstrip("c")})
        elif record["source"] == "demo_kerjanusa":
            records.append({"source": record["source"], "native": record["id"]})
    return records


def test_broken_registry_entry_is_reported_and_the_valid_sources_still_run(
    demo_sites: DemoSitesProcess, store_url: str, tmp_path: Path
) -> None:
    registry = tmp_path / "sources.yaml"
    registry.write_text(
        "sources:\n"
        "  - name: feed_ok\n    kind: feed\n"
        "    private_network: {allow: true, reason: 'the demo sites run on 127.0.0.1'}\n    start_urls:\n"
        "      - '${PATROLI_DEMO_URL}/rss-bridge/?action=display&bridge=FacebookBridge&context=Group&g=x&format=Atom'\n"
        "  - name: broken_one\n    kind: telegram_channel\n    channels: []\n"
    )
    result, runs = crawl(demo_sites.url, store_url, extra=("--sources", str(registry), *QUICK))
    assert f"{registry}:9: source 'broken_one': channels" in result.stderr
    assert result.returncode == 3
    feed_posts = len(load_demo_data().feed)
    assert [(r["source"], r["items"], r["status"]) for r in runs] == [("feed_ok", feed_posts, "ok")]


def test_keyword_search_fills_the_search_template(
    demo_sites: DemoSitesProcess, store_url: str, tmp_path: Path
) -> None:
    from patroli.demosites.data import load_demo_data

    registry = tmp_path / "sources.yaml"
    registry.write_text(
        "sources:\n  - name: cari_pasarloka\n    kind: classifieds\n"
        "    search_urls: ['${PATROLI_DEMO_URL}/pasarloka/items/q-{query}']\n"
        "    keywords: [kamboja, visa ziarah]\n"
        "    private_network: {allow: true, reason: 'the demo sites run on 127.0.0.1'}\n"
        "    selectors:\n      listing_item: 'li[data-aut-id=\"itemBox\"]'\n"
        "      listing_link: 'a[href*=\"/item/\"]::attr(href)'\n      next_page: 'a[rel=\"next\"]::attr(href)'\n"
        "      empty: '[data-aut-id=\"noResults\"]'\n      title: 'h1[data-aut-id=\"itemTitle\"]'\n"
        "      text: '[data-aut-id=\"itemDescriptionContent\"]'\n      native_id: 'iid-(\\d+)'\n"
    )
    expected = {
        a["id"]
        for a in load_demo_data().classifieds
        for words in (["kamboja"], ["visa", "ziarah"])
        if all(w in (a["title"] + " " + a["description"]).lower() for w in words)
    }
    result, (run,) = crawl(
        demo_sites.url, store_url, "cari_pasarloka", extra=("--sources", str(registry), *QUICK)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert run["items"] == len(expected) > 5
