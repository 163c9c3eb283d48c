"""The JSON shapes of the HTTP API (JSON Schema 2020-12, as OpenAPI 3.1 uses), built from the same
field lists as the store (``storage.schema``), so that a new ad field appears here by itself."""

from __future__ import annotations

from typing import Any

from patroli.storage.schema import DECISIONS, FIELDS, RUN_FIELDS, STATUSES, TOKEN_SCOPES
from patroli.web.operations import EXPORT_FIELDS, MAX_NOTE_CHARS

Schema = dict[str, Any]

_BY_TYPE: dict[str, Schema] = {
    "keyword": {"type": ["string", "null"]},
    "text": {"type": ["string", "null"]},
    "keywords": {"type": ["array", "null"], "items": {"type": "string"}},
    "float": {"type": ["number", "null"]},
    "int": {"type": ["integer", "null"]},
    "bool": {"type": ["boolean", "null"]},
    "date": {"type": ["string", "null"], "format": "date-time"},
    "json": {},
}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _ad() -> Schema:
    properties = {f.name: dict(_BY_TYPE[f.type]) for f in FIELDS}
    properties["ad_id"] = {"type": "string"}
    properties["status"] = {"type": "string", "enum": list(STATUSES)}
    properties["version"] = {"type": "integer", "minimum": 1}
    properties["explanations"] = {
        "type": "array",
        "description": "The reasons for the risk score in the reader's language "
        "(Accept-Language: id or en).",
        "items": ref("Explanation"),
    }
    return {
        "type": "object",
        "description": "An ad as stored (storage/schema.py), with its reasons explained.",
        "required": ["ad_id", "status", "version"],
        "properties": properties,
    }


def _run() -> Schema:
    counts = ("pages", "items", "new", "flagged", "errors", "degraded_pages")
    properties: dict[str, Schema] = {name: {"type": ["string", "null"]} for name in RUN_FIELDS}
    properties.update({name: {"type": ["integer", "null"]} for name in counts})
    properties["run_id"] = {"type": "string"}
    properties["source"] = {"type": "string"}
    properties["notes"] = {"type": "array", "items": {"type": "string"}}
    properties["stats"] = {"type": "object"}
    return {"type": "object", "required": ["run_id", "source"], "properties": properties}


def _page_of(item: str, extra: dict[str, Schema] | None = None) -> Schema:
    return {
        "type": "object",
        "required": ["total", "hits", "facets", "next_after"],
        "properties": {
            "total": {"type": "integer", "minimum": 0},
            "hits": {"type": "array", "items": ref(item)},
            "facets": ref("Facets"),
            "next_after": {
                "type": ["array", "null"],
                "description": "Pass as `after` (JSON) to get the next page; null on the last.",
            },
            **(extra or {}),
        },
    }


def _decision_request(single: bool) -> Schema:
    properties: dict[str, Schema] = {
        "decision": {"type": "string", "enum": list(DECISIONS)},
        "note": {"type": "string", "maxLength": MAX_NOTE_CHARS},
    }
    if single:
        properties["expected_version"] = {
            "type": ["integer", "null"],
            "description": "The ad's `version` when you read it: a decision taken by someone else "
            "meanwhile makes this one fail with 409 instead of overwriting it.",
        }
    else:
        properties["ads"] = {
            "type": "array",
            "minItems": 1,
            "maxItems": 500,
            "items": {
                "type": "object",
                "required": ["ad_id"],
                "properties": {
                    "ad_id": {"type": "string"},
                    "expected_version": {"type": ["integer", "null"]},
                },
                "additionalProperties": False,
            },
        }
    return {
        "type": "object",
        "required": ["decision"] if single else ["decision", "ads"],
        "properties": properties,
        "additionalProperties": False,
    }


SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {"type": "object"},
                },
            }
        },
    },
    "Explanation": {
        "type": "object",
        "required": ["code", "text"],
        "properties": {"code": {"type": "string"}, "text": {"type": "string"}},
    },
    "Ad": _ad(),
    "Hit": {
        "allOf": [ref("Ad")],
        "properties": {
            "highlight": {
                "type": ["string", "null"],
                "description": "The text with the query's matches between U+0002 and U+0003.",
            }
        },
    },
    "RelatedAd": {
        "allOf": [ref("Ad")],
        "required": ["via"],
        "properties": {
            "via": {
                "type": "array",
                "items": {"type": "string"},
                "description": "What it shares with the ad: `phone:+62…`, `handle:@…`, `email:…`, or "
                "`text` (similar text).",
            }
        },
    },
    "Facets": {
        "type": "object",
        "additionalProperties": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
    "SearchResult": _page_of("Hit"),
    "Queue": _page_of(
        "Hit",
        {
            "filters": {"type": "object", "additionalProperties": {"type": "string"}},
            "ignored": {"type": "array", "items": {"type": "string"}},
            "options": ref("Facets"),
        },
    ),
    "EvidenceInfo": {
        "type": "object",
        "required": ["index", "content_hash", "size"],
        "properties": {
            "index": {"type": "integer", "minimum": 0},
            "crawled_at": {"type": ["string", "null"], "format": "date-time"},
            "url": {"type": ["string", "null"]},
            "content_hash": {"type": "string"},
            "size": {"type": "integer", "minimum": 0},
        },
    },
    "Evidence": {
        "type": "object",
        "required": ["index", "content_hash", "html"],
        "properties": {
            "index": {"type": "integer", "minimum": 0},
            "crawled_at": {"type": ["string", "null"], "format": "date-time"},
            "url": {"type": ["string", "null"]},
            "content_hash": {"type": "string"},
            "html": {
                "type": "string",
                "description": "The page as crawled: hostile content, never render it unsandboxed.",
            },
        },
    },
    "ReviewEntry": {
        "type": "object",
        "required": ["ad_id", "decision", "reviewer", "at", "version"],
        "properties": {
            "ad_id": {"type": "string"},
            "decision": {"type": "string", "enum": list(DECISIONS)},
            "note": {"type": ["string", "null"]},
            "reviewer": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
            "previous_status": {"type": ["string", "null"]},
            "version": {"type": "integer"},
        },
    },
    "AdDetail": {
        "type": "object",
        "required": ["ad", "evidence", "related", "history"],
        "properties": {
            "ad": ref("Ad"),
            "evidence": {"type": "array", "items": ref("EvidenceInfo")},
            "related": {"type": "array", "items": ref("RelatedAd")},
            "history": {"type": "array", "items": ref("ReviewEntry")},
        },
    },
    "RelatedAds": {
        "type": "object",
        "required": ["related"],
        "properties": {"related": {"type": "array", "items": ref("RelatedAd")}},
    },
    "Decision": _decision_request(single=True),
    "DecisionResult": {"type": "object", "required": ["ad"], "properties": {"ad": ref("Ad")}},
    "Decisions": _decision_request(single=False),
    "DecisionsResult": {
        "type": "object",
        "required": ["decided", "skipped"],
        "properties": {
            "decided": {"type": "integer", "minimum": 0},
            "skipped": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Ads decided by someone else meanwhile (or unknown): left as they are.",
            },
        },
    },
    "Run": _run(),
    "Runs": {
        "type": "object",
        "required": ["runs"],
        "properties": {"runs": {"type": "array", "items": ref("Run")}},
    },
    "SourceStatus": {
        "type": "object",
        "required": ["name", "kind", "enabled", "schedule", "latest_run"],
        "properties": {
            "name": {"type": "string"},
            "kind": {"type": "string"},
            "enabled": {"type": "boolean"},
            "schedule": {"type": "string"},
            "latest_run": _nullable(ref("Run")),
        },
    },
    "Sources": {
        "type": "object",
        "required": ["sources", "problems", "error"],
        "properties": {
            "sources": {"type": "array", "items": ref("SourceStatus")},
            "problems": {"type": "array", "items": {"type": "string"}},
            "error": {"type": "string"},
        },
    },
    "Export": {
        "type": "object",
        "required": ["query", "total", "exported", "ads"],
        "properties": {
            "query": {"type": "string"},
            "total": {"type": "integer"},
            "exported": {"type": "integer"},
            "ads": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": list(EXPORT_FIELDS),
                    "properties": {name: {} for name in EXPORT_FIELDS},
                },
            },
        },
    },
    "TokenInfo": {
        "type": "object",
        "required": ["id", "name", "scope", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "scope": {"type": "string", "enum": list(TOKEN_SCOPES)},
            "created_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": ["string", "null"], "format": "date-time"},
            "last_used_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "Me": {
        "type": "object",
        "required": ["name", "role", "token"],
        "properties": {
            "name": {"type": "string"},
            "role": {"type": "string", "enum": ["analyst", "investigator", "admin"]},
            "token": ref("TokenInfo"),
        },
    },
}
