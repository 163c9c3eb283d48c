"""The HTTP API over real HTTP: every endpoint with each role, a revoked, an expired and a disabled
owner's token; the OpenAPI document validates and a client call is generated for each of its
operations; decisions, exports and refused tokens are audited like their pages; rate limits.
One live server for the module."""

from __future__ import annotations

import copy
import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from patroli.storage import Store, open_store
from patroli.web.api.endpoints import EXAMPLE_AD
from patroli.web.routing import ADMIN, ANALYST, ANY_ROLE, INVESTIGATOR, PUBLIC
from patroli.web.tokens import check_token, create_token, revoke_token
from tests.helpers.webkit import USER_OF, LiveServer, ad, seed_store, web_settings

AD = "kh0000000000000000000001"
# The access rules, written out independently of the app: (method, path below /api/v1) -> roles.
API_ROUTES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/me"): ANY_ROLE,
    ("GET", "/ads"): INVESTIGATOR,
    ("GET", "/ads/{ad_id}"): ANY_ROLE,
    ("GET", "/ads/{ad_id}/related"): ANY_ROLE,
    ("GET", "/ads/{ad_id}/evidence/{index}"): ANY_ROLE,
    ("POST", "/ads/{ad_id}/decision"): ANALYST,
    ("GET", "/queue"): ANALYST,
    ("POST", "/queue/decisions"): ANALYST,
    ("GET", "/runs"): ANY_ROLE,
    ("GET", "/sources"): ADMIN,
    ("GET", "/export"): INVESTIGATOR,
    ("GET", "/openapi.json"): PUBLIC,
}
CONCRETE = {"{ad_id}": AD, "{index}": "0"}
# Harmless bodies: valid JSON that changes nothing (no decision chosen).
HARMLESS = {
    "/ads/{ad_id}/decision": {"decision": ""},
    "/queue/decisions": {"decision": "", "ads": [{"ad_id": AD}]},
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    store = seed_store(f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.db'}")
    store.upsert_ads([ad(EXAMPLE_AD, title="Lowongan admin Kamboja (contoh dokumentasi)")])
    tokens = {
        role: create_token(store, store, USER_OF[role], "tests", actor="tests")[0]
        for role in ("analyst", "investigator", "admin")
    }
    revoked, record = create_token(store, store, "ivan", "revoked later", actor="tests")
    revoke_token(store, store, record["id"], actor="adi")
    with LiveServer(store, web_settings()) as live:
        yield {"server": live, "store": store, "tokens": tokens, "revoked": revoked}
    store.close()


def call(
    api: dict[str, Any], method: str, path: str, token: str | None = None, **kwargs: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers |= kwargs.pop("headers", {})
    return httpx.request(
        method, api["server"].url + "/api/v1" + path, headers=headers, timeout=30, **kwargs
    )


def concrete(template: str) -> str:
    for name, value in CONCRETE.items():
        template = template.replace(name, value)
    return template


def test_the_route_table_covers_every_api_route_and_the_document(api: dict[str, Any]) -> None:
    routes = {
        (m, r.path.removeprefix("/api/v1").replace("{index:int}", "{index}"))
        for r in api["server"].app.routes
        if r.path.startswith("/api/")
        for m in getattr(r, "methods", None) or ()
        if m != "HEAD"
    }
    assert routes == set(API_ROUTES)
    doc = call(api, "GET", "/openapi.json").json()
    documented = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}
    assert documented == set(API_ROUTES)
    for (method, path), roles in API_ROUTES.items():
        assert doc["paths"][path][method.lower()]["x-patroli-roles"] == sorted(roles)


@pytest.mark.parametrize("role", ["analyst", "investigator", "admin"])
def test_each_role_reaches_exactly_its_endpoints(api: dict[str, Any], role: str) -> None:
    token = api["tokens"][role]
    for (method, template), allowed in API_ROUTES.items():
        body = HARMLESS.get(template)
        response = call(api, method, concrete(template), token, json=body)
        if not allowed or role in allowed:
            assert response.status_code in (200, 400), (role, method, template, response.text[:300])
        else:
            assert response.status_code == 403, (role, method, template, response.status_code)
            assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("who", ["anonymous", "revoked", "malformed", "wrong secret"])
def test_every_endpoint_refuses_a_missing_or_invalid_token(api: dict[str, Any], who: str) -> None:
    good = api["tokens"]["admin"]
    token = {
        "anonymous": None,
        "revoked": api["revoked"],
        "malformed": "not-a-token",
        "wrong secret": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
    }[who]
    for (method, template), allowed in API_ROUTES.items():
        response = call(api, method, concrete(template), token, json=HARMLESS.get(template))
        if not allowed:
            assert response.status_code == 200
            continue
        assert response.status_code == 401, (who, method, template, response.text[:200])
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["error"]["code"] in ("unauthenticated", "invalid_token")


def test_a_refused_token_is_audited_with_its_reason(api: dict[str, Any]) -> None:
    store: Store = api["store"]
    revoked_id = api["revoked"].split("_")[1]
    assert call(api, "GET", "/me", api["revoked"]).status_code == 401
    entries = store.audit_log(target=revoked_id)
    assert entries[0]["action"] == "api_token_refused"
    assert (entries[0]["actor"], entries[0]["detail"]) == ("ivan", "revoked")
    assert api["revoked"] not in str(store.audit_log(limit=1000))  # never the token itself


def test_an_expired_token_and_a_disabled_owner_are_refused(api: dict[str, Any]) -> None:
    store: Store = api["store"]
    expiring, record = create_token(store, store, "ana", "expires", actor="tests", days=1)
    assert call(api, "GET", "/me", expiring).status_code == 200
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    with store.db.write() as conn:  # type: ignore[attr-defined]
        conn.execute("UPDATE api_tokens SET expires_at = ? WHERE id = ?", (past, record["id"]))
    assert call(api, "GET", "/me", expiring).status_code == 401
    assert store.audit_log(target=record["id"])[0]["detail"] == "expired"

    from patroli.web.accounts import update_user

    token, _ = create_token(store, store, "ana", "owner disabled", actor="tests")
    update_user(store, "ana", active=False)
    try:
        assert call(api, "GET", "/me", token).status_code == 401
    finally:
        update_user(store, "ana", active=True)
    assert call(api, "GET", "/me", token).status_code == 200


def test_the_role_is_the_owners_current_one(api: dict[str, Any]) -> None:
    from patroli.web.accounts import update_user

    store: Store = api["store"]
    token, _ = create_token(store, store, "ivan", "role change", actor="tests")
    assert call(api, "GET", "/ads", token).status_code == 200
    update_user(store, "ivan", role="analyst")
    try:
        assert call(api, "GET", "/ads", token).status_code == 403
        assert call(api, "GET", "/queue", token).status_code == 200
    finally:
        update_user(store, "ivan", role="investigator")


def test_a_metrics_token_cannot_use_the_api_nor_an_api_token_the_metrics(
    api: dict[str, Any],
) -> None:
    store: Store = api["store"]
    metrics, _ = create_token(store, store, "adi", "prometheus", actor="tests", scope="metrics")
    assert call(api, "GET", "/me", metrics).status_code == 401
    url = api["server"].url + "/metrics"
    assert (
        httpx.get(url, headers={"Authorization": f"Bearer {api['tokens']['admin']}"}).status_code
        == 401
    )
    scraped = httpx.get(url, headers={"Authorization": f"Bearer {metrics}"})
    assert scraped.status_code == 200
    assert "patroli_queue_size" in scraped.text
    assert httpx.get(url).status_code == 401


def test_the_openapi_document_validates(api: dict[str, Any]) -> None:
    doc = call(api, "GET", "/openapi.json").json()
    validate(copy.deepcopy(doc))  # openapi-spec-validator: raises on any error
    assert doc["openapi"].startswith("3.1")
    broken = copy.deepcopy(doc)
    broken["paths"]["/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {
        "type": 5
    }
    with pytest.raises(Exception, match="5"):
        validate(broken)


def _schema(
    doc: dict[str, Any], operation: dict[str, Any], status: int, media: str
) -> Draft202012Validator:
    schema = operation["responses"][str(status)]["content"][media]["schema"]
    return Draft202012Validator({**schema, "components": doc["components"]})


def test_a_generated_client_calls_every_documented_operation(api: dict[str, Any]) -> None:
    """Calls come from the document alone: its server URL, paths, parameter and body examples;
    every answer must be a documented success whose body matches the documented schema."""
    doc = call(api, "GET", "/openapi.json").json()
    base = api["server"].url + doc["servers"][0]["url"]
    calls = 0
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            url, query = base + path, {}
            for param in operation["parameters"]:
                if "example" not in param:
                    continue
                if param["in"] == "path":
                    url = url.replace("{" + param["name"] + "}", str(param["example"]))
                else:
                    query[param["name"]] = param["example"]
            body = None
            if "requestBody" in operation:
                body = operation["requestBody"]["content"]["application/json"]["example"]
            headers = (
                {}
                if operation.get("security") == []
                else {"Authorization": f"Bearer {api['tokens']['admin']}"}
            )
            response = httpx.request(
                method.upper(), url, params=query, json=body, headers=headers, timeout=30
            )
            assert 200 <= response.status_code < 300, (method, path, response.text[:300])
            assert str(response.status_code) in operation["responses"]
            media = response.headers["content-type"].split(";")[0]
            errors = list(
                _schema(doc, operation, response.status_code, media).iter_errors(response.json())
            )
            assert errors == [], (method, path, [e.message for e in errors[:3]])
            calls += 1
    assert calls == len(API_ROUTES)
    store: Store = api["store"]
    assert (
        store.get_ad(EXAMPLE_AD)["status"] == "dismissed"
    )  # the example decision, then the bulk one


def test_a_response_that_breaks_its_schema_is_caught() -> None:
    """The schema check above can fail: a hit without ``ad_id`` is refused."""
    from patroli.web.api import ALL
    from patroli.web.api.openapi import document

    doc = document(ALL)
    operation = doc["paths"]["/ads"]["get"]
    validator = _schema(doc, operation, 200, "application/json")
    good = {
        "total": 1,
        "hits": [{"ad_id": "x", "status": "new", "version": 1}],
        "facets": {},
        "next_after": None,
    }
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors({**good, "hits": [{"status": "new", "version": 1}]}))


def test_search_pages_facets_and_a_bad_query(api: dict[str, Any]) -> None:
    token = api["tokens"]["investigator"]
    first = call(
        api, "GET", "/ads", token, params={"q": "flagged:true", "sort": "risk", "limit": 3}
    ).json()
    assert len(first["hits"]) == 3
    assert first["total"] > 3
    assert first["facets"]["source"]
    import json

    second = call(
        api,
        "GET",
        "/ads",
        token,
        params={
            "q": "flagged:true",
            "sort": "risk",
            "limit": 3,
            "after": json.dumps(first["next_after"]),
        },
    ).json()
    assert not {h["ad_id"] for h in first["hits"]} & {h["ad_id"] for h in second["hits"]}
    assert first["hits"][0]["explanations"][0]["text"]
    bad = call(api, "GET", "/ads", token, params={"q": "colour:red"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "bad_query"
    assert call(api, "GET", "/ads", token, params={"limit": "0"}).status_code == 400
    english = call(
        api, "GET", "/ads", token, params={"limit": "0"}, headers={"Accept-Language": "en"}
    )
    indonesian = call(api, "GET", "/ads", token, params={"limit": "0"})
    assert "whole number" in english.json()["error"]["message"]
    assert "bilangan bulat" in indonesian.json()["error"]["message"]


def test_a_decision_checks_the_version_and_is_audited_like_the_page(api: dict[str, Any]) -> None:
    store: Store = api["store"]
    token = api["tokens"]["analyst"]
    target = "sa0000000000000000000001"
    version = store.get_ad(target)["version"]
    done = call(
        api,
        "POST",
        f"/ads/{target}/decision",
        token,
        json={"decision": "confirmed", "note": "visa ziarah", "expected_version": version},
    )
    assert done.status_code == 200
    assert (done.json()["ad"]["status"], done.json()["ad"]["version"]) == ("confirmed", version + 1)
    stale = call(
        api,
        "POST",
        f"/ads/{target}/decision",
        token,
        json={"decision": "dismissed", "expected_version": version},
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["details"] == {"expected_version": version, "version": version + 1}
    assert store.get_ad(target)["status"] == "confirmed"  # never overwritten
    entry = store.audit_log(target=target)[0]
    assert (entry["actor"], entry["action"], entry["after"], entry["detail"]) == (
        "ana",
        "review",
        "confirmed",
        "visa ziarah",
    )
    assert (
        call(api, "POST", "/ads/nope/decision", token, json={"decision": "confirmed"}).status_code
        == 404
    )
    assert (
        call(
            api,
            "POST",
            f"/ads/{target}/decision",
            token,
            content=b"decision=confirmed",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ).status_code
        == 415
    )
    assert (
        call(
            api,
            "POST",
            f"/ads/{target}/decision",
            token,
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        ).status_code
        == 400
    )


def test_bulk_decisions_skip_what_someone_else_decided_and_audit_once(api: dict[str, Any]) -> None:
    store: Store = api["store"]
    token = api["tokens"]["admin"]
    queue = call(api, "GET", "/queue", token, params={"country": "TH", "limit": 4}).json()
    assert queue["filters"]["country"] == "TH"
    picked = [{"ad_id": h["ad_id"], "expected_version": h["version"]} for h in queue["hits"]]
    store.review(picked[0]["ad_id"], "escalated", reviewer="ana")  # someone else, meanwhile
    result = call(
        api,
        "POST",
        "/queue/decisions",
        token,
        json={"decision": "dismissed", "note": "resmi", "ads": picked},
    ).json()
    assert result == {"decided": len(picked) - 1, "skipped": [picked[0]["ad_id"]]}
    entry = store.audit_log(actor="adi", limit=5)[0]
    assert entry["action"] == "bulk_review"
    assert entry["after"] == {"decision": "dismissed", "count": len(picked) - 1, "skipped": 1}
    assert entry["detail"].endswith(f"via: api token {api['tokens']['admin'].split('_')[1]}")


def test_export_as_json_and_csv_is_audited(api: dict[str, Any]) -> None:
    store: Store = api["store"]
    token = api["tokens"]["investigator"]
    as_json = call(api, "GET", "/export", token, params={"q": "country:KH"}).json()
    assert as_json["exported"] == as_json["total"] >= 2
    as_csv = call(api, "GET", "/export", token, params={"q": "country:KH", "format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text.lstrip("\ufeff"))))
    assert {r["ad_id"] for r in rows} == {a["ad_id"] for a in as_json["ads"]}
    entries = [e for e in store.audit_log(actor="ivan", limit=10) if e["action"] == "export"]
    assert [e["target"] for e in entries[:2]] == ["csv", "json"]
    assert "via: api token" in entries[0]["detail"]


def test_ad_related_evidence_runs_and_sources(api: dict[str, Any]) -> None:
    token = api["tokens"]["admin"]
    detail = call(api, "GET", f"/ads/{AD}", token).json()
    assert detail["ad"]["ad_id"] == AD
    assert detail["evidence"][0]["size"] > 0
    assert "html" not in detail["ad"]
    related = call(api, "GET", f"/ads/{AD}/related", token, params={"limit": 4}).json()["related"]
    both = ["handle:@rekrut_kh", "phone:+6281255512345"]
    assert {r["ad_id"]: r["via"] for r in related} == {
        "kh0000000000000000000002": both,
        "xss0000000000000000000001": both,
        EXAMPLE_AD: both,
        "jp0000000000000000000001": ["phone:+6281255512345"],
    }
    snapshot = call(api, "GET", f"/ads/{AD}/evidence/0", token).json()
    assert AD in snapshot["html"]
    assert call(api, "GET", f"/ads/{AD}/evidence/9", token).status_code == 404
    assert call(api, "GET", "/ads/nope", token).status_code == 404
    runs = call(api, "GET", "/runs", token, params={"source": "demo_telegram"}).json()["runs"]
    assert [r["run_id"] for r in runs] == ["r1"]
    sources = call(api, "GET", "/sources", token).json()
    by_name = {s["name"]: s for s in sources["sources"]}
    assert by_name["demo_telegram"]["latest_run"]["run_id"] == "r1"


def test_the_rate_limit_is_per_token(tmp_path_factory: pytest.TempPathFactory) -> None:
    store = seed_store(f"sqlite:///{tmp_path_factory.mktemp('rate') / 'rate.db'}")
    first, _ = create_token(store, store, "ana", "one", actor="tests")
    second, _ = create_token(store, store, "ana", "two", actor="tests")
    with LiveServer(store, web_settings(api_rate_per_minute=3)) as live:
        api = {"server": live}
        assert [call(api, "GET", "/me", first).status_code for _ in range(4)] == [
            200,
            200,
            200,
            429,
        ]
        limited = call(api, "GET", "/me", first)
        assert int(limited.headers["retry-after"]) > 0
        assert call(api, "GET", "/me", second).status_code == 200  # another token is not limited
    store.close()


def test_calls_are_logged_without_the_query_string(
    api: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="patroli.web.api"):
        call(
            api, "GET", "/ads", api["tokens"]["investigator"], params={"q": "phone:0812-5551-2345"}
        )
        time.sleep(0.05)
    lines = [r.getMessage() for r in caplog.records if r.name == "patroli.web.api"]
    assert any("GET /api/v1/ads -> 200 (ivan" in line for line in lines), lines
    assert not any("0812" in line or "phone" in line for line in lines)


def test_the_cli_creates_lists_and_revokes_tokens(tmp_path_factory: pytest.TempPathFactory) -> None:
    import re

    from tests.helpers.cli import run_patroli

    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'cli.db'}"
    seed_store(url).close()
    created = run_patroli(
        "users", "token", "create", "ivan", "--for", "notebook", "--days", "0", "--store", url
    )
    assert created.returncode == 0, created.stderr
    token = re.search(r"shown only now\): (ptk_\S+)", created.stdout)
    assert token
    refused = run_patroli(
        "users", "token", "create", "ivan", "--for", "x", "--scope", "metrics", "--store", url
    )
    assert refused.returncode == 1
    assert "Only an admin" in refused.stderr
    listed = run_patroli("users", "token", "list", "ivan", "--store", url)
    token_id = token.group(1).split("_")[1]
    assert token_id in listed.stdout
    assert "notebook" in listed.stdout
    assert "never" in listed.stdout
    assert token.group(1) not in listed.stdout  # shown once, never again
    assert run_patroli("users", "token", "revoke", token_id, "--store", url).returncode == 0
    again = run_patroli("users", "token", "revoke", token_id, "--store", url)
    assert again.returncode == 1
    assert "revoked already" in again.stderr
    with open_store(url) as store:
        assert [e["action"] for e in store.audit_log(target="ivan")[:2]] == [
            "token_revoke",
            "token_create",
        ]
        assert check_token(store, store, token.group(1)).problem == "revoked"


def test_the_account_page_makes_shows_once_and_revokes_a_token(api: dict[str, Any]) -> None:
    import re

    from tests.helpers.webkit import logged_in

    with logged_in(api["server"].url, "ana") as client:
        page = client.post(
            "/account/tokens", {"csrf_token": client.csrf("/account"), "name": "notebook analis"}
        )
        assert page.status_code == 200
        shown = re.search(r'<code id="new-token">(ptk_[^<]+)</code>', page.text)
        assert shown
        token = shown.group(1)
        assert call(api, "GET", "/me", token).json()["name"] == "ana"
        again = client.get("/account")
        assert token not in again.text  # shown once
        token_id = token.split("_")[1]
        assert f'data-token="{token_id}"' in again.text
        assert "notebook analis" in again.text
        refused = client.post(
            "/account/tokens",
            {"csrf_token": client.csrf("/account"), "name": "prom", "scope": "metrics"},
        )
        assert refused.status_code == 400  # an analyst may not hold a metrics token
        no_csrf = client.post(f"/account/tokens/{token_id}/revoke", {})
        assert no_csrf.status_code == 403
        assert call(api, "GET", "/me", token).status_code == 200
        revoked = client.post(
            f"/account/tokens/{token_id}/revoke", {"csrf_token": client.csrf("/account")}
        )
        assert revoked.status_code == 200
        assert call(api, "GET", "/me", token).status_code == 401
    with logged_in(api["server"].url, "ivan") as other:
        # nobody revokes another user's token through their own account page
        mine, record = create_token(api["store"], api["store"], "adi", "admin's", actor="tests")
        answer = other.post(
            f"/account/tokens/{record['id']}/revoke", {"csrf_token": other.csrf("/account")}
        )
        assert answer.status_code == 404
        assert call(api, "GET", "/me", mine).status_code == 200
