"""A whole patrol over real HTTP (the demo sites on loopback), through the real pipeline, into SQLite."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from patroli.demosites.process import DemoSitesProcess
from patroli.storage import open_store
from tests.helpers.cli import crawl, run_patroli
from tests.helpers.demotruth import KNOWN_DOMESTIC, KNOWN_ILLEGAL, ad_id_of, truth

pytestmark = pytest.mark.crawl


@pytest.fixture(scope="module")
def patrolled(
    demo_sites: DemoSitesProcess, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, list[dict], Path]:
    directory = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{directory / 'patroli.db'}"
    # As deployed: extraction and scoring in a worker process (the other crawl tests run them in a
    # thread of the crawl process, PATROLI_WORKERS=0).
    result, runs = crawl(
        demo_sites.url,
        url,
        "demo_pasarloka",
        "demo_telegram",
        "demo_kerjanusa",
        "demo_fb_group",
        env={"PATROLI_WORKERS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return url, runs, directory


def test_every_listed_ad_of_every_source_is_stored(patrolled: tuple[str, list[dict], Path]) -> None:
    url, runs, _ = patrolled
    expected = Counter(record["source"] for record in truth().values())
    assert {run["source"]: run["items"] for run in runs} == dict(expected)
    assert {run["source"]: run["new"] for run in runs} == dict(expected)
    with open_store(url) as store:
        assert store.count() == sum(expected.values())
        stored_ids = {hit["ad_id"] for hit in store.search("", limit=10_000).hits}
    assert stored_ids == set(truth())
    assert all(run["status"] == "ok" for run in runs)


def test_known_illegal_ads_are_flagged_and_known_domestic_ads_are_not(
    patrolled: tuple[str, list[dict], Path],
) -> None:
    url, _, _ = patrolled
    with open_store(url) as store:
        for source, ids in KNOWN_ILLEGAL.items():
            for record_id in ids:
                ad = store.get_ad(ad_id_of(source, record_id))
                assert ad["flagged"], (source, record_id, ad["risk"], ad["title"])
                assert ad["reasons"], (source, record_id)
        for source, ids in KNOWN_DOMESTIC.items():
            for record_id in ids:
                ad = store.get_ad(ad_id_of(source, record_id))
                assert not ad["flagged"], (source, record_id, ad["risk"], ad["title"])


def test_stored_ads_carry_evidence_dates_and_entities(
    patrolled: tuple[str, list[dict], Path],
) -> None:
    url, _, _ = patrolled
    with open_store(url) as store:
        ads = store.search("", limit=10_000).hits
        assert all(ad["posted_at"] and ad["posted_at"].endswith("+00:00") for ad in ads)
        assert all(ad["model_version"] and 0 <= ad["risk"] <= 1 for ad in ads)
        with_phone = [ad for ad in ads if ad["phones"]]
        assert len(with_phone) > len(ads) / 3
        assert all(p.startswith("+") for ad in with_phone for p in ad["phones"])
        sample = store.get_ad(ads[0]["ad_id"], with_evidence=True)
        assert sample["evidence"]
        assert sample["evidence"][0]["html"]
        # the demo data links one recruiter's number across the classifieds and the job board
        linked = store.search("phone:0812-5553-7781", limit=50).hits
        assert {hit["source"] for hit in linked} == {"demo_pasarloka", "demo_kerjanusa"}


def test_second_crawl_adds_no_duplicates_and_keeps_the_review(
    patrolled: tuple[str, list[dict], Path], demo_sites: DemoSitesProcess
) -> None:
    url, first_runs, directory = patrolled
    reviewed = ad_id_of("demo_pasarloka", "c0001")
    done = run_patroli(
        "review",
        reviewed,
        "--decision",
        "confirmed",
        "--note",
        "modus Kamboja",
        "--reviewer",
        "analis1",
        "--store",
        url,
    )
    assert done.returncode == 0, done.stderr
    with open_store(url) as store:
        before = store.get_ad(reviewed)
        total = store.count()
    result, runs = crawl(
        demo_sites.url,
        url,
        "demo_pasarloka",
        "demo_telegram",
        "demo_kerjanusa",
        "demo_fb_group",
        summary=directory / "second.json",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert sum(run["new"] for run in runs) == 0
    # Unchanged ads are recognised without downloading them; Telegram and the feed are re-read.
    by_source = {run["source"]: run for run in runs}
    first = {run["source"]: run for run in first_runs}
    assert by_source["demo_pasarloka"]["unchanged"] == first["demo_pasarloka"]["items"]
    assert by_source["demo_fb_group"]["updated"] == first["demo_fb_group"]["items"]
    with open_store(url) as store:
        after = store.get_ad(reviewed)
        assert store.count() == total
        assert store.review_history(reviewed)[0]["note"] == "modus Kamboja"
    assert (after["status"], after["reviewed_by"], after["review_note"]) == (
        "confirmed",
        "analis1",
        "modus Kamboja",
    )
    assert after["first_seen"] == before["first_seen"]
    assert after["last_seen"] > before["last_seen"]


def test_search_cli_json_contract(patrolled: tuple[str, list[dict], Path]) -> None:
    url, _, _ = patrolled
    result = run_patroli(
        "search", "flagged:true country:KH", "--json", "--store", url, "--limit", "5"
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["total"] >= 5
    assert len(payload["hits"]) == 5
    for hit in payload["hits"]:
        assert {"id", "url", "title", "risk", "flagged", "status"} <= set(hit)
        assert hit["flagged"] is True
        assert "KH" in hit["countries"]
