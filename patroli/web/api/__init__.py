"""The HTTP API under ``/api/v1/``: JSON, per-user tokens, the pages' roles, an OpenAPI document.

``endpoints`` declares what it does (through ``web.operations``, as the pages do), ``routing`` how a
call is authenticated, limited, checked and logged, ``openapi`` the document made from the
declarations, ``schemas`` the JSON shapes. Documented in docs/api.md.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from patroli.web.api.endpoints import ENDPOINTS
from patroli.web.api.openapi import document
from patroli.web.api.routing import ApiCtx, Endpoint, build_api_routes
from patroli.web.routing import PUBLIC, AppState


def openapi_json(ctx: ApiCtx) -> dict[str, Any]:
    return document(ALL)


OPENAPI = Endpoint(
    "/openapi.json",
    openapi_json,
    PUBLIC,
    "This document (OpenAPI 3.1)",
    tag="meta",
    responses={200: ("", "The OpenAPI document.")},
)
ALL: list[Endpoint] = [*ENDPOINTS, OPENAPI]


def api_routes(state: AppState) -> list[Route]:
    return build_api_routes(ALL, state)


__all__ = ["ALL", "api_routes", "document"]
