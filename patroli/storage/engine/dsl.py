"""Translate the investigators' query syntax (``storage.query.Query``) into the engines' query DSL.

The semantics are those of the SQLite store: every word or phrase must occur in the title or the
text (each one as a phrase, like FTS5), excluded words must not, repeated filters accept any of
their values, entity filters look in every field of that entity (a phone in ``phones`` or
``whatsapp``), and ranges compare like the SQL. User input only ever becomes query *values*, never
query syntax: no ``query_string``.
"""

from __future__ import annotations

from typing import Any

from patroli.storage.base import MARK_END, MARK_START, SortOrder
from patroli.storage.query import ATTENTION, ENTITY_FILTERS, FILTER_FIELDS, Query
from patroli.storage.schema import ENTITY_FIELDS

TEXT_FIELDS = ("title", "text", "image_text")
_FILTER_BY_FIELD = {v: k for k, v in FILTER_FIELDS.items()}
# Entity kind -> the ad fields that hold it.
ENTITY_KIND_FIELDS: dict[str, tuple[str, ...]] = {}
for _field in ENTITY_FIELDS:
    ENTITY_KIND_FIELDS.setdefault(_field.entity, ())
    ENTITY_KIND_FIELDS[_field.entity] += (_field.name,)
_RANGE_OPS = {">=": "gte", ">": "gt", "<=": "lte", "<": "lt"}

# Sort keys per order, ending in ad_id so that search_after pages are stable.
SORTS: dict[str, list[dict[str, Any]]] = {
    "risk": [{"risk": {"order": "desc", "missing": "_last"}}, {"ad_id": "asc"}],
    "date": [{"sort_date": {"order": "desc", "missing": "_last"}}, {"ad_id": "asc"}],
    "uncertainty": [{"uncertainty": {"order": "asc", "missing": "_last"}}, {"ad_id": "asc"}],
    "relevance": [{"_score": "desc"}, {"ad_id": "asc"}],
}


def _text_clause(term: str) -> dict[str, Any]:
    return {"multi_match": {"query": term, "type": "phrase", "fields": list(TEXT_FIELDS)}}


def _image_text_clause(term: str) -> dict[str, Any]:
    return {"match_phrase": {"image_text": term}}


def _filter_clause(field: str, values: tuple[str, ...]) -> dict[str, Any]:
    name = _FILTER_BY_FIELD.get(field, field)
    if name in ENTITY_FILTERS:
        fields = ENTITY_KIND_FIELDS[FILTER_FIELDS[name]]
        clauses = [{"terms": {f: list(values)}} for f in fields]
        return (
            clauses[0]
            if len(clauses) == 1
            else {"bool": {"should": clauses, "minimum_should_match": 1}}
        )
    if field in ("flagged", "risky"):
        return {"terms": {field: [v == "1" for v in values]}}
    if field == ATTENTION:
        wanted: dict[str, Any] = {
            "bool": {
                "should": [{"term": {"flagged": True}}, {"term": {"cluster_status": "confirmed"}}],
                "minimum_should_match": 1,
            }
        }
        either: list[dict[str, Any]] = [
            wanted if v == "1" else {"bool": {"must_not": [wanted]}} for v in set(values)
        ]
        return (
            either[0]
            if len(either) == 1
            else {"bool": {"should": either, "minimum_should_match": 1}}
        )
    return {"terms": {field: list(values)}}


def build_query(query: Query) -> dict[str, Any]:
    must = [_text_clause(t) for t in query.terms]
    must += [_image_text_clause(t) for t in query.image_terms]
    must_not = [_text_clause(t) for t in query.excluded]
    must_not += [_image_text_clause(t) for t in query.image_excluded]
    filters: list[dict[str, Any]] = []
    for flt in query.filters:
        clause = _filter_clause(flt.field, flt.values)
        (must_not if flt.negate else filters).append(clause)
    for rng in query.ranges:
        filters.append({"range": {rng.field: {_RANGE_OPS[rng.op]: rng.value}}})
    if not (must or must_not or filters):
        return {"match_all": {}}
    return {"bool": {"must": must, "must_not": must_not, "filter": filters}}


def sort_for(order: SortOrder, query: Query) -> list[dict[str, Any]]:
    # Without words there is no relevance: like SQLite, "relevance" then means risk.
    if order == "relevance" and not query.terms:
        return SORTS["risk"]
    return SORTS[order]


HIGHLIGHT: dict[str, Any] = {
    "pre_tags": [MARK_START],
    "post_tags": [MARK_END],
    "require_field_match": True,
    "fields": {
        "text": {"fragment_size": 160, "number_of_fragments": 1, "no_match_size": 160},
        "title": {"number_of_fragments": 0},
        "image_text": {"fragment_size": 160, "number_of_fragments": 1},
    },
}

FACETS: dict[str, Any] = {
    "source": {"terms": {"field": "source", "size": 100}},
    "status": {"terms": {"field": "status", "size": 10}},
    "country": {"terms": {"field": "countries", "size": 100}},
    "day": {
        "date_histogram": {
            "field": "sort_date",
            "calendar_interval": "day",
            "format": "yyyy-MM-dd",
            "min_doc_count": 1,
            "order": {"_key": "desc"},
        }
    },
}


def read_facets(aggregations: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {
        name: {
            str(b.get("key_as_string", b["key"])): int(b["doc_count"])
            for b in aggregations[name]["buckets"]
        }
        for name in FACETS
    }


def highlight_of(hit: dict[str, Any]) -> str:
    fragments = hit.get("highlight") or {}
    text = (fragments.get("text") or [""])[0]
    if MARK_START in text:
        return str(text)
    title = (fragments.get("title") or [""])[0]
    if MARK_START in title:
        return str(title)
    image_text = (fragments.get("image_text") or [""])[0]
    return str(image_text if MARK_START in image_text else text)
