"""The web app's findings of issue 13, each tried as an attacker would over real HTTP on loopback:
concurrent wrong passwords, a stolen cookie kept alive by re-signing, a flood of anonymous logins in
the audit log, exports by cross-site navigation, malformed parameters, errors without security
headers, a foreign Host header in a redirect, and formulas behind invisible characters in CSV."""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer

from patroli.storage import Store
from patroli.web.accounts import create_user, is_locked
from patroli.web.app import SECURITY_HEADERS
from patroli.web.operations import _cell
from patroli.web.routes import queue as queue_route
from tests.helpers.webkit import (
    SECRET,
    USER_OF,
    Client,
    LiveServer,
    ad,
    logged_in,
    seed_store,
    web_settings,
)

AD = "kh0000000000000000000001"
EIGHT_HOURS = 8 * 3600


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = seed_store(f"sqlite:///{tmp_path_factory.mktemp('hard') / 'web.db'}")
    # An ad whose title hides a formula behind a right-to-left override.
    store.upsert_ads(
        [
            ad(
                "rtl000000000000000000001",
                title='\u202e=HYPERLINK("http://x.example")',
                countries=["VN"],
            )
        ]
    )
    yield store
    store.close()


@pytest.fixture(scope="module")
def server(seeded: Store) -> Iterator[LiveServer]:
    with LiveServer(seeded, web_settings()) as live:
        yield live


def test_concurrent_wrong_passwords_lock_the_account(server: LiveServer, seeded: Store) -> None:
    """60 wrong passwords at once (the failure count used to be read, incremented and written back
    by each request: most increments were lost and the account never locked)."""
    create_user(seeded, "rina", "analyst", "rina-kata-sandi-42", actor="tests")
    clients = [Client(server.url) for _ in range(60)]
    for client in clients:  # 60 password checks of ~0.1-0.3 s each share the machine's cores
        client.http.timeout = httpx.Timeout(300)
    tokens = [c.csrf("/login") for c in clients]
    barrier = threading.Barrier(60)
    codes: list[int] = []

    def guess(client: Client, token: str, n: int) -> None:
        barrier.wait()
        data = {"name": "rina", "password": f"tebakan-salah-{n:04d}", "csrf_token": token}
        codes.append(client.post("/login", data).status_code)

    threads = [
        threading.Thread(target=guess, args=(c, t, n))
        for n, (c, t) in enumerate(zip(clients, tokens, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [401] * 60
    user = seeded.get_user("rina")
    assert user is not None
    assert is_locked(user)
    assert Client(server.url).login("rina", "rina-kata-sandi-42").status_code == 401  # still locked
    for client in clients:
        client.close()


def _cookie(payload: dict[str, object], signed_at: float) -> str:
    """A session cookie as the server signs it, at the time ``signed_at``."""
    serializer = URLSafeTimedSerializer(SECRET, salt="patroli-session")
    signer = serializer.make_signer("patroli-session")
    signer.get_timestamp = lambda: int(signed_at)  # type: ignore[method-assign]
    return signer.sign(serializer.dump_payload(payload)).decode()


def test_a_re_signed_cookie_does_not_outlive_the_session(server: LiveServer) -> None:
    """Each response that re-signs the cookie (``?lang=``) used to restart its lifetime: a stolen
    cookie, kept busy, never expired. The lifetime now counts from the login."""
    with logged_in(server.url, "ivan") as client:
        payload = URLSafeTimedSerializer(SECRET, salt="patroli-session").loads(
            client.cookies["patroli_session"]
        )
    now = time.time()
    issued = now - EIGHT_HOURS + 120  # logged in 7 h 58 min ago, used ever since
    thief = Client(server.url)
    thief.cookies["patroli_session"] = _cookie({**payload, "t": issued}, issued + 60)
    assert thief.get("/search").status_code == 200  # still within the session's 8 hours
    assert thief.get("/login?lang=en").status_code == 303  # re-signs the cookie
    renewed = thief.cookies["patroli_session"]
    assert URLSafeTimedSerializer(SECRET, salt="patroli-session").loads(renewed)["t"] == issued
    # Three minutes on, the session is 8 h 01 min old: its cookie is refused although it was just
    # signed again (what the re-signing above amounts to by then).
    late = {**payload, "t": now - EIGHT_HOURS - 60, "l": "en"}
    thief.cookies["patroli_session"] = _cookie(late, now)
    assert thief.get("/search").status_code == 303
    thief.close()


def test_a_flood_of_anonymous_logins_is_audited_as_counts(seeded: Store) -> None:
    """2,000 anonymous login POSTs from one address used to add 2,000 audit rows; now each kind of
    event gets one row per address and window, with its count."""
    before = len(seeded.audit_log(limit=100_000))
    with LiveServer(seeded, web_settings(login_rate_attempts=5)) as live:
        client = Client(live.url)
        token = client.csrf("/login")
        codes = [
            client.post(
                "/login", {"name": f"tamu{n}", "password": "salah-salah-salah", "csrf_token": token}
            ).status_code
            for n in range(2000)
        ]
        client.close()
    # The server stopped: the open windows were written.
    assert codes.count(401) == 5
    assert codes.count(429) == 1995
    added = seeded.audit_log(limit=100_000)[: len(seeded.audit_log(limit=100_000)) - before]
    counts = {e["action"]: e["after"]["count"] for e in added}
    assert len(added) == 2, [e["action"] for e in added]
    assert counts == {"login_throttled": 1995, "login_failed": 5}
    assert all(e["after"]["address"] == "127.0.0.1" for e in added)


def test_login_events_are_written_per_window(seeded: Store) -> None:
    from patroli.web.loginaudit import LoginEvents

    events = LoginEvents(seeded, window_seconds=0.2)
    for _ in range(3):
        events.record("login_throttled", "", "192.0.2.7", "too many attempts from one address")
    assert events.flush_due() == 0  # the window is still open
    time.sleep(0.25)
    events.record("login_throttled", "", "192.0.2.7", "too many attempts from one address")
    events.record("login_throttled", "", "192.0.2.8", "too many attempts from one address")
    assert events.flush_all() == 2
    rows = [e for e in seeded.audit_log(limit=10) if e["action"] == "login_throttled"][:3]
    assert sorted((e["after"]["address"], e["after"]["count"]) for e in rows) == [
        ("192.0.2.7", 1),
        ("192.0.2.7", 3),
        ("192.0.2.8", 1),
    ]


def test_exports_are_posted_with_csrf_and_a_get_changes_nothing(
    server: LiveServer, seeded: Store
) -> None:
    """An export link used to be a GET that audited an export: any site could trigger it."""
    with logged_in(server.url, "ivan") as client:
        exports_before = [e for e in seeded.audit_log(actor="ivan") if e["action"] == "export"]
        for path in ("/search/export.csv?q=country:KH", "/search/export.json?q=country:KH"):
            response = client.get(path)
            assert response.status_code == 405
            assert "attachment" not in response.headers.get("content-disposition", "")
        assert client.post("/search/export.csv", {"q": "country:KH"}).status_code == 403
        exports = [e for e in seeded.audit_log(actor="ivan") if e["action"] == "export"]
        assert exports == exports_before
        token = client.csrf("/search")
        response = client.post("/search/export.json", {"q": "country:KH", "csrf_token": token})
        assert response.status_code == 200
        assert "attachment" in response.headers["content-disposition"]
        form = client.get("/search?q=country:KH").text
        assert 'action="/search/export.csv"' in form
        assert 'method="post"' in form
    entry = seeded.audit_log(actor="ivan", limit=1)[0]
    assert (entry["action"], entry["target"]) == ("export", "json")
    assert "country:KH" in entry["detail"]


# Each of these used to answer HTTP 500: (who, method, path, form).
MALFORMED = [
    ("ana", "POST", f"/ads/{AD}/review", {"decision": "dismissed", "expected_version": "²"}),
    ("ana", "POST", f"/ads/{AD}/review", {"decision": "dismissed", "expected_version": "٣"}),
    ("ana", "POST", "/queue/bulk", {"decision": "dismissed", "ids": f"{AD}:¹"}),
    ("ana", "GET", "/queue?until=9999-12-31", None),
    ("ana", "GET", "/queue?after=[1]", None),
    ("ana", "GET", '/queue?sort=uncertainty&after=["x","y"]', None),
    ("ivan", "GET", "/search?after=[1]", None),
    ("ivan", "GET", "/search?q=kamboja&after=[1]", None),
    ("ivan", "GET", '/search?sort=risk&after=[1e999,"z"]', None),
    ("ivan", "GET", "/search?q=posted>=9999-12-31T23:00:00-05:00", None),
    ("ivan", "GET", "/search?q=first<0001-01-01T00:00:00%2B05:00", None),
    ("ivan", "GET", "/entities/phone/+62" + "8" * 300, None),
]


@pytest.mark.parametrize(
    ("who", "method", "path", "form"), MALFORMED, ids=[m[2] + str(m[3] or "") for m in MALFORMED]
)
def test_malformed_parameters_are_refused_with_a_message(
    server: LiveServer, seeded: Store, who: str, method: str, path: str, form: dict | None
) -> None:
    version = seeded.get_ad(AD)["version"]
    with logged_in(server.url, who) as client:
        data = {**form, "csrf_token": client.csrf("/account")} if form is not None else None
        response = client.request(method, path, data=data)
    assert response.status_code in (200, 400, 404), response.text[:300]
    if response.status_code == 400:
        assert '<p class="error"' in response.text or 'class="error' in response.text
    assert seeded.get_ad(AD)["version"] == version  # nothing was decided


def test_error_pages_and_the_failure_page_carry_the_security_headers(seeded: Store) -> None:
    """A 500 used to come from Starlette's error middleware, outside the header middleware."""

    def broken(request: object) -> None:
        raise RuntimeError("a bug")

    live = LiveServer(seeded, web_settings())
    live.app.add_route("/broken", broken)
    with live, httpx.Client(base_url=live.url, follow_redirects=False) as client:
        responses = {
            "404": client.get("/no-such-page"),
            "405": client.put("/login"),
            "403": client.post("/login", data={"name": "x"}),
            "400 host": client.get("/login", headers={"host": "evil.example"}),
            "500": client.get("/broken"),  # last: the server closes this connection after it
        }
    for name, response in responses.items():
        assert str(response.status_code) == name.split()[0], name
        for header, value in SECURITY_HEADERS.items():
            assert response.headers.get(header) == value, (name, header)
    assert "a bug" not in responses["500"].text
    assert "Terjadi kesalahan" in responses["500"].text


def test_a_foreign_host_is_refused_and_never_echoed(server: LiveServer) -> None:
    """Starlette's trailing-slash redirect used to build its Location from the Host header."""
    with httpx.Client(base_url=server.url, follow_redirects=False) as http:
        foreign = http.get("/queue/", headers={"host": "evil.example"})
        assert foreign.status_code == 400
        assert "evil.example" not in foreign.headers.get("location", "")
        assert "evil.example" not in foreign.text
        own = http.get("/queue/")
        assert own.status_code in (307, 308)
        assert own.headers["location"].startswith(server.url + "/queue")


INVISIBLE = [
    "\u202e",
    "\u2066",
    "\u180e",
    "\u034f",
    "\u061c",
    "\u200b",
    "\ufeff",
    "\u2069",
    "\u00ad",
    "\u3164",
    " ",
    "\u202e\u2066\u200b",
]


@pytest.mark.parametrize("hidden", INVISIBLE, ids=[f"U+{ord(c[0]):04X}" for c in INVISIBLE])
@pytest.mark.parametrize("formula", ["=1+1", "+62812", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_formulas_behind_invisible_characters_are_neutralised(hidden: str, formula: str) -> None:
    assert _cell(hidden + formula) == "'" + hidden + formula


def test_harmless_cells_are_left_as_they_are() -> None:
    for text in ("aman", "\u202eaman", "Rp 5.000.000", "0812-5551-2345", "admin@x", ""):
        assert _cell(text) == text


def test_a_csv_export_neutralises_a_formula_hidden_by_a_bidi_override(server: LiveServer) -> None:
    with logged_in(server.url, "ivan") as client:
        token = client.csrf("/search")
        response = client.post("/search/export.csv", {"q": "country:VN", "csrf_token": token})
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [r["title"] for r in rows] == ['\'\u202e=HYPERLINK("http://x.example")']


def test_the_queue_counts_its_filter_choices_once_per_window_not_per_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench/web_load.py: counting the backlog's sources and countries on every queue page cost
    more than the page (330 ms over 100k ads); they are counted once per OPTIONS_SECONDS while the
    page's rows stay fresh."""
    store = seed_store(f"sqlite:///{tmp_path / 'queue.db'}")
    new_source = ad("new0000000000000000000001", source="uji_baru", risk=0.99, risk_margin=0.49)
    with (
        LiveServer(store, web_settings()) as live,
        logged_in(live.url, USER_OF["analyst"]) as analyst,
    ):
        first = analyst.get("/queue")
        assert first.status_code == 200
        assert 'value="uji_baru"' not in first.text
        store.upsert_ads([new_source])
        second = analyst.get("/queue")
        assert "new0000000000000000000001" in second.text  # the rows are read again
        assert 'value="uji_baru"' not in second.text  # the choices are the window's
        monkeypatch.setattr(queue_route, "OPTIONS_SECONDS", 0.0)
        third = analyst.get("/queue")
        assert 'value="uji_baru"' in third.text  # counted again once the window is over
    store.close()
