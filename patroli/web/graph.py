"""A recruiter network drawn as server-rendered SVG: node positions computed here (networkx's
spring layout, seeded, so the same network is drawn the same way), shapes drawn by the template.
No JavaScript: the page keeps its CSP without inline scripts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx

MAX_ADS = 150


@dataclass(frozen=True, slots=True)
class Node:
    key: str
    kind: str  # "ad", "cluster", or an identifier kind ("phone", "handle", "email", "bank")
    x: float
    y: float
    label: str
    href: str
    risk_class: str = ""


@dataclass(frozen=True, slots=True)
class Edge:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True, slots=True)
class Drawing:
    width: int
    height: int
    nodes: list[Node]
    edges: list[Edge]
    truncated: bool


def _risk_class(value: Any) -> str:
    if value is None:
        return "risk-none"
    return "risk-high" if float(value) >= 0.8 else "risk-mid" if float(value) >= 0.5 else "risk-low"


def draw(network: Mapping[str, Any], width: int = 760, height: int = 520) -> Drawing:
    """Positions for the network's ads (at most ``MAX_ADS``), its non-generic identifiers and its
    clusters, and the edges between them."""
    ads: Sequence[Mapping[str, Any]] = network["ads"][:MAX_ADS]
    shown = {a["ad_id"] for a in ads}
    graph: nx.Graph = nx.Graph()
    for ad in ads:
        graph.add_node(f"ad:{ad['ad_id']}")
    edges = [(a, node) for a, node in network["edges"] if a in shown]
    for ad_id, node in edges:
        graph.add_edge(f"ad:{ad_id}", node)
    positions = (
        nx.spring_layout(graph, seed=7, k=1.2 / max(graph.number_of_nodes(), 1) ** 0.5)
        if graph
        else {}
    )
    margin = 24

    def at(key: str) -> tuple[float, float]:
        x, y = positions[key]
        return (
            round(margin + (x + 1) / 2 * (width - 2 * margin), 1),
            round(margin + (y + 1) / 2 * (height - 2 * margin), 1),
        )

    by_id = {a["ad_id"]: a for a in ads}
    nodes: list[Node] = []
    for key in sorted(graph.nodes):
        x, y = at(key)
        kind, _, value = key.partition(":")
        if kind == "ad":
            ad = by_id[value]
            nodes.append(
                Node(
                    key,
                    "ad",
                    x,
                    y,
                    str(ad.get("title") or value)[:80],
                    f"/ads/{value}",
                    _risk_class(ad.get("risk")),
                )
            )
        elif kind == "cluster":
            nodes.append(Node(key, "cluster", x, y, value, f"/clusters/{value}"))
        else:
            nodes.append(
                Node(
                    key,
                    kind,
                    x,
                    y,
                    value,
                    f"/entities/{kind}/{value}" if kind in ("phone", "handle", "email") else "",
                )
            )
    lines = [Edge(*at(f"ad:{a}"), *at(node)) for a, node in edges]
    return Drawing(width, height, nodes, lines, truncated=len(network["ads"]) > MAX_ADS)
