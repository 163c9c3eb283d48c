"""``create_app(store_url, settings)``: the review and investigation web app (Starlette + Jinja2).

The app speaks to the data only through ``storage.Store``, so it runs on every store backend. The
same app serves the HTTP API under ``/api/v1/`` (``web.api``) and Prometheus metrics at ``/metrics``
(``web.metrics``). Every response carries strict security headers, error pages and the page of an unexpected failure (500)
included: a CSP without inline scripts or styles, no framing by other sites, no referrer, no MIME
sniffing. A request for a host not in ``PATROLI_WEB_ALLOWED_HOSTS`` is refused before anything
else, so that no redirect (a missing trailing slash) ever names a foreign host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import escape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patroli.storage import Store, open_store
from patroli.web import filters
from patroli.web.api import api_routes
from patroli.web.api.routing import RATE_WINDOW_SECONDS
from patroli.web.i18n import translator
from patroli.web.loginaudit import LoginEvents
from patroli.web.metrics import AppMetrics, metrics_route, timed
from patroli.web.routes import all_pages
from patroli.web.routing import AppState, build_routes
from patroli.web.security import CursorCodec, LoginThrottle, SessionCodec
from patroli.web.settings import WebSettings

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


class SecurityHeaders:
    """Add the security headers to every response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k.encode(), v.encode())
                    for k, v in SECURITY_HEADERS.items()
                    if k.encode() not in present
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def failure_page(language: str) -> Response:
    """The page of an unexpected failure: says nothing of it, carries every security header."""
    _ = translator(language)
    title, message = (
        _("Something went wrong"),
        _(
            "The server could not answer this request. Try again, or tell an administrator if it happens again."
        ),
    )
    html = (
        f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
        f"<p>{escape(message)}</p></body></html>"
    )
    return HTMLResponse(
        html, status_code=500, headers={**SECURITY_HEADERS, "cache-control": "no-store"}
    )


def template_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters.install(env)
    return env


def create_app(store: str | Store, settings: WebSettings) -> Starlette:
    """Build the app over a store URL (or an open store) with the given settings."""
    opened = open_store(store) if isinstance(store, str) else store
    metrics = AppMetrics()
    metrics.watch(opened)
    state = AppState(
        store=timed(opened, metrics),
        settings=settings,
        codec=SessionCodec(settings.secret_key, settings.session_minutes * 60),
        throttle=LoginThrottle(settings.login_rate_attempts, settings.login_rate_window_seconds),
        templates=template_environment(),
        api_limit=LoginThrottle(settings.api_rate_per_minute, RATE_WINDOW_SECONDS),
        on_api_call=lambda endpoint, status: metrics.api_requests.labels(
            endpoint, str(status)
        ).inc(),
        cursors=CursorCodec(settings.secret_key),
        login_events=LoginEvents(opened, settings.login_rate_window_seconds),
    )

    async def flush_login_events() -> None:
        """Audit the counted login events whose window has ended, while the app runs."""
        while True:
            await asyncio.sleep(min(30.0, settings.login_rate_window_seconds))
            try:
                await run_in_threadpool(state.login_events.flush_due)
            except Exception:  # the store is away for a moment: the counts wait for the next try
                logger.exception("could not audit the counted login events")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        flusher = asyncio.create_task(flush_login_events())
        try:
            yield
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await run_in_threadpool(state.login_events.flush_all)
            if isinstance(store, str):
                opened.close()

    async def on_failure(request: Request, exc: Exception) -> Response:
        logger.error(
            "unexpected failure on %s %s: %s", request.method, request.url.path, type(exc).__name__
        )
        return failure_page(settings.language)

    routes = [
        *build_routes(all_pages(), state),
        *api_routes(state),
        metrics_route(state, metrics),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={Exception: on_failure})
    app.state.patroli = state
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    app.add_middleware(SecurityHeaders)  # added last: the outermost, so on every response
    return app
