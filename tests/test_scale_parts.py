"""The parts of issue 17 that need no Redis: the bench site, missed scheduled runs, the deploy files."""

from __future__ import annotations

import re
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from crawler.sources import SourceConfig
from patroli.config import BY_ENV
from patroli.demosites.bench import BENCH_PAGE_SIZE, BENCH_PER_CATEGORY, bench_ad, bench_listing
from patroli.demosites.process import DemoSitesProcess
from patroli.patrol.missed import MissedReporter, last_started
from patroli.patrol.scheduler import Clock, Scheduler, count_missed
from patroli.storage import open_store
from tests.helpers.cli import ROOT

FICTIONAL_PHONE = re.compile(r"08\d\d-555\d-\d{4}")


# --- the bench site ---------------------------------------------------------------------------


def test_bench_ads_are_deterministic_distinct_and_fictional() -> None:
    assert bench_ad(12_345) == bench_ad(12_345)
    ads = [bench_ad(n) for n in range(2000)]
    assert len({(a["title"], a["description"]) for a in ads}) == 2000
    for ad in ads[:200]:
        phones = re.findall(r"08[\d-]+", ad["description"])
        assert phones
        assert all(FICTIONAL_PHONE.fullmatch(p) for p in phones), phones
        assert re.fullmatch(r"/bench/item/[a-z0-9\-]+-iid-\d+", ad["path"])


def test_bench_listings_cover_every_ad_once() -> None:
    total = BENCH_PER_CATEGORY + 130
    seen: list[str] = []
    for category in (0, 1):
        page, pages = 1, 1
        while page <= pages:
            ads, pages = bench_listing(total, category, page)
            seen += [a["id"] for a in ads]
            page += 1
    assert seen == [f"b{n}" for n in range(total)]
    assert bench_listing(total, 0, 1)[0][:1] == [bench_ad(0)]
    assert len(bench_listing(total, 0, 1)[0]) == BENCH_PAGE_SIZE


def test_the_bench_site_serves_its_ads_after_the_latency_it_was_given() -> None:
    with DemoSitesProcess(port=0, bench_ads=120, latency=0.3) as sites:
        started = time.monotonic()
        with urllib.request.urlopen(f"{sites.url}/bench/c0?page=2", timeout=10) as response:
            listing = response.read().decode()
        assert time.monotonic() - started >= 0.3
        assert listing.count('data-aut-id="itemBox"') == 50
        ad = bench_ad(119)
        with urllib.request.urlopen(f"{sites.url}{ad['path']}", timeout=10) as response:
            page = response.read().decode()
        assert ad["seller"] in page
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"{sites.url}/bench/item/x-iid-120", timeout=10)


# --- missed scheduled runs --------------------------------------------------------------------


class FixedClock(Clock):
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


def test_scheduled_times_that_passed_while_nothing_ran_are_counted() -> None:
    due = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert count_missed("0 2 * * *", due, due + timedelta(minutes=1), grace=120) == 0  # on time
    assert count_missed("0 2 * * *", due, datetime(2026, 12, 3, 10, 0, tzinfo=UTC), 120) == 3
    assert count_missed("0 */6 * * *", due, due + timedelta(hours=13), grace=120) == 3


def test_a_scheduler_that_was_down_reports_its_missed_runs_then_catches_up(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'p.db'}"
    source = SourceConfig(name="demo_pasarloka", kind="classifieds", schedule="0 2 * * *")
    with open_store(store_url) as store:  # the last run, three nights ago
        store.record_run(
            {
                "run_id": "r1",
                "source": source.name,
                "started_at": "2026-11-28T02:00:03+00:00",
                "finished_at": "2026-11-28T02:05:00+00:00",
                "status": "ok",
                "notes": [],
                "stats": {},
            }
        )
    now = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    missed: list[tuple[str, int, datetime]] = []
    opened: list[str] = []

    def on_missed(src: SourceConfig, count: int, since: datetime) -> None:
        missed.append((src.name, count, since))
        MissedReporter(store_url)(src, count, since)

    def enqueue(src: SourceConfig) -> bool:
        opened.append(src.name)
        return True

    scheduler = Scheduler(
        [source],
        lambda s: ["true"],
        clock=FixedClock(now),
        enqueue=enqueue,
        last_started=last_started(store_url),
        on_missed=on_missed,
    )
    scheduler.tick()
    assert missed == [("demo_pasarloka", 3, datetime(2026, 11, 29, 2, 0, tzinfo=UTC))]
    assert opened == ["demo_pasarloka"]  # caught up at once
    assert scheduler.slots[0].missed == 3
    assert scheduler.slots[0].next_at == datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    scheduler.tick()
    assert len(missed) == 1  # reported once
    with open_store(store_url) as store:
        runs: list[dict[str, Any]] = store.list_runs(source=source.name)
    assert runs[0]["status"] == "failed"
    assert runs[0]["stats"]["patroli/schedule/missed"] == 3
    assert "missed: 3 scheduled run(s)" in runs[0]["notes"][0]


# --- deploy files -----------------------------------------------------------------------------


def test_the_compose_file_runs_redis_opensearch_dashboards_workers_scheduler_and_web() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"redis", "opensearch", "dashboards", "worker", "scheduler", "web"}
    assert services["worker"]["command"][0] == "worker"
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert services["scheduler"]["command"] == ["schedule"]
    assert services["web"]["command"][0] == "serve"
    for name in ("worker", "scheduler", "web"):
        env = services[name]["environment"]
        assert env["PATROLI_FRONTIER"].startswith("redis://redis:")
        assert env["PATROLI_STORE"].startswith("https://opensearch:")
        assert set(env) <= set(BY_ENV), set(env) - set(BY_ENV)  # only settings patroli knows
        assert set(services[name]["depends_on"]) == {"redis", "opensearch"}
        build = services[name]["build"]
        assert (ROOT / "deploy" / build["context"] / build["dockerfile"]).exists()
    assert "PATROLI_SECRET_KEY" in services["web"]["environment"]
    assert "PATROLI_SECRET_KEY" not in services["worker"]["environment"]
    assert "--appendonly" in services["redis"]["command"]
    for service in services.values():  # nothing listens beyond the machine by default
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), port
    assert set(compose["volumes"]) == {"redisdata", "osdata"}


def test_the_worker_unit_is_a_template_that_stops_gracefully() -> None:
    unit = (ROOT / "deploy" / "patroli-worker@.service").read_text()
    service = dict(
        line.split("=", 1)
        for line in unit.split("[Service]")[1].split("[Install]")[0].splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert service["ExecStart"].endswith("patroli worker --max-parallel 2")
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert "%i" in service["Environment"]
    assert "WantedBy=multi-user.target" in unit
