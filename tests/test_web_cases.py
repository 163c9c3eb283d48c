"""The case pages over HTTP against the real app: an investigator creates a case from the case
list, adds a recruiter network from the network's page, sees its ads on the case page, writes a
note, records where the case was sent, holds an ad; every step audited. Analysts cannot reach
them. The takedown tracker lists a request and takes a status by hand. The export button returns
a bundle that checks out (rendered with Debian's chromium)."""

from __future__ import annotations

import re
import urllib.parse
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from patroli.cases.verify import verify_bundle
from patroli.storage import Store
from tests.helpers.webkit import LiveServer, ad, logged_in, seed_store, web_settings

NOW = datetime.now(UTC).isoformat()
TEXT = (
    "LOKER KAMBOJA admin chat, penempatan Phnom Penh. Gaji {gaji} USD, tiket ditanggung, tanpa "
    "pengalaman, langsung berangkat. Hubungi WA {phone}"
)
RING = ("wc0000000000000000000001", "wc0000000000000000000002", "wc0000000000000000000003")


def posting(ad_id: str, phone: str, gaji: str) -> dict[str, object]:
    e164 = "+62" + phone.lstrip("0").replace("-", "")
    return ad(
        ad_id,
        title=f"Admin chat {gaji}",
        text=TEXT.format(gaji=gaji, phone=phone),
        phones=[e164],
        whatsapp=[],
        telegram=[],
        crawled_at=NOW,
        content_hash=f"h-{ad_id}",
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    store: Store = seed_store(f"sqlite:///{tmp_path_factory.mktemp('webcases') / 'web.db'}")
    store.upsert_ads(
        [
            posting(RING[0], "0812-5557-2201", "1.200"),
            posting(RING[1], "0812-5557-2201", "1.300"),
            posting(RING[2], "0812-5557-2201", "1.250"),
        ]
    )
    with LiveServer(store, web_settings()) as live:
        yield live
    store.close()


def test_a_case_built_from_a_network_on_the_web(server: LiveServer) -> None:
    store = server.app.state.patroli.store
    network_id = store.get_ad(RING[0])["network_id"]
    with logged_in(server.url, "ivan") as client:
        token = client.csrf("/cases")
        created = client.post(
            "/cases",
            data={
                "csrf_token": token,
                "title": "Jaringan admin chat <b>",
                "province": "Jawa Barat",
                "description": "dari patroli",
            },
        )
        assert created.status_code == 303
        case_url = created.headers["location"].split("?")[0]
        case_id = urllib.parse.unquote(case_url.rsplit("/", 1)[1])
        listing = client.get("/cases")
        assert "Jaringan admin chat &lt;b&gt;" in listing.text
        network_page = client.get(f"/networks/{network_id}")
        assert 'action="/cases/add"' in network_page.text
        assert f'<option value="{case_id}">' in network_page.text
        added = client.post(
            "/cases/add",
            data={
                "csrf_token": client.csrf(f"/networks/{network_id}"),
                "case_id": case_id,
                "kind": "network",
                "value": network_id,
            },
        )
        assert added.status_code == 303
        page = client.get(case_url)
        assert page.status_code == 200
        rows = re.findall(r'<tr data-ad="([^"]+)"', page.text)
        assert sorted(rows) == sorted(RING)
        assert f'href="/networks/{network_id}"' in page.text
        token = client.csrf(case_url)
        assert (
            client.post(
                f"{case_url}/notes", data={"csrf_token": token, "text": "nomor sama"}
            ).status_code
            == 303
        )
        assert (
            client.post(
                f"{case_url}/routing",
                data={
                    "csrf_token": token,
                    "kind": "police",
                    "to": "Ditressiber Polda Jabar",
                    "reference": "B/1/2026",
                },
            ).status_code
            == 303
        )
        assert (
            client.post(f"/ads/{RING[0]}/hold", data={"csrf_token": token, "hold": "1"}).status_code
            == 303
        )
        bad = client.post(
            f"{case_url}/items", data={"csrf_token": token, "kind": "person", "value": "x"}
        )
        assert bad.status_code == 400
        page = client.get(case_url)
    assert "nomor sama" in page.text
    assert "Ditressiber Polda Jabar" in page.text
    case = store.get_case(case_id)
    assert [(i["kind"], i["value"]) for i in case["items"]] == [("network", network_id)]
    assert store.get_ad(RING[0])["hold"] is True
    actions = [e["action"] for e in store.audit_log(target=case_id)]
    assert {"case.create", "case.item.add", "case.note", "case.update"} <= set(actions)
    assert all(e["actor"] == "ivan" for e in store.audit_log(target=case_id))
    with logged_in(server.url, "ana") as analyst:
        assert analyst.get(case_url).status_code == 403


def test_the_takedown_tracker_takes_a_status_by_hand(server: LiveServer) -> None:
    store = server.app.state.patroli.store
    request = store.add_takedown(
        {
            "ad_id": RING[1],
            "channel": "aduankonten",
            "platform": "Telegram",
            "url": "https://t.me/demo/1",
            "agency": "KP2MI",
        },
        actor="ivan",
    )
    with logged_in(server.url, "ivan") as client:
        page = client.get("/takedowns")
        assert f'data-request="{request["id"]}"' in page.text
        token = client.csrf("/takedowns")
        moved = client.post(
            f"/takedowns/{request['id']}/status",
            data={"csrf_token": token, "status": "refused", "reason": "tautan tidak valid"},
        )
        assert moved.status_code == 303
    stored = store.list_takedowns(ad_id=RING[1])[0]
    assert (stored["status"], stored["reason"]) == ("refused", "tautan tidak valid")


@pytest.mark.browser
def test_the_case_page_exports_a_bundle_that_checks_out(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    directory = tmp_path_factory.mktemp("webexport")
    store: Store = seed_store(f"sqlite:///{directory / 'web.db'}")
    store.upsert_ads(
        [posting(RING[0], "0812-5557-2301", "1.200"), posting(RING[1], "0812-5557-2301", "1.300")]
    )
    case = store.create_case({"title": "Ekspor dari web"}, actor="ivan")
    store.add_case_item(case["id"], "network", store.get_ad(RING[0])["network_id"], actor="ivan")
    settings = web_settings(evidence_dir=str(directory / "evidence"))
    with LiveServer(store, settings) as live, logged_in(live.url, "ivan") as client:
        token = client.csrf(f"/cases/{case['id']}")
        client.http.timeout = httpx.Timeout(180)  # chromium renders the report
        response = client.post(f"/cases/{case['id']}/export", data={"csrf_token": token})
    store.close()
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    bundle = directory / "bundle.zip"
    bundle.write_bytes(response.content)
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
    assert {"SHA256SUMS", "manifest.json", "report/laporan.pdf", "README.txt"} <= names
    assert {f"ads/{RING[0]}.json", f"ads/{RING[1]}.json"} <= names
    assert verify_bundle(bundle).ok
