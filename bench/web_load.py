"""The web app under load on loopback: concurrent analysts and investigators over a 100k-ad store.

1. Builds a store of N fictional ads (default 100,000; deterministic: the same seed gives the same
   ads) in SQLite through ``store.upsert_ads``, and two accounts.
2. Starts the real server (``patroli serve``) in a child process.
3. Logs in U users (default 50: four in five analysts, one in five investigators), each on its own
   connection, and lets them work for D seconds (default 60):
   - an analyst opens the queue (a filter now and then), opens an ad from it, decides it
     (``expected_version``: a colleague's decision first is a conflict, not an error), and pages on;
   - an investigator searches (words, filters, phrases), pages on, opens an ad and an entity page.
4. Prints per page: requests, p50, p95 and max latency (ms), and the errors (any 5xx, any
   unexpected status, any failed request), and the requests per second; beside each p95, the p95
   of the same page for one analyst and one investigator alone, measured first on the same server
   (``--alone-seconds``), and the ratio: on a shared machine the absolute figures move with the
   other programs' load, the ratio less.

    .venv/bin/python bench/web_load.py [--ads 100000] [--users 50] [--seconds 60] [--alone-seconds 15] [--store URL]

A benchmark, not a test: it reports figures, it asserts nothing but "errors=0" in its last line.

Measured 2026-12-06 (100,000 team-written fictional ads from ``make_ads``, not real material;
``--users 50 --seconds 30 --alone-seconds 15``; two cores shared with other programs, load average
11 to 18 during the run, so the absolute figures are mostly waiting for a core):

    page          requests   p50_ms   p95_ms   max_ms  errors  p95_alone  ratio
    queue              216   1990.7   4906.2   8945.0       0      810.1   6.1x
    ad                 238   1717.4   3184.8   4774.3       0      163.4  19.5x
    review             216   1387.8   3289.9   4905.5       0       31.7 103.8x
    search              22   6028.5  10917.7  10980.2       0     1060.3  10.3x
    search_next         22   6096.9  10433.5  12839.6       0     1293.8   8.1x
    entity               6    604.1   1419.0   1419.0       0      103.5  13.7x
    requests=720 seconds=32.9 rps=21.9 review_conflicts=81 errors=0

Before the fixes this benchmark led to (same store and run, load average ~9): 3.1 requests per
second, the ad page p50 20.6 s and p95 32 s, the queue p95 10.8 s (every read waited on one
connection's lock, the queue sorted every flagged ad, every ad page ranked most of the store for
its related ads); and a search for ``pelayan country:TH`` alone took 305 s, ``"visa ziarah"`` with
its facets did not answer at all (two quadratic SQLite plans). One run of five at 50 users had
one ``RemoteProtocolError`` on a queue page (the server log, not kept then, would tell; probably a
kept-alive connection closed by the starved server), the others none.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patroli.storage import open_store
from patroli.web.accounts import create_user

SEED = 13
PASSWORD = "beban-uji-kata-sandi-13"  # noqa: S105 - a fictional account of the benchmark's own store
CITIES = [
    "Phnom Penh",
    "Riyadh",
    "Johor",
    "Bandung",
    "Myawaddy",
    "Bangkok",
    "Sihanoukville",
    "Penang",
    "Dubai",
    "Taipei",
    "Osaka",
    "Surabaya",
]
TEMPLATES = [
    (
        "Loker admin {city}",
        "Dicari admin CS di {city}, gaji {pay} USD, tiket gratis, tanpa pengalaman. WA {phone}",
        "KH",
        0.95,
    ),
    (
        "PRT {city}",
        "PRT ke {city} pakai visa ziarah, tanpa biaya, berangkat cepat. Hub {phone}",
        "SA",
        0.9,
    ),
    (
        "Operator pabrik {city}",
        "Operator produksi kilang di {city}, gaji RM {pay}, potong gaji. {phone}",
        "MY",
        0.7,
    ),
    ("Kasir {city}", "Kasir minimarket {city}, gaji UMR, lamaran ke kantor. {phone}", "", 0.1),
    (
        "Operator online {city}",
        "Kerja operator online di {city}, gaji besar, paspor diurus. {phone}",
        "MM",
        0.93,
    ),
    (
        "Pelayan restoran {city}",
        "Pelayan restoran di {city}, gaji {pay} ribu baht, visa turis. {phone}",
        "TH",
        0.6,
    ),
]
SOURCES = [
    ("demo_telegram", "telegram_channel"),
    ("demo_pasarloka", "classifieds"),
    ("demo_kerjanusa", "jobposting"),
    ("demo_fb_group", "feed"),
]
QUERIES = [
    "kamboja",
    '"visa ziarah"',
    "country:KH flagged:true",
    "admin gaji",
    "risk>=0.8 country:MM",
    "operator -malaysia",
    "tiket gratis",
    "source:demo_telegram admin",
    "phnom penh",
    "first>=2026-11-10 flagged:true",
    '"tanpa pengalaman"',
    "pelayan country:TH",
]
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
AD_RE = re.compile(r'href="/ads/([^"/?]+)[?"]')
NEXT_RE = re.compile(r'href="(/(?:queue|search)\?[^"]*after=[^"]*)" rel="next"')
VERSION_RE = re.compile(r'name="expected_version" value="(\d+)"')
PHONE_RE = re.compile(r'href="(/entities/phone/[^"]+)"')


def make_ads(count: int, seed: int = SEED) -> list[dict[str, Any]]:
    """``count`` fictional ads, the same for the same seed (phones 0812-555x-xxxx)."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible data set, not a secret
    ads = []
    for i in range(count):
        title, text, country, base_risk = TEMPLATES[i % len(TEMPLATES)]
        city = rng.choice(CITIES)
        phone = f"0812-555{rng.randrange(10)}-{rng.randrange(10_000):04d}"
        source, kind = SOURCES[rng.randrange(len(SOURCES))]
        risk = min(0.999, max(0.001, base_risk + rng.uniform(-0.15, 0.15)))
        day = 1 + i % 28
        ad_id = f"{seed:02d}{i:022x}"
        ads.append(
            {
                "ad_id": ad_id,
                "source": source,
                "source_kind": kind,
                "native_id": ad_id,
                "url": f"https://example.test/{source}/{i}",
                "title": title.format(city=city),
                "text": text.format(city=city, pay=rng.randrange(800, 3000), phone=phone),
                "crawled_at": f"2026-11-{day:02d}T08:00:00+00:00",
                "posted_at": f"2026-11-{day:02d}T07:00:00+00:00",
                "content_hash": f"h{i}",
                "phones": ["+62812555" + phone[-6] + phone[-4:]],
                "whatsapp": [],
                "telegram": [],
                "countries": [country] if country else [],
                "risk": round(risk, 4),
                "risk_margin": round(risk - 0.5, 4),
                "flagged": risk >= 0.5,
                "reasons": [],
                "reason_codes": ["indicator:worker_pays_fees"] if risk >= 0.5 else [],
                "model_version": "bench",
                "html": f"<html><body><p>{ad_id}</p></body></html>",
            }
        )
    return ads


def build_store(url: str, count: int) -> float:
    started = time.perf_counter()
    store = open_store(url)
    ads = make_ads(count)
    for start in range(0, len(ads), 2000):
        store.upsert_ads(ads[start : start + 2000])
    create_user(store, "analis", "analyst", PASSWORD, actor="bench")
    create_user(store, "penyidik", "investigator", PASSWORD, actor="bench")
    store.close()
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.conflicts = 0
        self.examples: list[str] = []

    async def timed(
        self, page: str, request: Any, expect: tuple[int, ...] = (200,)
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response: httpx.Response = await request
        except httpx.HTTPError as exc:
            self.errors[page] += 1
            self.examples.append(f"{page}: {type(exc).__name__}")
            return None
        self.latency[page].append((time.perf_counter() - started) * 1000)
        if response.status_code == 409 and page == "review":
            self.conflicts += 1
        elif response.status_code not in expect:
            self.errors[page] += 1
            self.examples.append(f"{page}: HTTP {response.status_code} {response.url}")
        return response


async def login(http: httpx.AsyncClient, name: str) -> str:
    page = await http.get("/login")
    token = CSRF_RE.search(page.text)
    if token is None:
        raise RuntimeError("no CSRF token on the login page")
    response = await http.post(
        "/login", data={"name": name, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    if response.status_code != 303:
        raise RuntimeError(f"login of {name} failed: HTTP {response.status_code}")
    return token.group(1)


async def analyst(http: httpx.AsyncClient, stats: Stats, until: float, rng: random.Random) -> None:
    next_url = "/queue"
    while time.monotonic() < until:
        if rng.random() < 0.2:
            next_url = "/queue?" + rng.choice(
                [
                    "country=KH",
                    "source=demo_telegram",
                    "sort=uncertainty",
                    "min_risk=0.9",
                    "since=2026-11-10",
                ]
            )
        queue = await stats.timed("queue", http.get(next_url))
        if queue is None:
            continue
        ads = AD_RE.findall(queue.text)
        more = NEXT_RE.search(queue.text)
        next_url = more.group(1).replace("&amp;", "&") if more else "/queue"
        if not ads:
            continue
        ad_id = rng.choice(ads[:10])
        page = await stats.timed("ad", http.get(f"/ads/{ad_id}"))
        if page is None:
            continue
        token, version = CSRF_RE.search(page.text), VERSION_RE.search(page.text)
        if token and version:
            decision = rng.choice(["confirmed", "dismissed", "escalated"])
            await stats.timed(
                "review",
                http.post(
                    f"/ads/{ad_id}/review",
                    data={
                        "decision": decision,
                        "expected_version": version.group(1),
                        "note": "uji beban",
                        "csrf_token": token.group(1),
                    },
                ),
                expect=(303,),
            )


async def investigator(
    http: httpx.AsyncClient, stats: Stats, until: float, rng: random.Random
) -> None:
    while time.monotonic() < until:
        query = rng.choice(QUERIES)
        found = await stats.timed(
            "search",
            http.get(
                "/search", params={"q": query, "sort": rng.choice(["relevance", "risk", "date"])}
            ),
        )
        if found is None:
            continue
        more = NEXT_RE.search(found.text)
        if more:
            await stats.timed("search_next", http.get(more.group(1).replace("&amp;", "&")))
        ads = AD_RE.findall(found.text)
        if ads:
            page = await stats.timed("ad", http.get(f"/ads/{rng.choice(ads)}"))
            phone = PHONE_RE.search(page.text) if page is not None else None
            if phone and rng.random() < 0.3:
                await stats.timed("entity", http.get(phone.group(1)))


async def run_load(base: str, users: int, seconds: float) -> tuple[Stats, float]:
    """Log every user in (each on its own connection), then let all work until the deadline.
    One user in five is an investigator; a load of one user is one analyst and one investigator."""
    stats = Stats()
    rng = random.Random(SEED)  # noqa: S311 - reproducible choices of pages
    roles = [investigator if n % 5 == 4 else analyst for n in range(users)]
    if users == 1:
        roles = [analyst, investigator]
    clients = [httpx.AsyncClient(base_url=base, timeout=60) for _ in roles]
    try:
        await asyncio.gather(
            *(
                login(c, "penyidik" if r is investigator else "analis")
                for c, r in zip(clients, roles, strict=True)
            )
        )
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(
            *(
                role(c, stats, until, random.Random(rng.random()))  # noqa: S311
                for c, role in zip(clients, roles, strict=True)
            )
        )
        return stats, time.monotonic() - started
    finally:
        for client in clients:
            await client.aclose()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(stats: Stats, elapsed: float, alone: Stats | None = None) -> int:
    """Figures per page; with ``alone`` (the same pages, one analyst and one investigator, measured
    just before on the same server) also each p95 as a multiple of its p95 alone."""
    total = sum(len(v) for v in stats.latency.values())
    errors = sum(stats.errors.values())
    print(
        f"{'page':<12} {'requests':>9} {'p50_ms':>8} {'p95_ms':>8} {'max_ms':>8} {'errors':>7} {'p95_alone':>10} {'ratio':>6}"
    )
    for page in ("queue", "ad", "review", "search", "search_next", "entity"):
        values = stats.latency.get(page, [])
        if not values:
            continue
        base = alone.latency.get(page, []) if alone else []
        versus = (
            f"{percentile(base, 0.95):>10.1f} {percentile(values, 0.95) / percentile(base, 0.95):>5.1f}x"
            if base
            else ""
        )
        print(
            f"{page:<12} {len(values):>9} {statistics.median(values):>8.1f} {percentile(values, 0.95):>8.1f} "
            f"{max(values):>8.1f} {stats.errors.get(page, 0):>7} {versus}"
        )
    for example in stats.examples[:10]:
        print("  error:", example)
    print(
        f"requests={total} seconds={elapsed:.1f} rps={total / elapsed:.1f} review_conflicts={stats.conflicts} errors={errors}"
    )
    return 1 if errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ads", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--alone-seconds",
        type=float,
        default=15,
        help="first, one analyst and one investigator alone for this long (0: not)",
    )
    parser.add_argument(
        "--store", default="", help="an existing store URL (default: a fresh SQLite store)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="patroli-load-") as tmp:
        url = args.store or f"sqlite:///{Path(tmp) / 'load.db'}"
        if not args.store:
            seconds = build_store(url, args.ads)
            print(f"store: {args.ads} ads in {seconds:.1f}s ({url})")
        port = free_port()
        env = {
            **os.environ,
            "PATROLI_SECRET_KEY": secrets.token_urlsafe(48),
            "PATROLI_WEB_COOKIE_SECURE": "false",
            "PATROLI_WEB_LOGIN_RATE": "100000",
            "PATROLI_LOG_LEVEL": "WARNING",
        }
        log = (Path(tmp) / "server.log").open("w")
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "patroli"),
                "serve",
                "--store",
                url,
                "--port",
                str(port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/login", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    print(
                        "the server did not start:", (Path(tmp) / "server.log").read_text()[-2000:]
                    )
                    return 2
                time.sleep(0.2)
            print(
                f"load: {args.users} users ({args.users - args.users // 5} analysts, {args.users // 5} "
                f"investigators) for {args.seconds:.0f}s on {base}"
            )
            alone = None
            if args.alone_seconds > 0:
                alone, _ = asyncio.run(run_load(base, 1, args.alone_seconds))
            stats, elapsed = asyncio.run(run_load(base, args.users, args.seconds))
            code = report(stats, elapsed, alone)
            log.flush()
            server_log = (Path(tmp) / "server.log").read_text(errors="replace").strip()
            if server_log:
                print("server log (last lines):", *server_log.splitlines()[-30:], sep="\n  ")
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()
        return code


if __name__ == "__main__":
    sys.exit(main())
