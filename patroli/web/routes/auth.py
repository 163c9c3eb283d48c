"""Log in and out, switch language, change one's own password, make and revoke one's API tokens."""

from __future__ import annotations

from starlette.responses import Response

from patroli.storage import TokenStore
from patroli.storage.schema import TOKEN_SCOPES
from patroli.web.accounts import NAME_RE, is_locked, record_failure, update_user
from patroli.web.routing import ANY_ROLE, PUBLIC, Ctx, Page, local_path, new_session
from patroli.web.security import hash_password, needs_rehash, password_problem, verify_password
from patroli.web.settings import LANGUAGES
from patroli.web.tokens import TokenError, create_token, revoke_token

HOME_BY_ROLE = {"analyst": "/queue", "investigator": "/search", "admin": "/"}


def login_page(ctx: Ctx) -> Response:
    lang = ctx.param("lang")
    if lang in LANGUAGES and lang != ctx.session.language:
        ctx.session.language, ctx.session.changed = lang, True
    if ctx.user:
        return ctx.redirect(local_path(ctx.param("next"), HOME_BY_ROLE[ctx.user["role"]]))
    return ctx.render("login.html", next=local_path(ctx.param("next"), ""), error="")


def login(ctx: Ctx) -> Response:
    name = ctx.field("name", max_chars=64).strip().lower()
    password = ctx.field("password", max_chars=256)
    target = local_path(ctx.field("next"), "")
    client = ctx.client_address
    if not ctx.state.throttle.allow(client):
        ctx.state.login_events.record(
            "login_throttled", "", client, "too many attempts from one address"
        )
        return ctx.render(
            "login.html",
            status=429,
            next=target,
            error=ctx._("Too many login attempts. Wait a few minutes and try again."),
        )
    # A name no account can have is not looked up (nor sent to the store).
    user = ctx.accounts.get_user(name) if NAME_RE.fullmatch(name) else None
    usable = bool(user and user.get("active") and not is_locked(user))
    ok = verify_password(user["password_hash"] if user and usable else None, password)
    if ok and user:
        # Read again after the slow check: a concurrent wrong guess may have locked it meanwhile.
        user = ctx.accounts.get_user(user["name"])
        usable = bool(user and user.get("active") and not is_locked(user))
    if not (ok and user and usable):
        if user and user.get("active") and not is_locked(user) and not ok:
            locked = record_failure(
                ctx.accounts, user, ctx.settings.login_max_failures, ctx.settings.lockout_minutes
            )
            ctx.accounts.append_audit(
                user["name"], "login_failed", user["name"], detail="locked" if locked else ""
            )
        elif user:
            ctx.state.login_events.record(
                "login_refused", user["name"], client, "locked" if is_locked(user) else "disabled"
            )
        else:
            ctx.state.login_events.record("login_failed", "", client, "unknown account")
        return ctx.render(
            "login.html",
            status=401,
            next=target,
            error=ctx._(
                "Wrong name or password. After repeated failures an account is locked for a while."
            ),
        )
    changes: dict[str, object] = {"failed_logins": 0, "locked_until": None}
    if needs_rehash(user["password_hash"]):
        changes["password_hash"] = hash_password(password)
    user = update_user(ctx.accounts, user["name"], **changes)
    new_session(ctx, user)
    ctx.accounts.append_audit(user["name"], "login", user["name"])
    return ctx.redirect(target or HOME_BY_ROLE[user["role"]])


def logout(ctx: Ctx) -> Response:
    # Ending every session of the user (epoch) also ends a copied cookie.
    update_user(ctx.accounts, ctx.actor, end_sessions=True)
    ctx.accounts.append_audit(ctx.actor, "logout", ctx.actor)
    new_session(ctx, None)
    return ctx.redirect("/login")


def language(ctx: Ctx) -> Response:
    lang = ctx.field("lang")
    if lang in LANGUAGES:
        ctx.session.language, ctx.session.changed = lang, True
    return ctx.redirect(local_path(ctx.field("next"), "/"))


def _account(
    ctx: Ctx, *, status: int = 200, message: str = "", error: str = "", new_token: str = ""
) -> Response:
    tokens: TokenStore = ctx.state.store
    return ctx.render(
        "account.html",
        status=status,
        message=message,
        error=error,
        new_token=new_token,
        tokens=tokens.list_tokens(ctx.actor)[::-1],
        token_days=ctx.settings.api_token_days,
        scopes=TOKEN_SCOPES if ctx.role == "admin" else ("api",),
    )


def account(ctx: Ctx) -> Response:
    return _account(ctx)


def add_token(ctx: Ctx) -> Response:
    tokens: TokenStore = ctx.state.store
    try:
        secret, _ = create_token(
            tokens,
            ctx.accounts,
            ctx.actor,
            ctx.field("name", max_chars=200),
            actor=ctx.actor,
            scope=ctx.field("scope", "api", max_chars=20),
            days=ctx.settings.api_token_days,
        )
    except TokenError as exc:
        return _account(ctx, status=400, error=ctx._(str(exc)))
    return _account(ctx, new_token=secret)


def revoke_own_token(ctx: Ctx) -> Response:
    tokens: TokenStore = ctx.state.store
    token_id = ctx.request.path_params["token_id"][:32]
    try:
        revoke_token(tokens, ctx.accounts, token_id, actor=ctx.actor, owner=ctx.actor)
    except TokenError as exc:
        return _account(ctx, status=404, error=ctx._(str(exc)))
    return _account(ctx, message=ctx._("The token is revoked."))


def change_password(ctx: Ctx) -> Response:
    current = ctx.field("current", max_chars=256)
    new = ctx.field("new", max_chars=300)
    user = ctx.user or {}
    error = ""
    if not verify_password(user.get("password_hash"), current):
        error = ctx._("The current password is wrong.")
    elif new != ctx.field("confirm", max_chars=300):
        error = ctx._("The two new passwords differ.")
    elif problem := password_problem(new):
        error = ctx._(problem)
    if error:
        return _account(ctx, status=400, error=error)
    updated = update_user(
        ctx.accounts, ctx.actor, password_hash=hash_password(new), end_sessions=True
    )
    ctx.accounts.append_audit(ctx.actor, "password_change", ctx.actor)
    new_session(ctx, updated)
    return _account(ctx, message=ctx._("Password changed. Your other sessions have ended."))


PAGES = [
    Page("/login", login_page, PUBLIC),
    Page("/login", login, PUBLIC, ("POST",)),
    Page("/logout", logout, ANY_ROLE, ("POST",)),
    Page("/language", language, ANY_ROLE, ("POST",)),
    Page("/account", account, ANY_ROLE),
    Page("/account/password", change_password, ANY_ROLE, ("POST",)),
    Page("/account/tokens", add_token, ANY_ROLE, ("POST",)),
    Page("/account/tokens/{token_id}/revoke", revoke_own_token, ANY_ROLE, ("POST",)),
]
