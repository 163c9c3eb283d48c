"""The HTTP API's endpoints are declared like the pages (``web.routing``): a path, a handler and
the roles that may call it; one wrapper enforces the rules and the declarations also make the
OpenAPI document (``web.api.openapi``), so the document cannot drift from the routes.

The wrapper, in this order: authenticates the ``Authorization: Bearer ptk_…`` token
(``web.tokens``; a refused token is audited and counts against the address's login throttle),
applies the per-token rate limit (HTTP 429 with ``Retry-After``), checks the owner's role with
the same role sets as the pages (403), reads a bounded JSON body, then runs the handler in a worker
thread (store calls block) and logs one line per call (route template, status, user; never the
query string, which may hold a phone number). The API never reads the session cookie, so a
browser cannot be made to call it (no CSRF).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from patroli.storage import Record, TokenStore
from patroli.storage.query import QuerySyntaxError
from patroli.web.i18n import N_, Translator, translator
from patroli.web.routing import MAX_BODY_BYTES, AppState, StoreRoles
from patroli.web.settings import LANGUAGES
from patroli.web.tokens import check_token

logger = logging.getLogger("patroli.web.api")

PREFIX = "/api/v1"
RATE_WINDOW_SECONDS = 60


class ApiError(Exception):
    """An answer other than success: HTTP status, a stable code, a message id (English)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        **values: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}
        self.values = values  # %(name)s placeholders of the message


@dataclass(frozen=True, slots=True)
class Param:
    """A query or path parameter, documented with an example the generated client calls use."""

    name: str
    schema: dict[str, Any]
    description: str
    where: str = "query"
    required: bool = False
    example: Any = None


@dataclass(slots=True)
class ApiCtx(StoreRoles):
    """What an endpoint's handler gets: the request, the token's owner, the parsed JSON body, the
    store through the role the handler uses."""

    request: Request
    state: AppState
    user: Record
    token: Record
    body: dict[str, Any] = field(default_factory=dict)
    language: str = "id"

    @property
    def _(self) -> Translator:
        return translator(self.language)

    @property
    def actor(self) -> str:
        return str(self.user["name"])

    @property
    def via(self) -> str:
        """How the audit log names this way in: the API and the token used."""
        return f"api token {self.token['id']}"

    def param(self, name: str, default: str = "", max_chars: int = 500) -> str:
        return (self.request.query_params.get(name) or default)[:max_chars]

    def int_param(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise ApiError(
                400,
                "bad_parameter",
                N_("%(name)s: expected a whole number from %(low)s to %(high)s"),
                name=name,
                low=low,
                high=high,
            )
        return value


Handler = Callable[[ApiCtx], Response | dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str  # relative to PREFIX, Starlette syntax
    handler: Handler
    roles: frozenset[str]  # the same sets as the pages' (web.routing); empty: public
    summary: str
    method: str = "GET"
    tag: str = ""
    description: str = ""
    params: tuple[Param, ...] = ()
    body: str = ""  # a component schema name of the JSON request body
    body_example: dict[str, Any] | None = None
    responses: dict[int, tuple[str, str]] = field(default_factory=dict)  # status -> (schema, text)
    csv: bool = False  # the successful response may also be text/csv (the export)

    @property
    def full_path(self) -> str:
        return PREFIX + self.path

    @property
    def openapi_path(self) -> str:
        """The path below the document's server URL (``PREFIX``), parameters without types."""
        return re.sub(r"\{(\w+):\w+\}", r"{\1}", self.path)


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def request_language(request: Request, default: str) -> str:
    """The first supported language of Accept-Language, else the app's default."""
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return default


def bearer_token(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip()[:200] if scheme.lower() == "bearer" else ""


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object, bounded in size; ``ApiError`` otherwise."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ApiError(
            415, "unsupported_media_type", N_("Send the request body as application/json.")
        )
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise ApiError(413, "too_large", N_("The request is too large."))
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, "too_large", N_("The request is too large."))
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks) or b"null")
    except ValueError as exc:
        raise ApiError(400, "bad_json", N_("The request body is not valid JSON.")) from exc
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", N_("The request body must be a JSON object."))
    return body


def authenticate(state: AppState, request: Request, scope: str) -> tuple[Record, Record] | Response:
    """The token's (owner, record), or the refusal to send (audited, throttled per address)."""
    presented = bearer_token(request)
    language = request_language(request, state.settings.language)
    _ = translator(language)
    challenge = {"WWW-Authenticate": 'Bearer realm="patroli"'}
    if not presented:
        return error_response(
            401,
            "unauthenticated",
            _("Send an API token: Authorization: Bearer ptk_…"),
            headers=challenge,
        )
    tokens: TokenStore = state.store
    verdict = check_token(tokens, state.store, presented, scope=scope)
    if verdict.ok and verdict.user is not None and verdict.token is not None:
        return verdict.user, verdict.token
    client = request.client.host if request.client else "?"
    if not state.throttle.allow(client):
        return error_response(
            429,
            "throttled",
            _("Too many refused tokens from this address. Wait a few minutes."),
            headers={"Retry-After": str(state.settings.login_rate_window_seconds)},
        )
    token = verdict.token or {}
    state.store.append_audit(
        str(token.get("owner") or "anonymous"),
        "api_token_refused",
        str(token.get("id") or ""),
        detail=verdict.problem,
    )
    return error_response(
        401,
        "invalid_token",
        _("This API token is not valid (unknown, revoked or expired)."),
        headers=challenge,
    )


def _handle(endpoint: Endpoint, ctx: ApiCtx) -> Response:
    if ctx.user["role"] not in endpoint.roles:
        raise ApiError(403, "forbidden", N_("Your role does not allow this."))
    result = endpoint.handler(ctx)
    return result if isinstance(result, Response) else JSONResponse(result)


def api_endpoint(endpoint: Endpoint, state: AppState) -> Callable[[Request], Any]:
    async def run(request: Request) -> Response:
        started = time.monotonic()
        language = request_language(request, state.settings.language)
        response = await _respond(endpoint, state, request, language)
        response.headers.setdefault("Cache-Control", "no-store")
        if state.on_api_call is not None:
            state.on_api_call(f"{endpoint.method} {endpoint.full_path}", response.status_code)
        user = getattr(request.state, "api_user", "")
        logger.info(
            "api %s %s -> %d (%s, %.0f ms)",
            request.method,
            endpoint.full_path,
            response.status_code,
            user or "anonymous",
            (time.monotonic() - started) * 1000,
        )
        return response

    run.__name__ = f"api_{endpoint.handler.__name__}"
    return run


async def _respond(
    endpoint: Endpoint, state: AppState, request: Request, language: str
) -> Response:
    _ = translator(language)
    try:
        if not endpoint.roles:  # public: the OpenAPI document
            result = endpoint.handler(ApiCtx(request, state, {}, {}, language=language))
            return result if isinstance(result, Response) else JSONResponse(result)
        outcome = await run_in_threadpool(authenticate, state, request, "api")
        if isinstance(outcome, Response):
            return outcome
        user, token = outcome
        request.state.api_user = user["name"]
        if state.api_limit is not None and not state.api_limit.allow(str(token["id"])):
            return error_response(
                429,
                "rate_limited",
                _("Too many requests with this token. Slow down."),
                headers={"Retry-After": str(RATE_WINDOW_SECONDS)},
            )
        body = await read_json(request) if endpoint.body else {}
        ctx = ApiCtx(request, state, user, token, body, language)
        return await run_in_threadpool(_handle, endpoint, ctx)
    except ApiError as exc:
        return error_response(exc.status, exc.code, _(exc.message, **exc.values), exc.details)
    except QuerySyntaxError as exc:
        return error_response(400, "bad_query", str(exc))


def build_api_routes(endpoints: list[Endpoint], state: AppState) -> list[Route]:
    return [
        Route(
            e.full_path,
            api_endpoint(e, state),
            methods=[e.method],
            name=f"api_{e.handler.__name__}",
        )
        for e in endpoints
    ]
