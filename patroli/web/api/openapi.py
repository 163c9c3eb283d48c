"""The OpenAPI 3.1 document of the HTTP API, made from the endpoints' declarations
(``web.api.endpoints``) and the JSON shapes (``web.api.schemas``); served at
``/api/v1/openapi.json`` and validated in the tests."""

from __future__ import annotations

from typing import Any

from patroli.web.api.routing import PREFIX, Endpoint
from patroli.web.api.schemas import SCHEMAS, ref
from patroli.web.routing import ANY_ROLE

TAGS = (
    ("account", "The token's owner."),
    ("ads", "Search, ads, related ads, evidence and exports (investigators; ads for every role)."),
    ("review", "The review queue and decisions (analysts)."),
    ("patrol", "Crawl runs and sources."),
    ("meta", "This document."),
)
DESCRIPTION = """\
patroli's HTTP API: what the web app's pages do, as JSON, for case systems, notebooks and scripts.

**Tokens.** Every call but this document needs `Authorization: Bearer ptk_…`, a personal API token
made on the web app's account page or with `patroli users token create NAME`. It is shown once and
kept only as a hash. A token acts as its owner, with the owner's current role: the same role checks
as the pages (analyst: queue and decisions; investigator: search and export; admin: everything).
A revoked or expired token, or one whose owner was disabled, gets 401.

**Limits.** At most `PATROLI_API_RATE` calls per token per minute (429 with `Retry-After`).

**Audit.** Calls are audited like their pages: decisions, bulk decisions and exports land in the
audit log, naming the token; refused tokens too.

**Language.** Reasons and error messages follow `Accept-Language` (`id`, the default, or `en`).
"""


def _parameter(param: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": param.name,
        "in": param.where,
        "required": param.required,
        "description": param.description,
        "schema": param.schema,
    }
    if param.example is not None:
        spec["example"] = param.example
    return spec


def _json(schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/json": {"schema": schema}}}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    roles = sorted(endpoint.roles)
    operation: dict[str, Any] = {
        "operationId": endpoint.handler.__name__,
        "summary": endpoint.summary,
        "description": endpoint.description
        + (f"\n\nRoles: {', '.join(roles)}." if roles else "\n\nPublic."),
        "tags": [endpoint.tag] if endpoint.tag else [],
        "x-patroli-roles": roles,
        "parameters": [_parameter(p) for p in endpoint.params],
        "responses": {},
    }
    if not endpoint.roles:
        operation["security"] = []
    if endpoint.body:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": ref(endpoint.body), "example": endpoint.body_example}
            },
        }
    responses = operation["responses"]
    for status, (schema, text) in sorted(endpoint.responses.items()):
        responses[str(status)] = _json(ref(schema) if schema else {"type": "object"}, text)
        if status == 200 and endpoint.csv:
            responses["200"]["content"]["text/csv"] = {"schema": {"type": "string"}}
    error = ref("Error")
    if endpoint.params or endpoint.body:
        responses.setdefault("400", _json(error, "A parameter or the body is not valid."))
    if endpoint.body:
        responses["413"] = _json(error, "The body is too large.")
        responses["415"] = _json(error, "The body is not application/json.")
    if endpoint.roles:
        responses["401"] = _json(error, "No token, or one that is unknown, revoked or expired.")
        if endpoint.roles != ANY_ROLE:
            responses["403"] = _json(error, "The token owner's role may not do this.")
        responses["429"] = _json(error, "Too many calls with this token; see Retry-After.")
    return operation


def document(endpoints: list[Endpoint], version: str = "1") -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.openapi_path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "patroli API",
            "version": version,
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": PREFIX}],
        "security": [{"bearerToken": []}],
        "tags": [{"name": name, "description": text} for name, text in TAGS],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token (`ptk_…`) of scope `api`.",
                }
            },
            "schemas": SCHEMAS,
        },
    }
