"""Clusters, networks and the register over a real demo patrol (the demo sites on loopback, the real
pipelines, the fictional register imported first), measured against the demo's ground truth
(patroli/demosites/data/networks_truth.json)."""

from __future__ import annotations

import json
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from patroli.demosites.data import DEMO_REGISTER
from patroli.demosites.process import DemoSitesProcess
from patroli.storage import open_store
from tests.helpers.cli import crawl, run_patroli
from tests.helpers.networktruth import network_truth, pairwise

pytestmark = pytest.mark.crawl
SOURCES = ("demo_pasarloka", "demo_telegram", "demo_kerjanusa", "demo_fb_group")


@pytest.fixture(scope="module")
def patrolled(demo_sites: DemoSitesProcess, tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("networks")
    url = f"sqlite:///{directory / 'patroli.db'}"
    for kind, path in DEMO_REGISTER:
        result = run_patroli("agencies", "import", str(path), "--kind", kind, "--store", url)
        assert result.returncode == 0, result.stderr
    result, runs = crawl(demo_sites.url, url, *SOURCES)
    assert result.returncode == 0, result.stderr[-3000:]
    assert all(run["status"] == "ok" for run in runs)
    return url


def assigned(url: str, field: str) -> dict[str, str]:
    with open_store(url) as store:
        return {h["ad_id"]: h[field] for h in store.search("", limit=10_000).hits}


def test_every_ad_has_a_cluster_and_each_family_is_one_cluster(patrolled: str) -> None:
    clusters = assigned(patrolled, "cluster_id")
    assert all(clusters.values())
    families = network_truth()["families"]
    precision, recall = pairwise(clusters, families)
    sys.stdout.write(
        f"\nclusters against the demo truth: pairwise precision {precision:.3f}, recall {recall:.3f}\n"
    )
    sizes = Counter(clusters.values())
    for name, members in families.items():
        ids = {clusters[a] for a in members}
        assert len(ids) == 1, (name, ids)
        assert sizes[ids.pop()] == len(members), name  # nothing else in the family's cluster
    assert (precision, recall) == (1.0, 1.0)


def test_known_networks_are_components_and_the_generic_number_merges_nothing(
    patrolled: str,
) -> None:
    nets = assigned(patrolled, "network_id")
    truth = network_truth()
    sizes = Counter(nets.values())
    found = {}
    for name, members in truth["networks"].items():
        ids = {nets[a] for a in members}
        assert len(ids) == 1, (name, ids)
        found[name] = ids.pop()
        assert sizes[found[name]] == len(members), name
    assert len(set(found.values())) == len(found)  # no two recruiter networks merged
    with open_store(patrolled) as store:
        generic = {g["key"] for g in store.generic_identifiers()}
        assert set(truth["generic"]) <= generic
        carriers = store.search("phone:0811-5550-1500", limit=100).hits
        network = store.get_network(found["N1_asia_cs"])
    assert len({h["network_id"] for h in carriers}) >= 6  # the hotline's posts stay apart
    hotline = [i for i in network["identifiers"] if i["value"] == "+6281155501500"]
    assert [i["generic"] for i in hotline] == [True]
    assert network["sources"].keys() >= {"demo_telegram", "demo_pasarloka", "demo_fb_group"}
    assert set(network["destinations"]) >= {"KH", "MM"}


def test_network_command_and_query(patrolled: str) -> None:
    truth = network_truth()
    ad_id = truth["networks"]["N2_sponsor_sarah"][0]
    with open_store(patrolled) as store:
        network_id = store.get_ad(ad_id)["network_id"]
    shown = run_patroli("network", network_id, "--json", "--store", patrolled)
    assert shown.returncode == 0, shown.stderr
    body: dict[str, Any] = json.loads(shown.stdout)
    assert {a["ad_id"] for a in body["ads"]} == set(truth["networks"]["N2_sponsor_sarah"])
    assert any(i["key"] == "bank:BNI:0550555733" for i in body["identifiers"])
    searched = run_patroli(
        "search", f"network:{network_id}", "--json", "--limit", "100", "--store", patrolled
    )
    assert json.loads(searched.stdout)["total"] == len(truth["networks"]["N2_sponsor_sarah"])
    listed = json.loads(run_patroli("networks", "list", "--json", "--store", patrolled).stdout)
    assert network_id in {n["network_id"] for n in listed}
    missing = run_patroli("network", "n-nothing", "--store", patrolled)
    assert missing.returncode == 1
    assert "no network n-nothing" in missing.stderr


def test_the_register_check_reasons(patrolled: str) -> None:
    cases = network_truth()["register"]
    with open_store(patrolled) as store:

        def codes(ad_id: str) -> list[str]:
            return [c.split("|")[0] for c in store.get_ad(ad_id)["reason_codes"]]

        for ad_id in cases["licensed_match"] + cases["licensed_match_no_job_order"]:
            ad = store.get_ad(ad_id)
            assert "register:licensed_match" in codes(ad_id), ad["reason_codes"]
            assert "indicator:no_licence" not in codes(ad_id)
            assert not ad["flagged"]
            assert ad["register_import"]
        assert "register:no_job_order" in codes(cases["licensed_match_no_job_order"][0])
        assert "register:no_job_order" not in codes(cases["licensed_match"][0])
        for finding in ("impersonation", "licence_unknown", "licence_expired", "licence_revoked"):
            for ad_id in cases[finding]:
                ad = store.get_ad(ad_id)
                assert f"register:{finding}" in codes(ad_id), (finding, ad["reason_codes"])
                assert ad["reason_codes"][0].startswith(f"register:{finding}")  # raising: first
                if finding != "licence_expired":  # a lapsed branch is a lead, not always a flag
                    assert ad["flagged"], finding
                assert "register:licensed_match" not in codes(ad_id)
        impostor = store.get_ad(cases["impersonation"][0])
        assert impostor["agency_id"] == "KEP.5551/DEMO/2026"
        assert any("PT Bina Tenaga Demo Sejahtera" in r for r in impostor["reasons"])
        assert (
            store.count("agency:KEP.5551/DEMO/2026") == 3
        )  # the agency's two ads and the impostor


def test_cluster_review_on_the_demo_decides_every_member_audited_per_ad(
    patrolled: str, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.db"
    shutil.copy(patrolled.removeprefix("sqlite:///"), copy)
    family = network_truth()["families"]["F1_kamboja_admin_chat"]
    with open_store(f"sqlite:///{copy}") as store:
        cluster_id = store.get_ad(family[0])["cluster_id"]
        versions = {m["ad_id"]: m["version"] for m in store.get_cluster(cluster_id)["members"]}
        outcome = store.review_cluster(
            cluster_id,
            "confirmed",
            reviewer="analis1",
            note="satu template",
            expected_versions=versions,
        )
        assert sorted(outcome["decided"]) == sorted(family)
        for ad_id in family:
            assert store.get_ad(ad_id)["status"] == "confirmed"
            assert [e["action"] for e in store.audit_log(target=ad_id)] == ["review"]
        assert store.count(f"cluster:{cluster_id} status:confirmed") == len(family)
