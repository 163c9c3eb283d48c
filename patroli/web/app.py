"""``create_app(store_url, settings)``: the review and investigation web app (Starlette + Jinja2).

The app speaks to the data only through ``storage.Store``, so it runs on every store backend. The
same app serves the HTTP API under ``/api/v1/`` (``web.api``) and Prometheus metrics at ``/metrics``
(``web.metrics``). Every
response carries strict security headers: a CSP without inline scripts or styles, no framing by
other sites, no referrer, no MIME sniffing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patroli.storage import Store, open_store
from patroli.web import filters
from patroli.web.api import api_routes
from patroli.web.api.routing import RATE_WINDOW_SECONDS
from patroli.web.metrics import AppMetrics, metrics_route, timed
from patroli.web.routes import all_pages
from patroli.web.routing import AppState, build_routes
from patroli.web.security import LoginThrottle, SessionCodec
from patroli.web.settings import WebSettings

HERE = Path(__file__).resolve().parent
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")  # fmt: skip
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
                extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
                         if k.encode() not in present]  # fmt: skip
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


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
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if isinstance(store, str):
            opened.close()

    routes = [
        *build_routes(all_pages(), state),
        *api_routes(state),
        metrics_route(state, metrics),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.patroli = state
    app.add_middleware(SecurityHeaders)
    return app
