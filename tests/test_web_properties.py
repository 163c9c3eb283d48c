"""Property-based tests of every route of the web app (hypothesis): for each role, any query
parameters, form fields and path values give an answer that is not a server error, and no markup
sent in reaches a page unescaped. One live server on loopback for the module; sessions are signed
by the app's own codec, so that each example runs as its role whatever the previous one did (a
logout, a password change)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patroli.storage import Store
from patroli.web.routing import COOKIE_NAME
from patroli.web.security import Session
from tests.helpers.webkit import ROLE_OF, LiveServer, seed_store, web_settings
from tests.test_web_http import ROUTES

PROBE = '<b data-probe="1">'  # markup that must never come back as markup
AD = "kh0000000000000000000001"
# The parameters and fields each route reads (and a few it does not).
NAMES = [
    "q",
    "sort",
    "after",
    "source",
    "country",
    "since",
    "until",
    "min_risk",
    "done",
    "n",
    "skipped",
    "days",
    "page",
    "actor",
    "target",
    "lang",
    "next",
    "as",
    "name",
    "password",
    "decision",
    "note",
    "expected_version",
    "return_to",
    "scope",
    "ids",
    "action",
    "role",
    "version",
    "current",
    "new",
    "confirm",
    "csrf_token",
    "zz",
]
HOSTILE = [
    "²",
    "¹",
    "٣",
    "9999-12-31",
    "0001-01-01",
    "[1]",
    '["offset",-1]',
    '[1e999,"z"]',
    "-1",
    "1e309",
    "nan",
    "inf",
    "",
    " ",
    "\x00",
    "\u202e=1+1",
    "//evil.example/",
    "https://evil.example",
    "/\\evil.example",
    "%00",
    "{{7*7}}",
    "${7*7}",
    "' OR 1=1 --",
    "posted>=9999-12-31T23:00-05:00",
    "risk>=nan",
    "phone:+" + "9" * 40,
    'q"',
    "a" * 3000,
    PROBE,
    "id:" + AD,
    AD + ":1",
    AD + ":²",
    "admin",
    "confirmed",
    "filter",
    "queue",
]
VALUES = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.text(max_size=20).map(lambda t: t + PROBE),
    st.integers(-(2**70), 2**70).map(str),
)
PARAMS = st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=6)
PATH_VALUES = st.one_of(
    st.sampled_from([AD, "ana", "phone", "handle", "email", "0", PROBE, "²", "x" * 600]),
    st.text(min_size=1, max_size=30),
)
ROLES = ["analyst", "investigator", "admin", "anonymous"]
CHECKS = settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Store]]:
    store = seed_store(f"sqlite:///{tmp_path_factory.mktemp('prop') / 'web.db'}")
    users = {name: store.get_user(name) for name in ROLE_OF}
    with LiveServer(store, web_settings()) as server:
        server.users = users  # type: ignore[attr-defined]
        yield server, store
    store.close()


def _session_cookie(server: LiveServer, store: Store, role: str) -> tuple[str, str]:
    """A valid session of ``role`` (anonymous: a session without user) and its CSRF token."""
    if role == "anonymous":
        session = Session()
    else:
        name = next(n for n, r in ROLE_OF.items() if r == role)
        saved = server.users[name]  # type: ignore[attr-defined]
        current = store.get_user(name) or saved
        # Undo what an earlier example may have done to the account (disabled, locked, reset).
        store.put_user({**saved, "extra": current["extra"]})
        session = Session(user=name, epoch=int(current["extra"].get("session_epoch", 0)))
    return server.app.state.patroli.codec.dumps(session), session.csrf


def _fill(template: str, values: list[str]) -> str:
    path, i = template, 0
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        name = path[start + 1 : end]
        value = "0" if name.endswith(":int") else values[i % len(values)]
        path = path[:start] + urllib.parse.quote(value, safe="") + path[end + 1 :]
        i += 1
    return path


def _check(
    response: httpx.Response, base: str, method: str, path: str, data: dict[str, Any]
) -> None:
    where = f"{method} {path} {data!r}"
    assert response.status_code < 500, where
    if response.headers.get("content-type", "").startswith("text/html"):
        assert PROBE not in response.text, where
        assert "<b data-probe" not in response.text, where
    location = response.headers.get("location", "")
    assert location.startswith(("/", base + "/")) or not location, where  # never another site
    assert not location.startswith(("//", "/\\")), where
    assert response.headers.get("x-content-type-options") == "nosniff", where


@pytest.mark.parametrize(("method", "template"), sorted(ROUTES))
@CHECKS
@given(
    role=st.sampled_from(ROLES),
    params=PARAMS,
    form=PARAMS,
    path_values=st.lists(PATH_VALUES, min_size=1, max_size=2),
)
def test_no_route_fails_or_reflects_markup(
    live: tuple[LiveServer, Store],
    method: str,
    template: str,
    role: str,
    params: dict[str, str],
    form: dict[str, str],
    path_values: list[str],
) -> None:
    server, store = live
    cookie, csrf = _session_cookie(server, store, role)
    path = _fill(template, path_values)
    data: dict[str, Any] = {}
    if method == "POST":
        data = {**form, "csrf_token": form.get("csrf_token", csrf) if "zz" in form else csrf}
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=120) as http:
        response = http.request(
            method,
            path,
            params=params,
            data=data or None,
            headers={"cookie": f"{COOKIE_NAME}={cookie}"},
        )
    _check(response, server.url, method, path, data)
