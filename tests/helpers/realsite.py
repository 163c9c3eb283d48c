"""Replay saved real pages on 127.0.0.1: one route per saved file, 404 for everything else.

Pages in ``tests/fixtures/real/`` are kept byte-for-byte as found (see its MANIFEST.tsv). Spiders
must not leave the loopback, so the server rewrites the platform's absolute origins (for example
``https://t.me``) to its own address in the copy it serves; the file on disk is never touched.
Routes can also answer with a redirect or an error status, which is how a platform's failure
forms (Telegram's no-preview redirect, a 429, an error page served with 200) are replayed.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "real"
TEXT_TYPES = (
    "text/",
    "application/xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/json",
    "application/feed+json",
)


@dataclass(frozen=True, slots=True)
class Route:
    """What the server answers for one request target (path and query, exactly as requested)."""

    target: str
    file: Path | None = None
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    location: str = ""  # for 3xx: where to go, a path on this server or an absolute URL
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """One saved page as the corpus MANIFEST.tsv describes it."""

    file: str
    platform: str
    kind: str
    sha256: str
    size: int
    kept: bool = True  # False: listed for provenance, not in the repository (the row says why)


def read_manifest(corpus: Path = CORPUS) -> list[ManifestRow]:
    """The corpus's files with their recorded size and digest (columns named in the header)."""
    lines = (corpus / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        if not line.strip():
            continue
        cells = dict(zip(header, line.split("\t"), strict=True))
        kept = not cells.get("kept", "yes").startswith("no")
        rows.append(
            ManifestRow(
                cells["file"],
                cells["platform"],
                cells["kind"],
                cells["sha256"],
                int(cells["size"]),
                kept,
            )
        )
    return rows


def corpus_problems(corpus: Path = CORPUS) -> list[str]:
    """Kept files missing or not byte-for-byte what the manifest recorded (empty when all is well)."""
    problems = []
    for row in read_manifest(corpus):
        if not row.kept:
            continue
        path = corpus / row.file
        if not path.is_file():
            problems.append(f"{row.file}: missing")
            continue
        data = path.read_bytes()
        if len(data) != row.size or hashlib.sha256(data).hexdigest() != row.sha256:
            problems.append(f"{row.file}: differs from the manifest (size or sha256)")
    return problems


def rewrite(body: bytes, origins: Iterable[str], base_url: str) -> bytes:
    """The served copy: each absolute origin (``https://t.me``, its ``//t.me`` form) made local.

    Only the origin itself is replaced, never a longer host that starts with it
    (``https://t.me.example.org`` stays).
    """
    local = base_url.encode()
    for origin in origins:
        absolute = origin.rstrip("/").encode()
        host = absolute.split(b"://", 1)[-1]
        end = rb"(?![\w.:-])"
        body = re.sub(re.escape(absolute) + end, lambda _: local, body)
        # "//t.me/s/x" in an attribute value, as Telegram writes its own links.
        body = re.sub(rb"(?<=[\"'])//" + re.escape(host) + end, lambda _: local, body)
    return body


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            self._send(404, b"not in the saved corpus\n", "text/plain; charset=utf-8", ())
            return
        body = route.file.read_bytes() if route.file is not None else b""
        if route.file is not None and route.content_type.startswith(TEXT_TYPES):
            body = rewrite(body, self.server.origins, self.server.base_url)
        headers = list(route.headers)
        if route.location:
            location = route.location
            if location.startswith("/"):
                location = self.server.base_url + location
            headers.append(("Location", location))
        self._send(route.status, body, route.content_type, headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: Iterable[Any]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``requests`` instead of the console."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Route]
    origins: tuple[str, ...]
    base_url: str
    requests: list[str]


@dataclass
class RealSite:
    """A running replay server: ``base_url``, the ``requests`` it answered, ``url(target)``."""

    base_url: str
    requests: list[str]

    def url(self, target: str) -> str:
        return self.base_url + target


@contextmanager
def serve(routes: Iterable[Route], origins: Iterable[str] = ()) -> Iterator[RealSite]:
    """Serve ``routes`` on 127.0.0.1 (a free port) until the block ends."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.routes = {route.target: route for route in routes}
    server.origins = tuple(origins)
    server.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, name="realsite", daemon=True)
    thread.start()
    try:
        yield RealSite(server.base_url, server.requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def swap_base(source: Any, origins: dict[str, str], **changes: Any) -> Any:
    """A registry entry with only its platform origins replaced (``{"https://t.me": local}``) — the
    entry's own selectors, paths and queries stay — plus explicit ``changes`` (e.g. ``enabled``)."""
    import dataclasses

    def local(value: Any) -> Any:
        if isinstance(value, str):
            for origin, replacement in origins.items():
                if value == origin or value.startswith((origin + "/", origin + "?")):
                    return replacement + value[len(origin) :]
            return value
        if isinstance(value, (list, tuple)):
            return type(value)(local(v) for v in value)
        if isinstance(value, dict):
            return {k: local(v) for k, v in value.items()}
        return value

    fields: dict[str, Any] = {
        f: local(getattr(source, f)) for f in ("base_url", "start_urls", "search_urls", "api")
    }
    # The replay server is on 127.0.0.1, which the crawl scope refuses unless the entry says why.
    fields["private_network"] = {"allow": True, "reason": "saved real pages replayed on 127.0.0.1"}
    return dataclasses.replace(source, **fields, **changes)
