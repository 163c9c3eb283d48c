"""The web app over real HTTP: every route's access rules, CSRF on every state change, sessions,
lock-out, throttling, exports and the security headers. One live server per module."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from patroli.storage import Store
from patroli.web.routing import ADMIN, ANALYST, ANY_ROLE, INVESTIGATOR, PUBLIC
from tests.helpers.webkit import (
    PASSWORDS,
    USER_OF,
    XSS_AD,
    Client,
    LiveServer,
    logged_in,
    seed_store,
    web_settings,
)

AD = "kh0000000000000000000001"
# The access rules, written out independently of the app: (method, path) -> roles allowed.
# The first test checks the app has exactly these routes, so a new route must be added here.
ROUTES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): ANY_ROLE,
    ("POST", "/language"): ANY_ROLE,
    ("GET", "/account"): ANY_ROLE,
    ("POST", "/account/password"): ANY_ROLE,
    ("POST", "/account/tokens"): ANY_ROLE,
    ("POST", "/account/tokens/{token_id}/revoke"): ANY_ROLE,
    ("GET", "/"): ANY_ROLE,
    ("GET", "/queue"): ANALYST,
    ("POST", "/queue/bulk"): ANALYST,
    ("GET", "/ads/{ad_id}"): ANY_ROLE,
    ("POST", "/ads/{ad_id}/review"): ANALYST,
    ("GET", "/ads/{ad_id}/evidence/{index:int}"): ANY_ROLE,
    ("GET", "/ads/{ad_id}/explain"): ANY_ROLE,
    ("GET", "/search"): INVESTIGATOR,
    ("GET", "/search/image"): INVESTIGATOR,
    ("POST", "/search/image"): INVESTIGATOR,
    ("GET", "/images/{sha256}"): ANY_ROLE,
    ("POST", "/search/export.csv"): INVESTIGATOR,
    ("POST", "/search/export.json"): INVESTIGATOR,
    ("GET", "/entities/{kind}/{value}"): INVESTIGATOR,
    ("GET", "/cases"): INVESTIGATOR,
    ("POST", "/cases"): INVESTIGATOR,
    ("GET", "/cases/{case_id}"): INVESTIGATOR,
    ("POST", "/cases/{case_id}/update"): INVESTIGATOR,
    ("POST", "/cases/{case_id}/items"): INVESTIGATOR,
    ("POST", "/cases/{case_id}/items/{item_id}/remove"): INVESTIGATOR,
    ("POST", "/cases/{case_id}/notes"): INVESTIGATOR,
    ("POST", "/cases/{case_id}/routing"): INVESTIGATOR,
    ("POST", "/cases/{case_id}/export"): INVESTIGATOR,
    ("POST", "/cases/add"): INVESTIGATOR,
    ("POST", "/ads/{ad_id}/hold"): INVESTIGATOR,
    ("POST", "/ads/{ad_id}/case"): INVESTIGATOR,
    ("GET", "/takedowns"): INVESTIGATOR,
    ("POST", "/takedowns/{request_id}/status"): INVESTIGATOR,
    ("GET", "/admin/audit"): ADMIN,
    ("GET", "/admin/users"): ADMIN,
    ("POST", "/admin/users"): ADMIN,
    ("POST", "/admin/users/{name}"): ADMIN,
    ("GET", "/admin/sources"): ADMIN,
    ("GET", "/admin/models"): ADMIN,
    ("POST", "/admin/models"): ADMIN,
    ("GET", "/clusters/{cluster_id}"): ANY_ROLE,
    ("POST", "/clusters/{cluster_id}/review"): ANALYST,
    ("GET", "/networks"): ANY_ROLE,
    ("GET", "/networks/{network_id}"): INVESTIGATOR | ANALYST,
    ("GET", "/agencies"): ANY_ROLE,
    ("GET", "/agencies/{agency_id:path}"): ANY_ROLE,
}
CONCRETE = {
    "/ads/{ad_id}": f"/ads/{AD}",
    "/ads/{ad_id}/review": f"/ads/{AD}/review",
    "/ads/{ad_id}/evidence/{index:int}": f"/ads/{AD}/evidence/0",
    "/ads/{ad_id}/explain": f"/ads/{AD}/explain",
    "/entities/{kind}/{value}": "/entities/phone/+6281255512345",
    "/admin/users/{name}": "/admin/users/ana",
    "/account/tokens/{token_id}/revoke": "/account/tokens/0000000000000000/revoke",
    "/ads/{ad_id}/hold": f"/ads/{AD}/hold",
    "/ads/{ad_id}/case": f"/ads/{AD}/case",
    "/clusters/{cluster_id}": "/clusters/c-none",
    "/clusters/{cluster_id}/review": "/clusters/c-none/review",
    "/networks/{network_id}": "/networks/n-none",
    "/agencies/{agency_id:path}": "/agencies/KEP.1/NONE",
    "/images/{sha256}": "/images/" + "0" * 64,
}
# Case routes are reached with ids of nothing (404 or 400: changes nothing).
for _template in [t for _, t in ROUTES if t.startswith(("/cases/{", "/takedowns/{"))]:
    CONCRETE[_template] = (
        _template.replace("{case_id}", "no-such-case")
        .replace("{item_id}", "no-such-item")
        .replace("{request_id}", "no-such-request")
    )
# Harmless bodies: each is a valid request that changes nothing (a wrong password, no decision...).
HARMLESS = {
    "/logout": {},
    "/language": {"lang": "id", "next": "/account"},
    "/account/password": {"current": "not-my-password", "new": "x" * 12, "confirm": "x" * 12},
    "/queue/bulk": {"scope": "selected", "decision": "dismissed"},
    "/ads/{ad_id}/review": {"decision": ""},
    "/admin/users": {"name": "Bad Name!", "role": "analyst"},
    "/admin/users/{name}": {"action": "nothing"},
    "/admin/models": {"version": "no-such-model"},
    "/account/tokens": {"name": "   "},
    "/clusters/{cluster_id}/review": {"decision": ""},
    "/login": {"name": "nobody", "password": "wrong-password-123"},
    "/search/export.csv": {"q": "id:no-such-ad"},
    "/search/export.json": {"q": "id:no-such-ad"},
    "/cases": {"title": ""},
    "/cases/add": {"case_id": "no-such-case", "kind": "network", "value": "n-none"},
    "/ads/{ad_id}/hold": {"hold": "0"},
    "/ads/{ad_id}/case": {"case_id": "no-such-case"},
}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = seed_store(f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}")
    yield store
    store.close()


@pytest.fixture(scope="module")
def server(seeded: Store) -> Iterator[LiveServer]:
    with LiveServer(seeded, web_settings()) as live:
        yield live


def _path(template: str) -> str:
    return CONCRETE.get(template, template)


def test_the_route_table_covers_every_route_of_the_app(server: LiveServer) -> None:
    found = {}
    for route in server.app.routes:
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                found[(method, route.path)] = True
    paths = {path for _, path in found}
    assert "/static" not in paths  # a mount of public files, no data
    # The HTTP API and /metrics authenticate by token, not session: tests/test_api.py has their table.
    pages = {(m, p) for m, p in found if not p.startswith("/api/") and p != "/metrics"}
    assert pages == set(ROUTES)


@pytest.mark.parametrize(("method", "template"), [k for k, v in ROUTES.items() if v])
def test_anonymous_requests_are_refused(server: LiveServer, method: str, template: str) -> None:
    client = Client(server.url)
    token = client.csrf("/login")  # a valid anonymous session: only the missing login refuses
    response = client.request(
        method,
        _path(template),
        data={"csrf_token": token, **HARMLESS.get(template, {})} if method == "POST" else None,
    )
    if method == "GET":
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    else:
        assert response.status_code == 403
    client.close()


def test_login_page_and_static_files_are_public(server: LiveServer) -> None:
    client = Client(server.url)
    assert client.get("/login").status_code == 200
    assert client.get("/static/app.js").status_code == 200


@pytest.mark.parametrize("role", ["analyst", "investigator", "admin"])
def test_each_role_reaches_exactly_its_routes(server: LiveServer, role: str) -> None:
    name = USER_OF[role]
    client = Client(server.url)
    assert client.login(name).status_code == 303
    # /logout last: it ends the session the other checks use.
    for (method, template), allowed in sorted(
        ROUTES.items(), key=lambda item: item[0][1] == "/logout"
    ):
        if not allowed:
            continue
        data = None
        if method == "POST":
            data = {"csrf_token": client.csrf("/account"), **HARMLESS.get(template, {})}
        response = client.request(method, _path(template), data=data)
        refused = response.status_code == 403
        to_login = response.status_code in (302, 303) and response.headers["location"].startswith(
            "/login?"
        )
        assert not to_login, (method, template)
        if role in allowed:
            assert not refused, (role, method, template, response.text[:300])
            assert response.status_code < 500, (role, method, template)
        else:
            assert refused, (role, method, template, response.status_code)
    assert client.get("/account").status_code == 303  # the logout above really ended the session
    client.close()


@pytest.mark.parametrize(("method", "template"), [k for k in ROUTES if k[0] == "POST"])
def test_state_changes_without_a_valid_csrf_token_are_refused(
    server: LiveServer, method: str, template: str
) -> None:
    with logged_in(server.url, "adi") as client:
        other = Client(server.url)
        foreign = other.csrf("/login")  # a real token, but of another session
        for token in (None, "", "forged-token", foreign):
            data = dict(HARMLESS.get(template, {}))
            if token is not None:
                data["csrf_token"] = token
            response = client.post(_path(template), data)
            assert response.status_code == 403, (template, token)
            assert (
                "did not come from this site" in response.text
                or "bukan dari situs ini" in response.text
            )
        # the header form is accepted in place of the field (for scripts of our own)
        good = client.post(
            "/language",
            {"lang": "en", "next": "/"},
            headers={"x-csrf-token": client.csrf("/account")},
        )
        assert good.status_code == 303
        other.close()


def test_a_review_without_csrf_changes_nothing(server: LiveServer, seeded: Store) -> None:
    with logged_in(server.url, "ana") as client:
        response = client.post(f"/ads/{AD}/review", {"decision": "confirmed"})
        assert response.status_code == 403
    assert seeded.get_ad(AD)["status"] == "new"


def test_login_without_csrf_is_refused(server: LiveServer) -> None:
    client = Client(server.url)
    response = client.post("/login", {"name": "adi", "password": PASSWORDS["adi"]})
    assert response.status_code == 403
    assert "patroli_session" not in client.cookies or client.get("/").status_code == 303


def test_session_cookie_is_secure_httponly_samesite_with_expiry(server: LiveServer) -> None:
    client = Client(server.url)
    client.csrf("/login")
    response = client.login("adi")
    cookie = response.headers["set-cookie"].lower()
    for part in ("httponly", "secure", "samesite=lax", "max-age=28800", "path=/"):
        assert part in cookie


def test_security_headers_on_pages_and_sandbox_on_evidence(server: LiveServer) -> None:
    with logged_in(server.url, "adi") as client:
        page = client.get(f"/ads/{AD}")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
        evidence = client.get(f"/ads/{XSS_AD}/evidence/0")
        assert evidence.headers["content-security-policy"].startswith("sandbox; default-src 'none'")
        assert evidence.headers["x-frame-options"] == "SAMEORIGIN"
        assert '<iframe class="evidence" sandbox src=' in client.get(f"/ads/{XSS_AD}").text


def test_hostile_text_is_escaped_in_every_page(server: LiveServer) -> None:
    with logged_in(server.url, "adi") as client:
        for path in (
            f"/ads/{XSS_AD}",
            "/queue",
            "/search?q=kamboja",
            "/entities/handle/@rekrut_kh",
            f"/ads/{AD}",
        ):
            html = client.get(path).text
            assert html.count("<script") == 1, path  # only our own /static/app.js
            assert "<img" not in html
            assert "<svg onload" not in html, path  # the app has no <img> of its own
            assert 'href="javascript:' not in html, path
        html = client.get(f"/ads/{XSS_AD}").text
        assert "&lt;script&gt;window.__pwned=1" in html


def test_logout_ends_even_a_copied_session(server: LiveServer) -> None:
    with logged_in(server.url, "ivan") as client:
        stolen = dict(client.cookies)
        assert client.get("/search").status_code == 200
        assert client.post("/logout", {"csrf_token": client.csrf("/account")}).status_code == 303
        thief = Client(server.url)
        thief.cookies = stolen
        assert thief.get("/search").status_code == 303
        assert client.get("/search").status_code == 303


def test_a_tampered_or_foreign_cookie_is_anonymous(server: LiveServer) -> None:
    with logged_in(server.url, "adi") as client:
        value = client.cookies["patroli_session"]
        payload, _, signature = value.partition(".")
        client.cookies["patroli_session"] = payload + "." + signature[::-1]
        assert client.get("/").status_code == 303


def test_lockout_after_repeated_failures_and_unlock_by_admin(
    server: LiveServer, seeded: Store
) -> None:
    from patroli.web.accounts import create_user

    create_user(seeded, "lina", "analyst", "lina-kata-sandi-99", actor="tests")
    client = Client(server.url)
    for _ in range(5):
        assert client.login("lina", "wrong-password-000").status_code == 401
    assert seeded.get_user("lina")["locked_until"]
    assert (
        client.login("lina", "lina-kata-sandi-99").status_code == 401
    )  # right password, still locked
    server.app.state.patroli.login_events.flush_all()  # refusals are audited as counts per window
    actions = [e["action"] for e in seeded.audit_log(actor="lina")]
    assert actions.count("login_failed") == 5
    assert "login_refused" in actions
    with logged_in(server.url, "adi") as admin:
        response = admin.post(
            "/admin/users/lina", {"action": "unlock", "csrf_token": admin.csrf("/admin/users")}
        )
        assert response.status_code == 200
    assert client.login("lina", "lina-kata-sandi-99").status_code == 303


def test_login_attempts_are_throttled_per_address(seeded: Store) -> None:
    with LiveServer(seeded, web_settings(login_rate_attempts=3)) as live:
        client = Client(live.url)
        codes = [client.login("nobody", "wrong-password-000").status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        assert client.login("adi").status_code == 429  # even the right password waits
    assert seeded.audit_log(limit=5)[0]["action"] == "login_throttled"


def test_disabled_user_loses_the_session_at_once(server: LiveServer, seeded: Store) -> None:
    from patroli.web.accounts import create_user

    create_user(seeded, "budi", "investigator", "budi-kata-sandi-77", actor="tests")
    with logged_in(server.url, "adi") as admin:
        client = Client(server.url)
        assert client.login("budi", "budi-kata-sandi-77").status_code == 303
        assert client.get("/search").status_code == 200
        response = admin.post(
            "/admin/users/budi", {"action": "disable", "csrf_token": admin.csrf("/admin/users")}
        )
        assert response.status_code == 200
        assert client.get("/search").status_code == 303
        assert client.login("budi", "budi-kata-sandi-77").status_code == 401
        audit = next(e for e in seeded.audit_log(target="budi") if e["action"] == "user_disable")
        assert (audit["actor"], audit["action"], audit["before"], audit["after"]) == (
            "adi",
            "user_disable",
            {"role": "investigator", "active": True},
            {"role": "investigator", "active": False},
        )
        assert "password_hash" not in json.dumps(seeded.audit_log(limit=200))


def test_admin_creates_a_user_with_a_password_shown_once(server: LiveServer, seeded: Store) -> None:
    with logged_in(server.url, "adi") as admin:
        page = admin.post(
            "/admin/users",
            {"name": "sari", "role": "analyst", "csrf_token": admin.csrf("/admin/users")},
        )
        assert page.status_code == 200
        password = page.text.split('id="new-password">', 1)[1].split("<", 1)[0]
        assert len(password) >= 12
        assert password not in admin.get("/admin/users").text
    client = Client(server.url)
    assert client.login("sari", password).status_code == 303
    assert client.get("/queue").status_code == 200
    assert client.get("/admin/users").status_code == 403


def test_a_bad_query_shows_the_parsers_message(server: LiveServer) -> None:
    with logged_in(server.url, "ivan") as client:
        response = client.get("/search?q=colour:red")
        assert response.status_code == 400
        assert "unknown filter colour" in response.text
        assert client.get("/search.csv?q=risk>=abc").status_code == 404
        token = client.csrf("/search")
        exported = client.post("/search/export.csv", {"q": "risk>=abc", "csrf_token": token})
        assert exported.status_code == 400


def test_csv_and_json_exports_are_filtered_neutralised_and_audited(
    server: LiveServer, seeded: Store
) -> None:
    with logged_in(server.url, "ivan") as client:
        token = client.csrf("/search")
        response = client.post(
            "/search/export.csv", {"q": "country:KH", "sort": "risk", "csrf_token": token}
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
        assert {r["ad_id"] for r in rows} == {
            "kh0000000000000000000001",
            "kh0000000000000000000002",
            XSS_AD,
        }
        assert all("KH" in r["countries"] for r in rows)
        data = json.loads(
            client.post(
                "/search/export.json", {"q": "phone:0812-5551-2345", "csrf_token": token}
            ).text
        )
        assert data["total"] == len(data["ads"]) == 4
        assert all("+6281255512345" in a["phones"] for a in data["ads"])
    entry = seeded.audit_log(actor="ivan", limit=1)[0]
    assert (entry["action"], entry["target"], entry["after"]["rows"]) == ("export", "json", 4)


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted() -> None:
    from patroli.web.operations import _cell

    assert _cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert _cell("+62812") == "'+62812"
    assert _cell(["@rekrut", "x"]) == "'@rekrut; x"
    assert _cell("aman") == "aman"


def test_review_conflict_is_reported_not_overwritten(server: LiveServer, seeded: Store) -> None:
    target = "jp0000000000000000000001"
    with logged_in(server.url, "ana") as client:
        token = client.csrf("/queue")
        first = client.post(
            f"/ads/{target}/review",
            {"decision": "escalated", "expected_version": "1", "csrf_token": token},
        )
        assert first.status_code == 303
        second = client.post(
            f"/ads/{target}/review",
            {"decision": "dismissed", "expected_version": "1", "csrf_token": token},
        )
        assert second.status_code == 409
    assert seeded.get_ad(target)["status"] == "escalated"


def test_bulk_decision_on_a_filtered_set_is_audited(server: LiveServer, seeded: Store) -> None:
    with logged_in(server.url, "ana") as client:
        token = client.csrf("/queue")
        response = client.post(
            "/queue/bulk",
            {
                "scope": "filter",
                "country": "TH",
                "decision": "dismissed",
                "note": "iklan game, bukan lowongan",
                "csrf_token": token,
            },
        )
        assert response.status_code == 303
        assert "done=bulk" in response.headers["location"]
        assert "n=6" in response.headers["location"]
        assert "country=TH" in response.headers["location"]
    assert seeded.count("country:TH status:dismissed") == 6
    entry = next(e for e in seeded.audit_log(actor="ana") if e["action"] == "bulk_review")
    assert entry["after"] == {"decision": "dismissed", "count": 6, "skipped": 0}
    assert "country:TH" in entry["detail"]
    assert (
        len([e for e in seeded.audit_log(actor="ana", limit=500) if e["action"] == "review"]) >= 6
    )


def test_open_redirects_are_refused(server: LiveServer) -> None:
    client = Client(server.url)
    token = client.csrf("/login")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = client.post(
            "/login",
            {"name": "adi", "password": PASSWORDS["adi"], "next": target, "csrf_token": token},
        )
        assert response.headers["location"] == "/", target
        token = client.csrf("/account")
        client.post("/logout", {"csrf_token": token})
        token = client.csrf("/login")


def test_language_switch_changes_the_interface(server: LiveServer) -> None:
    with logged_in(server.url, "adi") as client:
        assert "Antrean tinjauan" in client.get("/queue").text
        client.post(
            "/language", {"lang": "en", "next": "/queue", "csrf_token": client.csrf("/account")}
        )
        page = client.get("/queue").text
        assert "Review queue" in page
        assert "Antrean tinjauan" not in page
        assert 'lang="en"' in page
    assert "Log in" in Client(server.url).get("/login?lang=en").text


def test_request_bodies_are_bounded(server: LiveServer) -> None:
    with logged_in(server.url, "ana") as client:
        token = client.csrf("/queue")
        response = client.post(
            "/queue/bulk", {"csrf_token": token, "note": "x" * (1024 * 1024 + 10)}
        )
        assert response.status_code == 413


def test_dashboard_shows_counts_backlog_and_runs(server: LiveServer) -> None:
    with logged_in(server.url, "ivan") as client:
        page = client.get("/").text
    assert '<svg class="chart"' in page
    assert "built-in method" not in page
    assert '<td class="num">12</td>' in page  # the run's ads
    assert "demo_telegram" in page
    assert "menunggu tinjauan" in page


def test_serve_refuses_a_missing_or_placeholder_secret(tmp_path: Path) -> None:
    from tests.helpers.cli import run_patroli

    store = f"sqlite:///{tmp_path / 'x.db'}"
    for secret in ("", "changethis", "changethis-changethis-changethis-123", "a" * 40):
        result = run_patroli(
            "serve", "--store", store, "--port", "0", env={"PATROLI_SECRET_KEY": secret}, timeout=60
        )
        assert result.returncode == 1, secret
        assert "PATROLI_SECRET_KEY" in result.stderr


def test_what_moves_the_score_is_one_click_from_the_ad(server: LiveServer) -> None:
    """The ad page links its explanation; the explanation names what the words and the red flags
    alone say, the indicators that fired with their weights, and escapes the ad's text."""
    client = Client(server.url)
    assert client.login(USER_OF["analyst"]).status_code == 303
    assert f'href="/ads/{AD}/explain"' in client.get(f"/ads/{AD}").text
    page = client.get(f"/ads/{AD}/explain")
    assert page.status_code == 200
    assert "Apa yang menggerakkan skor" in page.text
    assert "Menurut tanda bahaya saja" in page.text
    assert "scam_hub_office_job" in page.text  # an admin job in Cambodia: the scam-hub red flag
    hostile = client.get(f"/ads/{XSS_AD}/explain")
    assert hostile.status_code == 200
    assert "<script>window.__pwned" not in hostile.text
    assert "&lt;script&gt;window.__pwned" in hostile.text  # the title, escaped
    assert client.get("/ads/no-such-ad/explain").status_code == 404
    client.close()
