"""Structured data inside pages and APIs: JSON-LD articles, embedded app state, JSON field maps.

Pages carry facts a reader sees but markup selectors miss: a WordPress post's date and author sit in
Yoast's JSON-LD ``@graph`` (``Article.author`` is only an ``@id`` pointing at a ``Person`` node);
boards built with Next.js render from ``<script id="__NEXT_DATA__">`` (Apollo's cache inside it);
classifieds such as OLX page through a JSON search API. This module reads those shapes; spiders
decide what to do with them.

A *JSON map* (``api``/``embedded`` in the source registry) names where the records are (``items``,
a dotted path where ``*`` means every value of an object or list, with an optional ``where``
filter) and where each ad field is in a record (``fields``: a dotted path, or a template such as
``https://www.olx.co.id/item/{id}`` whose ``{path}`` parts are filled from the record).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from parsel import Selector
from scrapy.http import Response, TextResponse

MAX_EMBEDDED_JSON_BYTES = 8 * 1024 * 1024  # hostile pages: never parse unbounded state blobs
_TEMPLATE_RE = re.compile(r"\{([A-Za-z0-9_.\-]+)\}")
_ARTICLE_TYPES = {"Article", "BlogPosting", "NewsArticle", "Report", "SocialMediaPosting"}


def page_selector(response: Response) -> Selector:
    """The page as a selector (an empty one for a response without text)."""
    return response.selector if isinstance(response, TextResponse) else Selector(text="<html/>")


def _types(node: Mapping[str, Any]) -> set[str]:
    value = node.get("@type") or []
    values = value if isinstance(value, list) else [value]
    return {str(v).rsplit("/", 1)[-1] for v in values}


def json_ld_nodes(page: Selector) -> list[dict[str, Any]]:
    """Every JSON-LD object of the page, ``@graph`` members flattened; unreadable blocks skipped."""
    nodes: list[dict[str, Any]] = []
    for raw in page.xpath("//script[@type='application/ld+json']/text()").getall():
        if len(raw) > MAX_EMBEDDED_JSON_BYTES:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        for node in stack:
            if not isinstance(node, dict):
                continue
            graph = node.get("@graph")
            if isinstance(graph, list):
                stack.extend(n for n in graph if isinstance(n, dict))
            nodes.append(node)
    return nodes


def _person_name(value: Any, by_id: Mapping[str, dict[str, Any]]) -> str:
    """An author as JSON-LD gives it: a name, a Person, a list, or an ``@id`` to resolve."""
    if isinstance(value, list):
        return ", ".join(n for n in (_person_name(v, by_id) for v in value) if n)
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if value.get("name"):
            return str(value["name"])
        ref = value.get("@id")
        if isinstance(ref, str) and ref in by_id and by_id[ref] is not value:
            return str(by_id[ref].get("name") or "")
    return ""


def article_facts(page: Selector) -> dict[str, str]:
    """Headline, dates and author of the page's schema.org Article (or BlogPosting, NewsArticle),
    from JSON-LD, with ``@id`` references resolved; else from ``article:*`` meta tags."""
    nodes = json_ld_nodes(page)
    by_id = {str(n["@id"]): n for n in nodes if isinstance(n.get("@id"), str)}
    facts: dict[str, str] = {}
    for node in nodes:
        if not _types(node) & _ARTICLE_TYPES:
            continue
        for key, name in (
            ("headline", "title"),
            ("datePublished", "published"),
            ("dateModified", "modified"),
            ("description", "description"),
        ):
            if node.get(key) and name not in facts:
                facts[name] = str(node[key])
        if "author" not in facts and (author := _person_name(node.get("author"), by_id)):
            facts["author"] = author
    meta = {
        "published": "meta[property='article:published_time']::attr(content)",
        "modified": "meta[property='article:modified_time']::attr(content)",
        "author": "meta[name='author']::attr(content)",
        "title": "meta[property='og:title']::attr(content)",
    }
    for name, query in meta.items():
        if name not in facts and (value := (page.css(query).get() or "").strip()):
            facts[name] = value
    return facts


def embedded_state(page: Selector, script: str) -> Any:
    """The JSON a page renders from: ``<script id="NAME">`` (Next.js ``__NEXT_DATA__``) or a
    ``window.NAME = {...};`` assignment (``__APOLLO_STATE__``, ``SEEK_REDUX_DATA``); ``None``."""
    raw = page.xpath(f"//script[@id={json.dumps(script)}]/text()").get()
    if raw is None:
        pattern = re.compile(rf"(?:window\.|\b){re.escape(script)}\s*=\s*")
        for body in page.xpath("//script[not(@src)]/text()").getall():
            if match := pattern.search(body):
                raw = body[match.end() :]
                break
    if raw is None or len(raw) > MAX_EMBEDDED_JSON_BYTES:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(raw.strip())
    except ValueError:
        return None
    return value


def path_values(data: Any, path: str) -> Iterator[Any]:
    """Values at a dotted path; ``*`` is every value of an object or list, a number an index."""
    if not path:
        yield data
        return
    head, _, rest = path.partition(".")
    if head == "*":
        values = data.values() if isinstance(data, dict) else data if isinstance(data, list) else []
        for value in values:
            yield from path_values(value, rest)
    elif isinstance(data, dict) and head in data:
        yield from path_values(data[head], rest)
    elif isinstance(data, list) and head.isdigit() and int(head) < len(data):
        yield from path_values(data[int(head)], rest)


def first_value(data: Any, path: str) -> Any:
    return next(path_values(data, path), None)


def field_value(record: Any, spec: str) -> str:
    """One ad field of a record: a template (``…/item/{id}``) or a dotted path; lists joined."""
    if "{" in spec:
        return _TEMPLATE_RE.sub(lambda m: _plain(first_value(record, m.group(1))), spec)
    return _plain(first_value(record, spec))


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(p for p in (_plain(v) for v in value) if p)
    if isinstance(value, dict):
        return str(value.get("name") or value.get("display") or value.get("value") or "")
    return str(value)


def map_records(data: Any, spec: Mapping[str, Any]) -> list[dict[str, str]]:
    """The records a JSON map finds in ``data``, each as ``{ad field: value}`` (``_record`` keeps
    the raw record as evidence)."""
    where = spec.get("where") or {}
    fields: Mapping[str, str] = spec.get("fields") or {}
    records = []
    found = path_values(data, str(spec.get("items", "")))
    for record in (r for value in found for r in (value if isinstance(value, list) else [value])):
        if not isinstance(record, dict):
            continue
        if any(str(record.get(k)) != str(v) for k, v in where.items()):
            continue
        mapped = {name: field_value(record, path) for name, path in fields.items()}
        mapped["_record"] = json.dumps(record, ensure_ascii=False)[:65536]
        records.append(mapped)
    return records
