"""The web app on the search-engine backends: the same pages and decisions as on SQLite, through the
same Store interface, against the real OpenSearch and Elasticsearch nodes of the test session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from patroli.storage import Store
from patroli.web.accounts import create_user
from tests.helpers.engines import open_engine_store
from tests.helpers.webkit import PASSWORDS, ROLE_OF, LiveServer, logged_in, seed_ads, web_settings

pytestmark = pytest.mark.crawl
AD = "kh0000000000000000000001"


@pytest.fixture(params=["opensearch", "elasticsearch"])
def engine_server(
    request: pytest.FixtureRequest, engines: dict[str, Any]
) -> Iterator[tuple[LiveServer, Store]]:
    engine = engines[request.param]
    prefix = f"w{uuid.uuid4().hex[:10]}"
    store = open_engine_store(engine, prefix)
    store.upsert_ads(seed_ads("http://127.0.0.1:9/canary"))
    for name, role in ROLE_OF.items():
        create_user(store, name, role, PASSWORDS[name], actor="tests")
    try:
        with LiveServer(store, web_settings()) as server:
            yield server, store
    finally:
        store.close()
        engine.drop_prefix(prefix)


def test_queue_ad_page_review_audit_search_and_dashboard_on_an_engine(
    engine_server: tuple[LiveServer, Store],
) -> None:
    server, store = engine_server
    with logged_in(server.url, "ana") as analyst:
        queue = analyst.get("/queue")
        assert queue.status_code == 200
        assert "LOKER ADMIN KAMBOJA" in queue.text
        page = analyst.get(f"/ads/{AD}")
        assert page.status_code == 200
        assert "+6281255512345" in page.text
        token = analyst.csrf(f"/ads/{AD}")
        decided = analyst.post(
            f"/ads/{AD}/review",
            {
                "decision": "confirmed",
                "note": "jelas",
                "csrf_token": token,
                "expected_version": "1",
            },
        )
        assert decided.status_code == 303
        stale = analyst.post(
            f"/ads/{AD}/review",
            {"decision": "dismissed", "csrf_token": token, "expected_version": "1"},
        )
        assert stale.status_code == 409  # the engine's optimistic concurrency, surfaced by the app
    assert store.get_ad(AD)["status"] == "confirmed"
    with logged_in(server.url, "adi") as admin:
        audit = admin.get("/admin/audit")
        assert audit.status_code == 200
        assert "confirmed" in audit.text
        assert admin.get("/").status_code == 200  # dashboard: stats from the engine's aggregations
    with logged_in(server.url, "ivan") as investigator:
        found = investigator.get("/search?q=kamboja+country%3AKH")
        assert found.status_code == 200
        assert "LOKER ADMIN KAMBOJA" in found.text
        exported = investigator.post(
            "/search/export.csv", {"q": "kamboja", "csrf_token": investigator.csrf("/search")}
        )
        assert exported.status_code == 200
        assert "LOKER ADMIN KAMBOJA" in exported.text
