"""Crawl scope: every request of a crawl stays on its source's hosts, over http(s).

Crawled pages are hostile: a listing link, a redirect, a meta refresh, a sitemap ``<loc>`` or a
"next page" link may point anywhere — another host, the crawler's own machine, ``file:///etc/passwd``.
Spiders do not check; ``CrawlScopeMiddleware``, the first downloader middleware, checks every request
the crawl makes (the spider's, a redirect's, a meta refresh's, robots.txt) and refuses, counts and
logs one that is

- not ``http``/``https`` (``scheme``; Scrapy's ``file``, ``ftp``, ``data`` and ``s3`` handlers are
  also switched off in ``crawler/settings.py``),
- not a plain ``host[:port]`` URL (``malformed``: user info, a backslash, a bad port), or
- off the source's hosts (``off_host``): the hosts of its ``start_urls``, ``search_urls``,
  ``base_url`` and search API (``api.url``, ``api.search_url``), widened only by its ``allowed_hosts`` (``*.example.com`` for sub-domains). A host
  named without a port means the default ports (80, 443); one named with a port, that port only.

Host names are compared as written, so ``localhost``, ``2130706433`` or ``[::ffff:127.0.0.1]`` are
other hosts than ``127.0.0.1``. What a permitted name *resolves to* is checked when the connection is
made (``crawler/addresses.py``). Refusals are counted under ``patroli/scope/refused/<reason>`` and
named in the run summary (``crawler/runs.py``); a walk with refusals marks nothing gone
(``crawler/incidents.py``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Self
from urllib.parse import urlsplit

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.response import get_meta_refresh

from crawler.incidents import REFUSED_REDIRECTS, SCOPE_REFUSED, refused_key
from crawler.sources import SourceConfig

logger = logging.getLogger(__name__)

WEB_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
# A host name, an IPv4 literal or a bracketed IPv6 literal, and an optional port: nothing else, so
# that this check and the HTTP client read the same host and port from a URL.
_NETLOC_RE = re.compile(r"(?P<host>[a-z0-9._-]+|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?")


class OutOfScope(IgnoreRequest):
    """A request the crawl scope refused; ``reason`` is one of scheme, malformed, off_host."""

    def __init__(self, reason: str, url: str) -> None:
        super().__init__(f"out of the source's scope ({reason}): {url[:200]}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str  # lower case, no trailing dot, IPv6 without brackets
    port: int


def parse_target(url: str) -> Target:
    """Scheme, host and port of ``url``; ``OutOfScope`` when it is not a plain http(s) URL."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in WEB_SCHEMES:
        raise OutOfScope("scheme", url)
    try:
        parts = urlsplit(url)
    except ValueError:
        raise OutOfScope("malformed", url) from None
    match = _NETLOC_RE.fullmatch(parts.netloc.lower())
    if match is None or "\\" in url:
        raise OutOfScope("malformed", url)
    port = int(match["port"]) if match["port"] else DEFAULT_PORTS[scheme]
    host = match["host"].strip("[]").rstrip(".")
    if not host or not 0 < port < 65536:
        raise OutOfScope("malformed", url)
    return Target(scheme, host, port)


def _entry(text: str) -> tuple[str, int | None]:
    """``host`` or ``host:port`` (or a URL) as (host, port or None for the default ports)."""
    netloc = urlsplit(text).netloc if "://" in text else text
    match = _NETLOC_RE.fullmatch(netloc.lower().rsplit("@", 1)[-1])
    if match is None:
        raise ValueError(f"not a host name or host:port: {text!r}")
    return match["host"].strip("[]").rstrip("."), int(match["port"]) if match["port"] else None


@dataclass(frozen=True, slots=True)
class SourceScope:
    """The hosts (and ports) one source may be crawled on."""

    hosts: frozenset[tuple[str, int | None]]
    suffixes: frozenset[tuple[str, int | None]] = frozenset()  # from "*.example.com"

    @classmethod
    def of(cls, source: SourceConfig) -> SourceScope:
        urls: list[str] = [*source.start_urls, *source.search_urls]
        if source.kind == "telegram_channel":
            urls.append(source.base_url)
        # A source read through a JSON search API (``api.url``, ``api.search_url``: the registry
        # field of real-platform sources) starts there too.
        api = getattr(source, "api", None) or {}
        urls += [str(api[key]) for key in ("url", "search_url") if api.get(key)]
        hosts = {_entry(url.replace("{query}", "")) for url in urls}
        suffixes = set()
        for name in source.allowed_hosts:
            if name.startswith("*."):
                suffixes.add(_entry(name[2:]))
            else:
                hosts.add(_entry(name))
        return cls(frozenset(hosts), frozenset(suffixes))

    def allows(self, target: Target) -> bool:
        for host, port in self.hosts:
            if host == target.host and self._port_fits(port, target.port):
                return True
        return any(
            target.host.endswith("." + suffix) and self._port_fits(port, target.port)
            for suffix, port in self.suffixes
        )

    @staticmethod
    def _port_fits(allowed: int | None, port: int) -> bool:
        return port in DEFAULT_PORTS.values() if allowed is None else port == allowed

    def check(self, url: str) -> Target:
        """The target of ``url``, or ``OutOfScope`` with the reason it is refused."""
        target = parse_target(url)
        if not self.allows(target):
            raise OutOfScope("off_host", url)
        return target


def source_of(spider: Spider | None) -> SourceConfig | None:
    source = getattr(spider, "source", None)
    return source if isinstance(source, SourceConfig) else None


class CrawlScopeMiddleware:
    """The downloader middleware that refuses requests out of the source's scope (first in line)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        source = source_of(crawler.spider)
        # A spider without a registry source (a test's, a one-off) is held to http(s) only.
        self.scope = SourceScope.of(source) if source else None
        self.meta_refresh = crawler.settings.getbool("METAREFRESH_ENABLED")
        self.refresh_ignore_tags = crawler.settings.getlist("METAREFRESH_IGNORE_TAGS")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        try:
            if self.scope is None:
                parse_target(request.url)
            else:
                self.scope.check(request.url)
        except OutOfScope as refusal:
            self.refuse(refusal, request)
            raise

    def process_response(self, request: Request, response: Response) -> Response:
        """A redirect or meta refresh Scrapy does not follow because it leaves http(s) (``file:``,
        ``ftp:``, ``data:`` …) is a refusal too: counted here, as no request is made for it."""
        target = ""
        location = response.headers.get("Location")
        if 300 <= response.status < 400 and location:
            target = response.urljoin(location.decode("latin-1"))
        elif isinstance(response, HtmlResponse) and self.meta_refresh:
            target = get_meta_refresh(response, ignore_tags=self.refresh_ignore_tags)[1] or ""
        if target and target.split(":", 1)[0].lower() not in WEB_SCHEMES:
            self.count("scheme", redirect=True, key=refused_key(request.meta))
            logger.warning(
                "%s: refused a redirect or meta refresh out of scope (scheme) from %s to %s",
                self.name,
                request.url,
                target[:200],
            )
        return response

    @property
    def name(self) -> str:
        source = source_of(self.crawler.spider)
        return source.name if source else getattr(self.crawler.spider, "name", "?")

    def refuse(self, refusal: OutOfScope, request: Request) -> None:
        redirected = bool(request.meta.get("redirect_urls"))
        self.count(refusal.reason, redirect=redirected, key=refused_key(request.meta))
        how = (
            f"a redirect or meta refresh from {request.meta['redirect_urls'][-1]}"
            if redirected
            else "a link"
        )
        logger.warning(
            "%s: refused %s out of scope (%s): %s",
            self.name,
            how,
            refusal.reason,
            request.url[:200],
        )

    def count(self, reason: str, *, redirect: bool = False, key: str) -> None:
        """One refusal under ``key`` (``refused_key``: a media request's apart from the walk's)."""
        stats = self.crawler.stats
        assert stats is not None  # noqa: S101 - set before components
        stats.inc_value(key)
        stats.inc_value(f"{key}/{reason}")
        if redirect and key == SCOPE_REFUSED:
            stats.inc_value(REFUSED_REDIRECTS)
