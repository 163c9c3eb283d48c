"""Administration: users, the audit log, sources (registry and latest runs) and models."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import Response

from patroli.web.accounts import NAME_RE, AccountError, create_user, public_view, update_user
from patroli.web.operations import sources_status
from patroli.web.routing import ADMIN, Ctx, Page
from patroli.web.security import ROLES, generate_password, hash_password

USER_ACTIONS = ("role", "disable", "enable", "reset", "unlock")
AUDIT_PAGE = 50


def audit(ctx: Ctx) -> Response:
    try:
        page = max(0, min(int(ctx.param("page", "0")), 100_000))
    except ValueError:
        page = 0
    actor, target = ctx.param("actor", max_chars=64), ctx.param("target", max_chars=200)
    entries = ctx.accounts.audit_log(
        limit=AUDIT_PAGE + 1, offset=page * AUDIT_PAGE, actor=actor, target=target
    )
    return ctx.render(
        "audit.html",
        entries=entries[:AUDIT_PAGE],
        more=len(entries) > AUDIT_PAGE,
        page=page,
        actor=actor,
        target=target,
    )


def users(
    ctx: Ctx, *, status: int = 200, error: str = "", created: str = "", password: str = ""
) -> Response:
    return ctx.render(
        "users.html",
        status=status,
        users=ctx.accounts.list_users(),
        roles=ROLES,
        error=error,
        created=created,
        password=password,
        actions=USER_ACTIONS,
        now_iso=datetime.now(UTC).isoformat(),
    )


def users_page(ctx: Ctx) -> Response:
    return users(ctx)


def add_user(ctx: Ctx) -> Response:
    password = ctx.field("password", max_chars=300) or generate_password()
    try:
        user = create_user(
            ctx.accounts,
            ctx.field("name", max_chars=64),
            ctx.field("role", max_chars=20),
            password,
            actor=ctx.actor,
        )
    except AccountError as exc:
        return users(ctx, status=400, error=ctx._(str(exc)))
    # A password the admin typed is not shown back; a generated one is shown once.
    return users(ctx, created=user["name"], password="" if ctx.field("password") else password)


def change_user(ctx: Ctx) -> Response:
    name = ctx.request.path_params["name"][:64]
    action = ctx.field("action")
    before = ctx.accounts.get_user(name) if NAME_RE.fullmatch(name) else None
    if before is None:
        return users(ctx, status=404, error=ctx._("No such user."))
    if action not in USER_ACTIONS:
        return users(ctx, status=400, error=ctx._("Unknown action."))
    if name == ctx.actor and action in ("role", "disable"):
        return users(
            ctx, status=400, error=ctx._("You cannot change your own role or disable yourself.")
        )
    password = ""
    if action == "role":
        role = ctx.field("role")
        if role not in ROLES:
            return users(ctx, status=400, error=ctx._("Unknown role."))
        after = update_user(ctx.accounts, name, role=role, end_sessions=True)
    elif action == "disable":
        after = update_user(ctx.accounts, name, active=False, end_sessions=True)
    elif action == "enable":
        after = update_user(ctx.accounts, name, active=True, failed_logins=0, locked_until=None)
    elif action == "unlock":
        after = update_user(ctx.accounts, name, failed_logins=0, locked_until=None)
    else:  # reset: a new generated password, shown once; every session of the user ends
        password = generate_password()
        after = update_user(
            ctx.accounts,
            name,
            password_hash=hash_password(password),
            failed_logins=0,
            locked_until=None,
            end_sessions=True,
        )
    ctx.accounts.append_audit(
        ctx.actor, f"user_{action}", name, public_view(before), public_view(after)
    )
    return users(ctx, created=name if password else "", password=password)


def sources(ctx: Ctx) -> Response:
    status = sources_status(ctx.ledger)
    return ctx.render("sources.html", **{**status, "runs": status["runs"][:30]})


def models(ctx: Ctx, *, status: int = 200, error: str = "", message: str = "") -> Response:
    from classifiers.registry import ModelError, active_version, model_dirs, read_card

    try:
        active = active_version()
    except ModelError:
        active = ""
    cards = []
    for path in model_dirs():
        try:
            card = read_card(path)
            cards.append(
                {
                    "version": str(card["version"]),
                    "created_at": card.get("created_at", ""),
                    "threshold": card.get("threshold"),
                    "test": (card.get("metrics") or {}).get("test") or {},
                    "path": str(path),
                    "problem": "",
                }
            )
        except ModelError as exc:
            cards.append({"version": path.name, "problem": str(exc), "path": str(path), "test": {}})
    return ctx.render(
        "models.html", status=status, cards=cards, active=active, error=error, message=message
    )


def models_page(ctx: Ctx) -> Response:
    return models(ctx)


def activate_model(ctx: Ctx) -> Response:
    from classifiers.registry import ModelError, active_version, set_active

    version = ctx.field("version", max_chars=100)
    try:
        before = active_version()
    except ModelError:
        before = ""
    try:
        set_active(version)
    except ModelError as exc:
        return models(ctx, status=400, error=str(exc))
    ctx.accounts.append_audit(ctx.actor, "model_activate", version, before, version)
    return models(
        ctx, message=ctx._("Model %(version)s is now active for new crawls.", version=version)
    )


PAGES = [
    Page("/admin/audit", audit, ADMIN),
    Page("/admin/users", users_page, ADMIN),
    Page("/admin/users", add_user, ADMIN, ("POST",)),
    Page("/admin/users/{name}", change_user, ADMIN, ("POST",)),
    Page("/admin/sources", sources, ADMIN),
    Page("/admin/models", models_page, ADMIN),
    Page("/admin/models", activate_model, ADMIN, ("POST",)),
]
