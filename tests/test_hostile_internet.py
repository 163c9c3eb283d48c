"""A patrol of a hostile internet with every spider kind (patroli/demosites/hostile.py).

The same sources are crawled twice: once while their pages are ordinary (the ads are stored), then
while the pages attack the crawler — links, redirects, meta refreshes, "next" links, sitemap
``<loc>``s and Atom ``rel=next`` off the host under every spelling of this machine, ``file:``,
``ftp:``, ``data:`` and ``javascript:`` URLs, a 20,000-link page, pagination without end, slowloris
answers, an endless stream, gzip/deflate bombs, billion-laughs and XXE feeds and sitemaps, lying
encodings. The hostile patrol must reach nothing off its sources' hosts (a listener on another
loopback port counts connections; the site records the ``Host`` of every request), store nothing of a
local file, stay within bounded memory, end degraded with the reasons counted, and leave the ads of
the first patrol unmarked.
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crawler.spiders import SPIDER_BY_KIND
from patroli.demosites.process import DemoSitesProcess
from tests.helpers.cli import ROOT, run_patroli_measured
from tests.helpers.listener import ConnectionListener

pytestmark = [pytest.mark.crawl, pytest.mark.slow]

REGISTRY = ROOT / "tests" / "fixtures" / "hostile" / "sources.yaml"
CANARY = "CANARY-5e1f0c9a-patroli"
QUICK = (
    "--no-classify",
    "-s",
    "DOWNLOAD_TIMEOUT=5",  # slowloris pages are cut off after this
    "-s",
    "RETRY_TIMES=1",
    "-s",
    "PATROLI_RETRY_BACKOFF_BASE=0.05",
    "-s",
    "PATROLI_MONITORS_ENABLED=False",
)
MIB = 1024 * 1024
ADDRESS_SPACE = 2048 * MIB  # a safety net: a crawl that reads /dev/zero fails, not the machine


@dataclass
class Patrol:
    returncode: int
    runs: dict[str, dict[str, Any]]
    peak_rss: int  # bytes, of the crawl process
    stderr: str


@dataclass
class Hostile:
    benign: Patrol
    hostile: Patrol
    store: Path
    listener: ConnectionListener
    site_state: dict[str, Any]
    site_port: str


def patrol(demo_url: str, store: Path, name: str) -> Patrol:
    """``patroli crawl`` of every hostile source, with the peak memory of the crawl process."""
    summary = store.with_name(f"{name}.json")
    done = run_patroli_measured(
        "crawl",
        "--sources",
        str(REGISTRY),
        "--store",
        f"sqlite:///{store}",
        "--summary-json",
        str(summary),
        *QUICK,
        env={"PATROLI_DEMO_URL": demo_url},
        address_space=ADDRESS_SPACE,
    )
    runs = json.loads(summary.read_text()) if summary.exists() else []
    return Patrol(done.returncode, {r["source"]: r for r in runs}, done.peak_rss, done.stderr)


@pytest.fixture(scope="module")
def patrolled(tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = tmp_path_factory.mktemp("hostile")
    canary = directory / "canary.txt"
    canary.write_text(f"{CANARY}\n", encoding="utf-8")
    store = directory / "patroli.db"
    with ConnectionListener() as listener, DemoSitesProcess(port=0, hostile=True) as sites:
        sites.configure_hostile(mode="benign", listener_port=listener.port, canary=str(canary))
        benign = patrol(sites.url, store, "benign")
        assert benign.returncode == 0, benign.stderr[-3000:]
        sites.configure_hostile(mode="hostile", reset_hosts=1)
        hostile = patrol(sites.url, store, "hostile")
        state = sites.configure_hostile()
        yield Hostile(benign, hostile, store, listener, state, sites.url.rsplit(":", 1)[-1])


def stat(run: dict[str, Any], key: str) -> int:
    return int(run["stats"].get(key) or 0)


def test_every_spider_kind_patrols_the_hostile_pages(patrolled: Hostile) -> None:
    kinds = {run["kind"] for run in patrolled.hostile.runs.values()}
    assert kinds == set(SPIDER_BY_KIND)
    assert all(run["pages"] > 0 for run in patrolled.hostile.runs.values())


def test_no_request_leaves_the_sources_hosts(patrolled: Hostile) -> None:
    assert patrolled.listener.connections == []
    # The site itself was only ever asked for under the host and port of the sources.
    assert set(patrolled.site_state["hosts_seen"]) == {f"127.0.0.1:{patrolled.site_port}"}


def test_nothing_of_a_local_file_is_stored(patrolled: Hostile) -> None:
    stored = b"".join(p.read_bytes() for p in patrolled.store.parent.glob("patroli.db*"))
    assert CANARY.encode() not in stored
    assert b"root:x:0:0" not in stored  # /etc/passwd
    assert b"LISTENER-CANARY" not in stored
    with closing(sqlite3.connect(patrolled.store)) as db:
        urls = [row[0] for row in db.execute("select url from ads")]
        titles = [row[0] for row in db.execute("select title from ads")]
    assert urls
    assert not [title for title in titles if "DATA-URI" in title]  # no data: URL was read
    assert all(url.startswith(f"http://127.0.0.1:{patrolled.site_port}/") for url in urls), urls


def test_memory_stays_bounded(patrolled: Hostile) -> None:
    # Bombs, streams and floods may cost at most a few capped responses (DOWNLOAD_MAXSIZE, 5 MiB)
    # per concurrent request more than crawling the same sources' ordinary pages.
    grown = patrolled.hostile.peak_rss - patrolled.benign.peak_rss
    assert grown < 256 * MIB, (patrolled.benign.peak_rss // MIB, patrolled.hostile.peak_rss // MIB)


def test_the_run_ends_degraded_with_the_reasons_counted(patrolled: Hostile) -> None:
    runs = patrolled.hostile.runs
    assert patrolled.hostile.returncode == 3, patrolled.hostile.stderr[-3000:]
    assert {name: run["status"] for name, run in runs.items()} == dict.fromkeys(runs, "degraded")
    for name in ("hostile_classifieds", "hostile_search", "hostile_jobs", "hostile_sitemap"):
        run = runs[name]
        for reason in ("off_host", "scheme", "malformed"):
            assert stat(run, f"patroli/scope/refused/{reason}") > 0, (name, reason)
        assert stat(run, "patroli/scope/refused_redirects") >= 20, (
            name
        )  # 5 codes, 7 targets + refreshes
        for kind in ("javascript", "mailto", "file", "ftp", "data", "malformed"):
            assert stat(run, f"patroli/links/unusable/{kind}") > 0, (name, kind)
        assert any("refused by the crawl scope" in note for note in run["notes"]), run["notes"]
        assert run["finish_reason"] == "finished"  # slowloris, streams and bombs did not hold it up
    telegram = runs["hostile_telegram"]
    assert (
        stat(telegram, "patroli/scope/refused/off_host") == 3
    )  # plain, protocol-relative, redirected
    assert stat(telegram, "patroli/links/unusable/javascript") == 1
    feed = runs["hostile_feed"]
    assert stat(feed, "patroli/scope/refused/off_host") == 3  # rel=next of three feeds
    assert stat(feed, "patroli/scope/refused/scheme") == 1  # rel=next redirected to file:


def test_a_link_flood_is_stopped_by_the_request_budget(patrolled: Hostile) -> None:
    flood = patrolled.hostile.runs["hostile_flood"]
    assert flood["finish_reason"] == "budget_requests"
    assert stat(flood, "downloader/request_count") <= 150  # of 20,001 links
    assert any("requests budget of this run was spent" in note for note in flood["notes"])


def test_pagination_without_end_is_stopped_by_the_depth_budget(patrolled: Hostile) -> None:
    jobs = patrolled.hostile.runs["hostile_jobs"]
    assert stat(jobs, "patroli/budget/depth_refused") >= 1
    assert any("beyond the depth budget" in note for note in jobs["notes"])


def test_stored_ads_of_the_earlier_patrol_are_not_marked_gone(patrolled: Hostile) -> None:
    assert sum(run["items"] for run in patrolled.benign.runs.values()) > 30
    with closing(sqlite3.connect(patrolled.store)) as db:
        gone = db.execute("select source, url from ads where gone_at is not null").fetchall()
    assert gone == []
    for name in ("hostile_classifieds", "hostile_jobs", "hostile_sitemap"):
        assert stat(patrolled.hostile.runs[name], "patroli/incremental/gone") == 0


def test_entities_in_feeds_and_sitemaps_are_not_expanded(patrolled: Hostile) -> None:
    with closing(sqlite3.connect(patrolled.store)) as db:
        texts = [row[0] for row in db.execute("select text from ads where source = 'hostile_feed'")]
    assert texts
    assert max(len(text) for text in texts) < 2000  # no billion laughs
    assert not any("lollol" in text for text in texts)
    assert not any(CANARY in text for text in texts)


def test_bombs_streams_and_slow_answers_are_cut_off(patrolled: Hostile) -> None:
    log = patrolled.hostile.stderr
    for bomb in ("gzip-bomb", "deflate-bomb", "gzip-gzip-bomb"):
        assert re.search(
            rf"Ignored response <200 \S+/hostile/{bomb}> because its body .{{0,80}}"
            r"exceeded DOWNLOAD_MAXSIZE \(5242880 B\) during decompression",
            log,
        ), bomb
    for slow in ("slowloris", "slow-headers"):
        assert re.search(rf"Getting \S+/hostile/{slow} took longer than 5.0 seconds", log), slow
    assert re.search(
        r"(larger than download max size \(5242880\) in request <GET \S+/hostile/stream>"
        r"|Getting \S+/hostile/stream took longer than 5.0 seconds)",
        log,
    )
