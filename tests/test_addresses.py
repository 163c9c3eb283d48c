"""The address guard (crawler/addresses.py): a crawl connects to no loopback, private, link-local or
other special address unless its source opts in, judged on the address a name resolves to when the
connection is made, so that DNS rebinding and numeric spellings of this machine are caught."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import CannotResolveHostError
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from zope.interface import implementer

from crawler.addresses import (
    AddressGuardMiddleware,
    AddressRefused,
    GuardedResolver,
    special_address,
)
from crawler.incidents import MEDIA_META
from patroli.demosites.process import DemoSitesProcess
from tests.helpers.cli import run_patroli
from tests.helpers.components import build, stats
from tests.helpers.proxy import ForwardingProxy
from tests.helpers.spiderkit import spider_for


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to judge, not to bind
        ("::", "unspecified"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1%eth0", "link-local"),
        ("100.64.0.1", "not globally routable"),  # carrier-grade NAT
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "private"),
        ("not-an-address", "not an IP address"),
    ],
)
def test_special_addresses_are_named(address: str, reason: str) -> None:
    assert special_address(address) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "8.8.8.8"])
def test_public_addresses_are_fine(address: str) -> None:
    assert special_address(address) == ""


@implementer(IHostnameResolver)
class ScriptedDns:
    """Stands in for the internet's DNS (tests have none): each name answers its next scripted list."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers

    def resolveHostName(
        self,
        resolutionReceiver: Any,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[Any] | None = None,
        transportSemantics: str = "TCP",
    ) -> Any:
        resolutionReceiver.resolutionBegan(hostName)
        for address in self.answers[hostName].pop(0):
            kind = IPv6Address if ":" in address else IPv4Address
            resolutionReceiver.addressResolved(kind("TCP", address, portNumber))
        resolutionReceiver.resolutionComplete()
        return hostName


@implementer(IResolutionReceiver)
class Collected:
    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.complete = False

    def resolutionBegan(self, resolution: Any) -> None:
        pass

    def addressResolved(self, address: Any) -> None:
        self.addresses.append(address.host)

    def resolutionComplete(self) -> None:
        self.complete = True


def resolve(resolver: GuardedResolver, name: str) -> list[str]:
    collected = Collected()
    resolver.resolveHostName(collected, name, 80)
    assert collected.complete
    return collected.addresses


@pytest.fixture
def dns() -> GuardedResolver:
    scripted = ScriptedDns(
        {
            "jobs.example": [["93.184.216.34"]],
            "rebind.example": [
                ["93.184.216.34"],
                ["127.0.0.1"],
            ],  # public when linked, loopback later
            "inside.example": [["10.0.0.5", "::ffff:192.168.0.1"]],
            "mixed.example": [["93.184.216.34", "127.0.0.1"]],
            "2130706433": [["127.0.0.1"]],  # what getaddrinfo makes of the number
            "office.example": [["10.0.0.7"]],
        }
    )
    return GuardedResolver(reactor=None, wrapped=scripted)


def test_a_name_that_resolves_to_a_special_address_gets_no_address(dns: GuardedResolver) -> None:
    assert resolve(dns, "jobs.example") == ["93.184.216.34"]
    assert resolve(dns, "inside.example") == []
    assert GuardedResolver.refusal("inside.example").startswith("10.0.0.5 (private)")
    assert resolve(dns, "2130706433") == []
    assert "loopback" in GuardedResolver.refusal("2130706433")


def test_dns_rebinding_is_caught_at_connect_time(dns: GuardedResolver) -> None:
    assert resolve(dns, "rebind.example") == ["93.184.216.34"]  # when the page linked to it
    assert resolve(dns, "rebind.example") == []  # when the crawl connects: 127.0.0.1 held back
    assert GuardedResolver.refusal("rebind.example") == "127.0.0.1 (loopback)"


def test_only_the_special_addresses_of_a_name_are_held_back(dns: GuardedResolver) -> None:
    assert resolve(dns, "mixed.example") == ["93.184.216.34"]
    assert GuardedResolver.refusal("mixed.example") == ""  # it still resolves: not refused


def test_a_source_that_opts_in_reaches_its_own_private_hosts(dns: GuardedResolver) -> None:
    GuardedResolver.allow_private({("office.example", None)})
    try:
        assert resolve(dns, "office.example") == ["10.0.0.7"]
    finally:
        GuardedResolver.disallow_private({("office.example", None)})
    assert ("office.example", None) not in GuardedResolver.private_hosts


def test_a_refused_address_is_counted_and_not_retried() -> None:
    spider = spider_for("demo_pasarloka")
    spider.crawler.spider = spider
    guard = build(AddressGuardMiddleware, spider.crawler)
    GuardedResolver.remember("refused.example", ["127.0.0.1 (loopback)"], refused=True)
    failure = CannotResolveHostError("no results for hostname lookup: refused.example")
    with pytest.raises(AddressRefused, match="private_address"):
        guard.process_exception(Request("http://refused.example/ad"), failure)
    assert stats(spider.crawler)["patroli/scope/refused/private_address"] == 1
    # An ad's image is refused alike, counted apart from the listing walk's requests.
    image = Request("http://refused.example/flyer.jpg", meta={MEDIA_META: True})
    with pytest.raises(AddressRefused):
        guard.process_exception(image, failure)
    assert stats(spider.crawler)["patroli/scope/refused_media/private_address"] == 1
    assert stats(spider.crawler)["patroli/scope/refused"] == 1
    # A name that simply does not resolve is left to the retry middleware.
    assert guard.process_exception(Request("http://nxdomain.example/"), failure) is None


@pytest.mark.crawl
def test_a_crawl_never_connects_to_this_machine_unless_its_source_opts_in(tmp_path: Path) -> None:
    """Over real HTTP, with the system's resolver: ``localhost``, ``2130706433`` and the IPv4-mapped
    IPv6 literal ``[::ffff:7f00:1]`` (no name to resolve) all reach this machine."""
    with DemoSitesProcess(port=0, hostile=True) as sites:
        port = sites.url.rsplit(":", 1)[-1]
        registry = tmp_path / "sources.yaml"
        feed = "hostile/feed/rss"
        registry.write_text(
            "sources:\n"
            f"  - {{name: by_name, kind: feed, start_urls: ['http://localhost:{port}/{feed}']}}\n"
            f"  - {{name: by_number, kind: feed, start_urls: ['http://2130706433:{port}/{feed}']}}\n"
            f"  - {{name: by_mapped, kind: feed, start_urls: ['http://[::ffff:7f00:1]:{port}/{feed}']}}\n"
            f"  - {{name: opted_in, kind: feed, start_urls: ['http://127.0.0.1:{port}/{feed}'],\n"
            "      private_network: {allow: true, reason: 'a feed served on this machine for the test'}}\n",
            encoding="utf-8",
        )
        summary = tmp_path / "summary.json"
        result = run_patroli(
            "crawl",
            "--sources",
            str(registry),
            "--store",
            f"sqlite:///{tmp_path / 'p.db'}",
            "--summary-json",
            str(summary),
            "--no-classify",
            "-s",
            "PATROLI_MONITORS_ENABLED=False",
            "-s",
            "PATROLI_RETRY_BACKOFF_BASE=0.05",
        )
        seen = sites.configure_hostile()["hosts_seen"]
    # Only the opted-in source's requests arrived: nothing under the name or the number.
    assert set(seen) == {f"127.0.0.1:{port}"}
    runs = {run["source"]: run for run in json.loads(summary.read_text())}
    for name in ("by_name", "by_number", "by_mapped"):
        assert runs[name]["stats"]["patroli/scope/refused/private_address"] >= 1, runs[name][
            "stats"
        ]
        assert runs[name]["items"] == 0
        assert any("loopback, private or other special address" in n for n in runs[name]["notes"])
    assert runs["opted_in"]["items"] == 3
    assert "patroli/scope/refused" not in runs["opted_in"]["stats"]
    assert result.returncode == 4, result.stderr[-2000:]  # three sources got nothing: failed


@pytest.mark.crawl
def test_a_crawl_through_a_proxy_on_this_machine_reaches_its_source(tmp_path: Path) -> None:
    """The proxy the operator set (``http_proxy``) is trusted with its own, private address: behind an
    office's proxy on the local network, a public source is crawled through it."""
    with DemoSitesProcess(port=0, hostile=True) as sites, ForwardingProxy(sites.url) as proxy:
        registry = tmp_path / "sources.yaml"
        registry.write_text(
            "sources:\n  - {name: behind_proxy, kind: feed,"
            " start_urls: ['http://lowongan.example/hostile/feed/rss']}\n",
            encoding="utf-8",
        )
        summary = tmp_path / "summary.json"
        result = run_patroli(
            "crawl",
            "--sources",
            str(registry),
            "--store",
            f"sqlite:///{tmp_path / 'p.db'}",
            "--summary-json",
            str(summary),
            "--no-classify",
            "-s",
            "PATROLI_MONITORS_ENABLED=False",
            "-s",
            "PATROLI_RETRY_BACKOFF_BASE=0.05",
            env={"http_proxy": proxy.url},
        )
    (run,) = json.loads(summary.read_text())
    assert "lowongan.example" in proxy.hosts
    assert run["items"] == 3, result.stderr[-2000:]
    assert "patroli/scope/refused/private_address" not in run["stats"]
