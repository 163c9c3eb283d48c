"""Render archived pages in headless chromium with no network at all: a screenshot of a page as it
was captured, and PDFs of reports.

Every request the page makes is intercepted: the page itself and any resource archived in the WARC
files (images the media pipeline fetched, stylesheets) are served from the archive, decoded, with
their archived status and headers; everything else is refused and listed. On top of that the
browser points at a dead proxy and resolves no host name, so a request that escaped interception
still reaches nothing. Scripts never run, service workers are blocked, each page gets a fresh,
empty context. Chromium's own sandbox is used unless the process runs as root (where chromium
refuses it). Playwright drives the system's chromium (``PATROLI_CHROMIUM``) and never downloads
a browser.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from patroli.evidence.archive import ArchiveIndex, StoredRecord, read_record

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright, Route

logger = logging.getLogger(__name__)

ARGS = [
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--proxy-server=http://127.0.0.1:9",  # the discard port: nothing is there
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
VIEWPORT = {"width": 1280, "height": 900}
MAX_BLOCKED_LISTED = 50
# Headers that describe the bytes on the wire, not the decoded body the browser is given.
_WIRE_HEADERS = {
    "content-encoding",
    "content-length",
    "transfer-encoding",
    "x-patroli-transfer-encoding",
    "connection",
    "keep-alive",
}


class RendererUnavailable(RuntimeError):
    """chromium (or Playwright) is missing; the message says what to install."""


@dataclass(slots=True)
class Rendered:
    png: bytes
    served: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


def _response_headers(record: StoredRecord) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in record.headers:
        if key.lower() not in _WIRE_HEADERS:
            headers[key] = value
    return headers


class OfflineRenderer:
    """``with OfflineRenderer(chromium, evidence_dir) as renderer: renderer.screenshot(record)``."""

    def __init__(self, chromium: str, evidence_dir: Path | None = None) -> None:
        self.chromium = chromium
        self.evidence_dir = Path(evidence_dir) if evidence_dir else None
        self._index: ArchiveIndex | None = None
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self.version = ""

    def __enter__(self) -> Self:
        if not (Path(self.chromium).is_file() or shutil.which(self.chromium)):
            raise RendererUnavailable(
                f"no chromium at {self.chromium}: install Debian's chromium (apt-get install "
                "chromium) or set PATROLI_CHROMIUM"
            )
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:  # pragma: no cover - a dependency of patroli
            raise RendererUnavailable(f"Playwright is missing: {exc}") from exc
        root = hasattr(os, "geteuid") and os.geteuid() == 0
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=self.chromium,
                args=[*ARGS, *(["--no-sandbox"] if root else [])],
                chromium_sandbox=not root,
            )
        except Exception as exc:
            self._playwright.stop()
            raise RendererUnavailable(f"chromium at {self.chromium} did not start: {exc}") from exc
        self.version = f"Chromium {self._browser.version}"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()

    @property
    def index(self) -> ArchiveIndex | None:
        if self._index is None and self.evidence_dir is not None:
            self._index = ArchiveIndex(self.evidence_dir)
        return self._index

    def _new_page(self) -> Any:
        assert self._browser is not None  # noqa: S101 - used inside the context manager
        context = self._browser.new_context(
            java_script_enabled=False,
            service_workers="block",
            viewport=VIEWPORT,  # type: ignore[arg-type]
            accept_downloads=False,
            locale="id-ID",
            timezone_id="Asia/Jakarta",
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        return context, page

    def screenshot(
        self, record: StoredRecord, *, near: datetime | None = None, html: bytes | None = None
    ) -> Rendered:
        """The page of ``record`` (or, without an archived record, ``html`` at its URL), with
        every resource the archive holds and nothing else."""
        result = Rendered(b"")
        main_url = record.uri

        def handle(route: Route) -> None:
            url = route.request.url
            if url == main_url:
                body = html if html is not None else record.payload
                route.fulfill(
                    status=record.status or 200, headers=_response_headers(record), body=body
                )
                return
            entry = self.index.lookup(url, near) if self.index is not None else None
            if entry is not None and self.evidence_dir is not None:
                try:
                    resource = read_record(self.evidence_dir, entry.file, entry.offset)
                except Exception:  # noqa: BLE001 - a resource that cannot be read is left out
                    logger.warning("archived resource %s unreadable", url[:200])
                else:
                    result.served.append(url)
                    route.fulfill(
                        status=resource.status or 200,
                        headers=_response_headers(resource),
                        body=resource.payload,
                    )
                    return
            if len(result.blocked) < MAX_BLOCKED_LISTED:
                result.blocked.append(url[:500])
            route.abort("blockedbyclient")

        context, page = self._new_page()
        try:
            page.route("**/*", handle)
            page.goto(main_url, wait_until="load")
            result.png = page.screenshot(full_page=True, type="png", animations="disabled")
        finally:
            context.close()
        return result

    def pdf(self, html: str) -> bytes:
        """An A4 PDF of a self-contained HTML document (the report), rendered offline."""
        context, page = self._new_page()
        blocked: list[str] = []

        def refuse(route: Route) -> None:
            blocked.append(route.request.url)
            route.abort("blockedbyclient")

        try:
            page.route("**/*", refuse)
            page.set_content(html, wait_until="load")
            data: bytes = page.pdf(
                format="A4",
                print_background=True,
                margin={"top": "18mm", "bottom": "18mm", "left": "15mm", "right": "15mm"},
            )
        finally:
            context.close()
        if blocked:
            logger.warning(
                "the report asked for %d outside resources; none was loaded", len(blocked)
            )
        return data
