"""Where a crawl may connect: never to a loopback, private, link-local or other special address,
unless its source opts in (``private_network: {allow: true, reason: …}`` in the registry) for its
own hosts and ports.

The check is made on the address a host name *resolves to*, when the connection is made:
``GuardedResolver`` (Scrapy's ``TWISTED_DNS_RESOLVER``) wraps the reactor's resolver and drops every
special address of a name (and port) that no opted-in source crawls. The crawl connects only to the addresses
the resolver hands over, so a name that resolves to a public address when a page links to it and to
127.0.0.1 when the connection is made (DNS rebinding), ``localhost``, and numeric spellings of a
loopback address (``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``) are refused alike.

A name left without any address fails to resolve; ``AddressGuardMiddleware`` (after the retry
middleware in the exception chain, so nothing retries it) turns that failure into a refusal counted
under ``patroli/scope/refused/private_address`` and named in the run summary. It also registers the
hosts and ports of an opted-in source with the resolver while its crawl runs, and installs the
resolver on the reactor if whoever started the crawl did not (Scrapy installs it only in
``CrawlerProcess``). The resolver is one per process, like the reactor, so an opt-in holds for its
host and port in every crawl of the process: whoever crawls that very host and port reaches the same
server the operator vouched for; any other name, even one resolving to the same address, does not.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import Counter, OrderedDict
from collections.abc import Sequence
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit
from urllib.request import getproxies

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CannotResolveHostError
from scrapy.http import Request
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
)
from zope.interface import implementer

from crawler.incidents import refused_key
from crawler.scope import OutOfScope, SourceScope, parse_target, source_of

logger = logging.getLogger(__name__)

REFUSED_ADDRESS = "private_address"  # the reason, under patroli/scope/refused/
MAX_REMEMBERED_REFUSALS = 1024


def special_address(address: str) -> str:
    """Why ``address`` (an IP literal) is no place for a crawl to connect to, or ``""`` if it is."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
            address.split("%", 1)[0]
        )
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 inside IPv6 reaches the IPv4 address: judge that one.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and (reason := special_address(str(embedded))):
            return reason
    for reason, flag in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("not globally routable", not ip.is_global),
    ):
        if flag:
            return reason
    return ""


@implementer(IResolutionReceiver)
class _Screen:
    """Passes on the permitted addresses of one resolution and remembers what it held back."""

    def __init__(self, receiver: Any, name: str, allow_special: bool) -> None:
        self.receiver = receiver
        self.name = name
        self.allow_special = allow_special
        self.passed = 0
        self.held_back: list[str] = []

    def resolutionBegan(self, resolution: IHostResolution) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:
        host = str(getattr(address, "host", ""))
        reason = special_address(host)
        if reason and not self.allow_special:
            self.held_back.append(f"{host} ({reason})")
            return
        self.passed += 1
        self.receiver.addressResolved(address)

    def resolutionComplete(self) -> None:
        GuardedResolver.remember(self.name, self.held_back, refused=not self.passed)
        self.receiver.resolutionComplete()


@implementer(IHostnameResolver)
class GuardedResolver:
    """The reactor's name resolver, minus special addresses for names no opted-in source crawls."""

    # Process-wide, like the reactor: several crawls share one process (``patroli crawl``).
    private_hosts: ClassVar[Counter[tuple[str, int | None]]] = Counter()  # port None: 80 and 443
    refusals: ClassVar[OrderedDict[str, str]] = OrderedDict()

    def __init__(self, reactor: Any, wrapped: Any = None) -> None:
        self.reactor = reactor
        # By default the reactor's own resolver (Twisted's getaddrinfo in a thread: IPv4 and IPv6).
        wrapped = wrapped or reactor.nameResolver
        if isinstance(wrapped, GuardedResolver):
            wrapped = wrapped.wrapped
        self.wrapped: Any = wrapped  # an IHostnameResolver

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> Self:
        """For ``TWISTED_DNS_RESOLVER`` (Scrapy passes its ``CrawlerProcess`` as ``crawler``)."""
        return cls(reactor)

    def install_on_reactor(self) -> None:
        self.reactor.installNameResolver(self)

    @classmethod
    def ensure_installed(cls, reactor: Any) -> None:
        if not isinstance(reactor.nameResolver, cls):
            cls(reactor).install_on_reactor()
            logger.debug("installed the guarded name resolver on the reactor")

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        name = normal_host(hostName)
        allowed = (name, portNumber) in self.private_hosts or (
            portNumber in (80, 443) and (name, None) in self.private_hosts
        )
        screen = _Screen(resolutionReceiver, name, allow_special=allowed)
        resolution: IHostResolution = self.wrapped.resolveHostName(
            screen, hostName, portNumber, addressTypes, transportSemantics
        )
        return resolution

    @classmethod
    def remember(cls, name: str, held_back: list[str], *, refused: bool) -> None:
        """Keep, per name, the special addresses that left it without any (the latest answer)."""
        if held_back:
            logger.debug("%s resolves to %s: held back", name, ", ".join(held_back))
        if not (held_back and refused):
            cls.refusals.pop(name, None)
        else:
            cls.refusals[name] = ", ".join(held_back[:3])
            cls.refusals.move_to_end(name)
            while len(cls.refusals) > MAX_REMEMBERED_REFUSALS:
                cls.refusals.popitem(last=False)

    @classmethod
    def refusal(cls, name: str) -> str:
        """The special addresses ``name`` last resolved to, if that left it without any."""
        return cls.refusals.get(normal_host(name), "")

    @classmethod
    def allow_private(cls, hosts: set[tuple[str, int | None]]) -> None:
        cls.private_hosts.update((normal_host(h), port) for h, port in hosts)

    @classmethod
    def disallow_private(cls, hosts: set[tuple[str, int | None]]) -> None:
        cls.private_hosts.subtract((normal_host(h), port) for h, port in hosts)
        cls.private_hosts += Counter()  # drop the ones at zero


def normal_host(name: str) -> str:
    return name.strip().strip("[]").rstrip(".").lower()


def configured_proxies(settings: Any) -> set[tuple[str, int | None]]:
    """The HTTP proxies the operator set (``http_proxy``, ``https_proxy``; read as Scrapy's proxy
    middleware reads them) as (host, port): trusted with their own address, which is often a private
    one. Through a proxy the proxy resolves the sources' names, so it must refuse private
    destinations itself (docs/sources.md#crawl-scope)."""
    if not settings.getbool("HTTPPROXY_ENABLED"):
        return set()
    found: set[tuple[str, int | None]] = set()
    for scheme, url in getproxies().items():
        if scheme not in ("http", "https"):
            continue
        try:
            parts = urlsplit(url if "://" in url else f"http://{url}")
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            continue  # Scrapy skips what it cannot parse as well
        if parts.hostname:
            found.add((normal_host(parts.hostname), port))
    return found


class AddressRefused(OutOfScope):
    """A connection the address guard refused: the host resolved to special addresses only."""


class AddressGuardMiddleware:
    """Counts the guard's refusals, and lets an opted-in source reach its own private hosts."""

    def __init__(self, crawler: Crawler) -> None:
        from twisted.internet import reactor  # installed by Scrapy before components are built

        GuardedResolver.ensure_installed(reactor)
        self.crawler = crawler
        source = source_of(crawler.spider)
        self.name = source.name if source else getattr(crawler.spider, "name", "?")
        self.private_hosts: set[tuple[str, int | None]] = set()
        if source is not None and source.private_network.get("allow"):
            self.private_hosts = set(SourceScope.of(source).hosts)
            hosts = ", ".join(sorted(f"{h}:{p}" if p else h for h, p in self.private_hosts))
            logger.info(
                "%s may connect to private addresses of %s: %s",
                self.name,
                hosts,
                source.private_network.get("reason"),
            )
        if proxies := configured_proxies(crawler.settings) - self.private_hosts:
            self.private_hosts |= proxies
            logger.info(
                "%s connects through the configured proxy %s",
                self.name,
                ", ".join(sorted(f"{h}:{p}" for h, p in proxies)),
            )
        if self.private_hosts:
            GuardedResolver.allow_private(self.private_hosts)
            crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def spider_closed(self) -> None:
        GuardedResolver.disallow_private(self.private_hosts)
        self.private_hosts = set()

    def process_exception(self, request: Request, exception: Exception) -> None:
        if not isinstance(exception, CannotResolveHostError):
            return
        try:
            host = parse_target(request.url).host
        except OutOfScope:
            return
        addresses = GuardedResolver.refusal(host)
        if not addresses:
            return
        stats = self.crawler.stats
        assert stats is not None  # noqa: S101 - set before components
        key = refused_key(request.meta)
        stats.inc_value(key)
        stats.inc_value(f"{key}/{REFUSED_ADDRESS}")
        logger.warning(
            "%s: refused to connect to %s: %s resolves to %s",
            self.name,
            request.url[:200],
            host,
            addresses,
        )
        raise AddressRefused(REFUSED_ADDRESS, request.url) from exception
