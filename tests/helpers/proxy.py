"""An HTTP proxy on this machine that stands in for the internet: it answers every request it is asked
to forward, whatever the host, with what one upstream site (the demo sites) answers for the same path,
and records the hosts it was asked for. For crawls through a proxy, as behind an office's proxy."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit


class ForwardingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.hosts: list[str] = []
        self.url = ""
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> Self:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                target = urlsplit(self.path)  # a proxy is asked for absolute URLs
                proxy.hosts.append(target.netloc)
                path = target.path + (f"?{target.query}" if target.query else "")
                direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                try:
                    with direct.open(proxy.upstream + path, timeout=10) as answer:
                        status, body = answer.status, answer.read()
                        kind = answer.headers.get("Content-Type", "text/html")
                except urllib.error.HTTPError as error:
                    status, body, kind = error.code, error.read(), "text/plain"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
