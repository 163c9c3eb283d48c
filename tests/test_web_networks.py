"""The web pages of clusters, networks and the agency register, over HTTP against the real app:
the template with its varying parts marked, deciding once for a cluster (audited per ad), the
network drawn as SVG without scripts, the dashboard's networks and trends, the register's source."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from patroli.agencies.importer import read_register
from patroli.demosites.data import DEMO_REGISTER
from patroli.storage import Store
from tests.helpers.webkit import LiveServer, ad, logged_in, seed_store, web_settings

NOW = datetime.now(UTC).isoformat()
TEMPLATE = (
    "LOKER KAMBOJA admin chat / CS online, penempatan Phnom Penh. Gaji {gaji} USD + bonus, mess dan "
    "makan gratis, tiket ditanggung. Tanpa ijazah, tanpa pengalaman, interview zoom lalu berangkat. "
    "Hubungi WA {phone}"
)


def posting(ad_id: str, phone: str, gaji: str, **extra: object) -> dict[str, object]:
    e164 = "+62" + phone.lstrip("0").replace("-", "")
    return ad(
        ad_id,
        title="",
        text=TEMPLATE.format(gaji=gaji, phone=phone),
        phones=[e164],
        whatsapp=[],
        telegram=[],
        crawled_at=NOW,
        content_hash=f"h-{ad_id}",
        **extra,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    store: Store = seed_store(f"sqlite:///{tmp_path_factory.mktemp('webnet') / 'web.db'}")
    for kind, path in DEMO_REGISTER:
        result = read_register(path, kind, source=f"demo ({path.name})")
        store.record_register_import(result.meta, result.entries)
    store.upsert_ads(
        [
            posting(
                "rp0000000000000000000001",
                "0812-5557-1101",
                "1.200",
                province="ID-NB",
                transit=["Nunukan"],
                job_type="office_online",
            ),
            posting(
                "rp0000000000000000000002",
                "0812-5557-1102",
                "1.300",
                province="ID-NB",
                transit=["Nunukan"],
                job_type="office_online",
            ),
            posting(
                "rp0000000000000000000003",
                "0812-5557-1102",
                "1.250",
                agency_id="KEP.5551/DEMO/2026",
                reason_codes=["register:impersonation|agency=PT Bina Tenaga Demo Sejahtera"],
            ),
        ]
    )
    with LiveServer(store, web_settings()) as live:
        yield live
    store.close()


def cluster_of(server: LiveServer, ad_id: str) -> str:
    return str(server.app.state.patroli.store.get_ad(ad_id)["cluster_id"])


def test_cluster_page_marks_what_varies_and_decides_for_every_member(server: LiveServer) -> None:
    cluster_id = cluster_of(server, "rp0000000000000000000001")
    with logged_in(server.url, "ana") as client:
        page = client.get(f"/clusters/{cluster_id}")
        assert page.status_code == 200
        marked = re.findall(r'<mark class="varies">([^<]*)</mark>', page.text)
        assert any("1101" in m or "1102" in m for m in marked), marked
        assert "Phnom Penh" not in "".join(marked)
        versions = re.findall(r'name="versions" value="([^"]+)"', page.text)
        assert len(versions) == 3
        token = client.csrf(f"/clusters/{cluster_id}")
        done = client.post(
            f"/clusters/{cluster_id}/review",
            data={
                "csrf_token": token,
                "decision": "confirmed",
                "note": "satu modus",
                "versions": versions,
            },
        )
        assert done.status_code == 303
        assert "n=3" in done.headers["location"]
    store = server.app.state.patroli.store
    for ad_id in (
        "rp0000000000000000000001",
        "rp0000000000000000000002",
        "rp0000000000000000000003",
    ):
        assert store.get_ad(ad_id)["status"] == "confirmed"
        assert [e["actor"] for e in store.audit_log(target=ad_id)] == ["ana"]
    # A new repost lands in the queue marked, though the model did not flag it.
    store.upsert_ads(
        [posting("rp0000000000000000000004", "0812-5557-1199", "1.400", flagged=False, risk=0.3)]
    )
    with logged_in(server.url, "ana") as client:
        queue = client.get("/queue")
    assert (
        "like a confirmed cluster" in queue.text
        or "mirip klaster yang sudah dikonfirmasi" in queue.text
    )
    assert "rp0000000000000000000004" in queue.text


def test_network_page_draws_an_svg_graph_without_scripts(server: LiveServer) -> None:
    network_id = server.app.state.patroli.store.get_ad("rp0000000000000000000001")["network_id"]
    with logged_in(server.url, "ivan") as client:
        page = client.get(f"/networks/{network_id}")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    svg = page.text[page.text.index('<svg class="graph"') :]
    svg = svg[: svg.index("</svg>")]
    assert svg.count("<circle") >= 3
    assert "<script" not in svg.lower()
    assert "+6281255571102" in page.text
    assert (
        re.search(r"<script(?![^>]*src=\"/static/app\.js\")", page.text) is None
    )  # no inline script


def test_dashboard_lists_the_largest_networks_and_the_trends(server: LiveServer) -> None:
    network_id = server.app.state.patroli.store.get_ad("rp0000000000000000000001")["network_id"]
    with logged_in(server.url, "ivan") as client:
        page = client.get("/")
    assert network_id in page.text
    assert "ID-NB → Nunukan → KH" in page.text


def test_agency_pages_show_the_register_source_and_the_agencys_ads(server: LiveServer) -> None:
    with logged_in(server.url, "ana") as client:
        listing = client.get("/agencies")
        agency = client.get("/agencies/KEP.5551/DEMO/2026")
        ad_page = client.get("/ads/rp0000000000000000000003")
    assert "demo (p3mi_licences.csv)" in listing.text
    assert "PT Bina Tenaga Demo Sejahtera" in agency.text
    assert "rp0000000000000000000003" in agency.text
    assert "+6281255581010" in agency.text  # the official contacts
    assert "PT Bina Tenaga Demo Sejahtera" in ad_page.text
