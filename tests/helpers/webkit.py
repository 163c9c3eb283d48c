"""Shared parts of the web app tests: fictional seed ads, a live server on loopback, an HTTP client.

The server is the real app under uvicorn on a free port; the client keeps cookies itself, because
session cookies are ``Secure`` and Python's cookie jar does not send those over plain http (browsers
do, on 127.0.0.1).
"""

from __future__ import annotations

import http.server
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from typing import Any, Self

import httpx
import uvicorn

from patroli.storage import Store, open_store
from patroli.web.accounts import create_user
from patroli.web.app import create_app
from patroli.web.settings import WebSettings

SECRET = "k3J9-tests-only-9fQx2LmZpR7vWcY4hB8nTe1sUa6dGo0"  # noqa: S105 - a test-only key
PASSWORDS = {
    "ana": "analis-kata-sandi-1",
    "ivan": "penyidik-kata-sandi-2",
    "adi": "admin-kata-sandi-3",
}
ROLE_OF = {"ana": "analyst", "ivan": "investigator", "adi": "admin"}
USER_OF = {role: name for name, role in ROLE_OF.items()}
XSS_AD = "xss0000000000000000000001"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def ad(ad_id: str, **overrides: Any) -> dict[str, Any]:
    """One fictional ad as the crawl pipelines store it (phones 08xx-555x-xxxx)."""
    base = {
        "ad_id": ad_id,
        "source": "demo_telegram",
        "source_kind": "telegram_channel",
        "native_id": ad_id,
        "url": f"https://t.me/s/lokerdemo/{ad_id}",
        "title": "LOKER ADMIN KAMBOJA gaji 1.200 USD",
        "text": "Dicari admin CS di Phnom Penh, gaji 1.200 USD, tanpa pengalaman, biaya proses 5 jt potong gaji. "
        "Japri WA 0812-5551-2345",
        "crawled_at": "2026-11-20T08:00:00+00:00",
        "posted_at": "2026-11-19T10:00:00+00:00",
        "content_hash": f"h-{ad_id}",
        "phones": ["+6281255512345"],
        "whatsapp": ["+6281255512345"],
        "telegram": ["@rekrut_kh"],
        "countries": ["KH"],
        "risk": 0.97,
        "risk_margin": 0.4,
        "flagged": True,
        "reasons": ["Pekerjaan kantor/admin/CS di negara pusat penipuan daring"],
        "reason_codes": [
            "indicator:scam_hub_office_job",
            "indicator:worker_pays_fees",
            "indicator:salary_deduction",
            "term:potong_gaji|tanpa_pengalaman",
        ],
        "model_version": "seed-2026.11.2",
        "html": f"<html><body><p>{ad_id}</p></body></html>",
    }
    return {**base, **overrides}


def seed_ads(canary_url: str) -> list[dict[str, Any]]:
    """A small realistic store: flagged and harmless ads, several sources, a shared recruiter phone,
    and one hostile ad whose text and evidence carry script payloads aimed at ``canary_url``."""
    ads = [
        ad("kh0000000000000000000001"),
        ad(
            "kh0000000000000000000002",
            source="demo_pasarloka",
            source_kind="classifieds",
            risk=0.91,
            risk_margin=0.3,
            title="Admin online shop Sihanoukville, tiket gratis",
            crawled_at="2026-11-21T08:00:00+00:00",
        ),
        ad(
            "sa0000000000000000000001",
            source="demo_fb_group",
            source_kind="feed",
            countries=["SA"],
            risk=0.88,
            risk_margin=0.05,
            title="PRT keluarga Arab Saudi, visa ziarah",
            phones=["+6281355570112"],
            whatsapp=[],
            telegram=[],
            text="Dicari PRT untuk keluarga di Riyadh, berangkat pakai visa ziarah, tanpa biaya. WA 0813-5557-0112",
            reason_codes=["indicator:moratorium_domestic", "indicator:visit_visa_work"],
            crawled_at="2026-11-18T08:00:00+00:00",
        ),
        ad(
            "my0000000000000000000001",
            source="demo_kerjanusa",
            source_kind="jobposting",
            countries=["MY"],
            risk=0.12,
            risk_margin=-0.3,
            flagged=False,
            title="Operator pabrik Penang resmi, job order P3MI",
            phones=["+6281755590001"],
            whatsapp=[],
            telegram=[],
            text="PT resmi berizin SIP2MI, proses lewat Disnaker dan BP3MI, kontrak kerja jelas.",
            reason_codes=["indicator:licence_present", "indicator:official_channel"],
        ),
        ad(
            "jp0000000000000000000001",
            source="demo_kerjanusa",
            source_kind="jobposting",
            countries=["JP"],
            risk=0.64,
            risk_margin=0.02,
            title="Magang Jepang berangkat cepat",
            phones=["+6281255512345"],
            whatsapp=[],
            telegram=[],
            text="Magang ke Jepang, proses cepat 2 minggu langsung berangkat. Hubungi 0812-5551-2345",
            reason_codes=["indicator:speed_promise"],
            crawled_at="2026-11-15T08:00:00+00:00",
        ),
        ad(
            XSS_AD,
            title='<script>window.__pwned=1;alert("judul")</script> LOKER <img src=x onerror=alert(1)>',
            url="javascript:alert(document.cookie)",
            text=(
                f'Kerja Kamboja <script>fetch("{canary_url}/script")</script> gaji 1.000 USD '
                f'<img src="{canary_url}/img" onerror="fetch(\'{canary_url}/onerror\')"> '
                f"<a href=\"javascript:fetch('{canary_url}/js-link')\">klik di sini</a> "
                f'<svg onload="alert(2)"></svg> japri @rekrut_kh'
            ),
            html=(
                f'<html><body><script>fetch("{canary_url}/evidence-script");alert("bukti")</script>'
                f'<img src="{canary_url}/evidence-img" onerror="alert(3)"><p>bukti iklan</p></body></html>'
            ),
            telegram=["@rekrut_kh"],
            phones=["+6281255512345"],
            risk=0.99,
            risk_margin=0.45,
        ),
    ]
    ads += [
        ad(
            f"bulk{i:020d}",
            source="demo_pasarloka",
            source_kind="classifieds",
            countries=["TH"],
            risk=0.7 + i / 100,
            title=f"Kerja Thailand admin game #{i}",
            phones=[f"+62812555{i:05d}"],
            whatsapp=[],
            telegram=[],
        )
        for i in range(6)
    ]
    return ads


def seed_store(store_url: str, canary_url: str = "http://127.0.0.1:9/canary") -> Store:
    store = open_store(store_url)
    store.upsert_ads(seed_ads(canary_url))
    for name, role in ROLE_OF.items():
        create_user(store, name, role, PASSWORDS[name], actor="tests")
    store.record_run(
        {
            "run_id": "r1",
            "source": "demo_telegram",
            "started_at": "2026-11-20T08:00:00+00:00",
            "finished_at": "2026-11-20T08:01:00+00:00",
            "status": "ok",
            "pages": 4,
            "items": 12,
            "new": 3,
            "flagged": 2,
            "errors": 0,
            "degraded_pages": 0,
        }
    )
    return store


def web_settings(**overrides: Any) -> WebSettings:
    return WebSettings(secret_key=SECRET, login_rate_attempts=10_000).replace(**overrides)


class LiveServer:
    """The app under uvicorn in a thread, on a port the OS picked."""

    def __init__(self, store: Store, settings: WebSettings) -> None:
        self.app = create_app(store, settings)
        # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so, and without it
        # every kept-alive request waits 40 ms for a delayed ACK.
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web app did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


class Client:
    """An HTTP client that keeps the session cookie by hand (see the module docstring)."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if self.cookies:
            sent["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.http.request(method, path, data=data, headers=sent, files=files)
        self.http.cookies.clear()
        for header in response.headers.get_list("set-cookie"):
            parsed = SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                self.cookies[name] = morsel.value
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, data=data, **kwargs)

    def csrf(self, path: str = "/login") -> str:
        """The CSRF token of the current session, as a page's form carries it."""
        match = CSRF_RE.search(self.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, name: str, password: str | None = None) -> httpx.Response:
        token = self.csrf("/login")
        return self.post(
            "/login", {"name": name, "password": password or PASSWORDS[name], "csrf_token": token}
        )

    def close(self) -> None:
        self.http.close()

    def __del__(self) -> None:  # tests that forget close() must not leak sockets
        self.http.close()


@contextmanager
def logged_in(base_url: str, name: str) -> Iterator[Client]:
    client = Client(base_url)
    response = client.login(name)
    assert response.status_code == 303, response.text[:500]
    try:
        yield client
    finally:
        client.close()


class Canary:
    """A loopback HTTP server that counts requests: hostile payloads aim at it and must never arrive."""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
