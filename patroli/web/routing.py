"""Every route is declared with the roles that may use it; one wrapper enforces the rules.

The wrapper, in this order: bounds the request body, loads (or starts) the signed session, checks
the CSRF token of every state-changing request, resolves the user (session epoch, active flag),
refuses anonymous requests (GET: redirect to the login page; other methods: 403) and requests of
the wrong role (403), then runs the page's handler in a worker thread, because store calls block.
``PUBLIC`` routes (the login page) skip only the user checks, never the CSRF check.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from patroli.storage import (
    AccountStore,
    AdStore,
    AgencyRegister,
    CaseStore,
    CrawlLedger,
    EvidenceStore,
    NetworkStore,
    Record,
    ReviewStore,
    Store,
)
from patroli.web.i18n import Translator, translator
from patroli.web.loginaudit import LoginEvents
from patroli.web.security import CursorCodec, LoginThrottle, Session, SessionCodec, csrf_matches
from patroli.web.settings import LANGUAGES, WebSettings

logger = logging.getLogger(__name__)

ANALYST = frozenset({"analyst", "admin"})
INVESTIGATOR = frozenset({"investigator", "admin"})
ADMIN = frozenset({"admin"})
ANY_ROLE = frozenset({"analyst", "investigator", "admin"})
PUBLIC: frozenset[str] = frozenset()
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BODY_BYTES = 1024 * 1024
COOKIE_NAME = "patroli_session"


@dataclass(slots=True)
class AppState:
    store: Store
    settings: WebSettings
    codec: SessionCodec
    throttle: LoginThrottle
    templates: Environment
    cursors: CursorCodec
    login_events: LoginEvents
    api_limit: LoginThrottle | None = None  # requests per API token per minute (web.api)
    on_api_call: Callable[[str, int], None] | None = None  # (endpoint, status): metrics
    cache: dict[str, Any] = field(default_factory=dict)  # short-lived figures shared by requests


class StoreRoles:
    """The store through the role a handler uses (``ctx.ads``, ``ctx.reviews``, …): one store plays
    them all, and a handler says which part of it it needs. Shared by pages and API endpoints."""

    __slots__ = ()
    state: AppState

    @property
    def ads(self) -> AdStore:
        return self.state.store

    @property
    def reviews(self) -> ReviewStore:
        return self.state.store

    @property
    def ledger(self) -> CrawlLedger:
        return self.state.store

    @property
    def accounts(self) -> AccountStore:
        return self.state.store

    @property
    def cases(self) -> CaseStore:
        return self.state.store

    @property
    def evidence(self) -> EvidenceStore:
        return self.state.store

    @property
    def networks(self) -> NetworkStore:
        return self.state.store

    @property
    def register(self) -> AgencyRegister:
        return self.state.store


@dataclass(slots=True)
class Ctx(StoreRoles):
    """What a handler gets: the request, its parsed form, the session, the user, and the store
    through the role the handler uses (``ctx.ads``, ``ctx.reviews``, ``ctx.accounts``, …)."""

    request: Request
    state: AppState
    session: Session
    form: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # uploads, on pages that take one
    user: Record | None = None
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers

    @property
    def settings(self) -> WebSettings:
        return self.state.settings

    @property
    def language(self) -> str:
        return self.session.language or self.settings.language

    @property
    def _(self) -> Translator:
        return translator(self.language)

    @property
    def actor(self) -> str:
        return self.user["name"] if self.user else ""

    @property
    def role(self) -> str:
        return self.user["role"] if self.user else ""

    def can(self, roles: frozenset[str]) -> bool:
        return self.role in roles

    def param(self, name: str, default: str = "", max_chars: int = 500) -> str:
        """A query-string parameter, bounded in size."""
        return (self.request.query_params.get(name) or default)[:max_chars]

    def field(self, name: str, default: str = "", max_chars: int = 2000) -> str:
        values = self.form.get(name)
        return (values[0] if values else default)[:max_chars]

    def fields(self, name: str, max_items: int = 1000) -> list[str]:
        return [v[:200] for v in self.form.get(name, [])[:max_items]]

    def cursor(self, query: str, sort: str) -> list[Any] | None:
        """The ``after`` page cursor of this listing; raise ``ValueError`` for a forged one."""
        return self.state.cursors.loads(self.param("after", max_chars=1000), query, sort)

    def next_cursor(self, after: list[Any] | None, query: str, sort: str) -> str:
        return self.state.cursors.dumps(after, query, sort)

    @property
    def client_address(self) -> str:
        return self.request.client.host if self.request.client else "?"

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        page = self.state.templates.get_template(template)
        html = page.render(**self.template_context(), **context)
        return HTMLResponse(html, status_code=status, headers=self.headers)

    def template_context(self) -> dict[str, Any]:
        return {
            "_": self._,
            "lang": self.language,
            "languages": LANGUAGES,
            "user": self.user,
            "csrf": self.session.csrf,
            "can": self.can,
            "ANALYST": ANALYST,
            "INVESTIGATOR": INVESTIGATOR,
            "ADMIN": ADMIN,
            "path": self.request.url.path,
            "demo": self.settings.demo,
            "csrf_field": Markup('<input type="hidden" name="csrf_token" value="{}">').format(
                self.session.csrf
            ),
        }

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303, headers=self.headers)

    def error(self, status: int, message: str) -> HTMLResponse:
        return self.render("error.html", status=status, status_code=status, message=message)


Handler = Callable[[Ctx], Response]


@dataclass(frozen=True, slots=True)
class Page:
    path: str
    handler: Handler
    roles: frozenset[str]
    methods: tuple[str, ...] = ("GET",)
    upload: bool = False  # takes one file (bounded by the image size cap), multipart


def local_path(target: str, default: str = "/") -> str:
    """Only same-site paths may be redirect targets (no //host, no scheme, no backslash)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parsed = urllib.parse.urlsplit(target)
    if parsed.scheme or parsed.netloc:
        return default
    return target


def _set_cookie(response: Response, state: AppState, session: Session) -> None:
    response.set_cookie(
        COOKIE_NAME,
        state.codec.dumps(session),
        max_age=state.settings.session_minutes * 60,
        path="/",
        secure=state.settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def resolve_user(state: AppState, session: Session) -> Record | None:
    """The session's user if the account exists, is active and the session epoch is current."""
    if not session.user:
        return None
    user = state.store.get_user(session.user)
    if not user or not user.get("active"):
        return None
    if int((user.get("extra") or {}).get("session_epoch", 0)) != session.epoch:
        return None
    return user


async def _read_form(
    request: Request, max_bytes: int = MAX_BODY_BYTES, files: dict[str, bytes] | None = None
) -> dict[str, list[str]] | None:
    """The urlencoded or multipart form, or None if the body is too large. With ``files`` (a page
    that takes an upload) one file is accepted and its bytes put there."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
        return None
    size = 0
    chunks = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    request._body = b"".join(chunks)  # Starlette replays a read body to form()
    form = await request.form(max_files=1 if files is not None else 0, max_fields=5000)
    parsed: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            parsed.setdefault(key, []).append(value)
        elif files is not None:
            files[key] = await value.read()
    await form.close()
    return parsed


def endpoint(page: Page, state: AppState) -> Callable[[Request], Any]:
    async def run(request: Request) -> Response:
        cookie = request.cookies.get(COOKIE_NAME, "")
        loaded = state.codec.loads(cookie) if cookie else None
        session = loaded or Session(changed=True)
        if session.language not in ("", *LANGUAGES):
            session.language = ""
        form: dict[str, list[str]] = {}
        method = request.method.upper()
        ctx = Ctx(request, state, session)
        if method not in SAFE_METHODS:
            if page.upload:  # the file, plus room for the multipart envelope and the fields
                max_bytes = state.settings.images_max_bytes + 64 * 1024
                parsed = await _read_form(request, max_bytes, ctx.files)
            else:
                parsed = await _read_form(request)
            if parsed is None:
                return _finish(ctx, ctx.error(413, ctx._("The request is too large.")))
            form = parsed
            token = (form.get("csrf_token") or [""])[0] or request.headers.get("x-csrf-token", "")
            if loaded is None or not csrf_matches(session, token):
                return _finish(
                    ctx,
                    ctx.error(
                        403,
                        ctx._(
                            "The form has expired or did not come from this site. Reload the page and try again."
                        ),
                    ),
                )
        ctx.form = form
        return await run_in_threadpool(_handle, page, ctx, method)

    run.__name__ = page.handler.__name__
    return run


def _handle(page: Page, ctx: Ctx, method: str) -> Response:
    ctx.user = resolve_user(ctx.state, ctx.session)
    if ctx.session.user and ctx.user is None:
        # The account was disabled, or the user logged out elsewhere: start over as anonymous.
        language = ctx.session.language
        ctx.session = Session(language=language, changed=True)
    if page.roles:
        if ctx.user is None:
            if method in SAFE_METHODS:
                target = ctx.request.url.path + (
                    f"?{ctx.request.url.query}" if ctx.request.url.query else ""
                )
                return _finish(
                    ctx, ctx.redirect("/login?" + urllib.parse.urlencode({"next": target}))
                )
            return _finish(ctx, ctx.error(403, ctx._("Please log in first.")))
        if ctx.user["role"] not in page.roles:
            return _finish(ctx, ctx.error(403, ctx._("Your role does not allow this page.")))
    return _finish(ctx, page.handler(ctx))


def _finish(ctx: Ctx, response: Response) -> Response:
    if ctx.session.changed:
        _set_cookie(response, ctx.state, ctx.session)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def build_routes(pages: list[Page], state: AppState) -> list[Route]:
    routes = []
    for page in pages:
        methods = list(page.methods)
        routes.append(
            Route(page.path, endpoint(page, state), methods=methods, name=page.handler.__name__)
        )
    return routes


def new_session(ctx: Ctx, user: Mapping[str, Any] | None) -> None:
    """Replace the session (new CSRF token) on login and logout: no session fixation."""
    epoch = int(((user or {}).get("extra") or {}).get("session_epoch", 0))
    ctx.session = Session(
        user=str(user["name"]) if user else "",
        epoch=epoch,
        language=ctx.session.language,
        issued=time.time(),
        changed=True,
    )
