"""Web app commands: ``serve``, ``users add|list|disable|enable`` and ``users token create|list|revoke``."""

from __future__ import annotations

import contextlib
import sys

import click
from rich.table import Table
from rich.text import Text

from patroli.cli.main import (
    cli,
    console,
    fail,
    open_store_or_fail,
    safe,
    setting_option,
    store_option,
    styled,
)
from patroli.config.table import PATROLI_API_TOKEN_DAYS
from patroli.storage import AccountStore

ROLE_CHOICE = click.Choice(["analyst", "investigator", "admin"])


def run_server(store_url: str, settings: object, host: str, port: int) -> None:
    """Serve the web app with uvicorn until Ctrl-C (no access log: URLs carry search terms)."""
    import logging

    import uvicorn

    from patroli import logs
    from patroli.web.app import create_app
    from patroli.web.settings import WebSettings

    if not isinstance(settings, WebSettings):
        raise TypeError("run_server needs WebSettings")
    logs.configure("web", logging.INFO)  # uvicorn's loggers too: PATROLI_LOG_FORMAT, redacted
    app = create_app(store_url, settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        log_config=None,
    )
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        fail(
            f"cannot serve on {host}:{port}",
            "another program may use the port: choose another with --port",
        )


@cli.command()
@store_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
def serve(store_url: str, host: str, port: int) -> None:
    """Serve the review and investigation web app.

    Needs PATROLI_SECRET_KEY (at least 32 random characters) to sign sessions; other settings
    (PATROLI_WEB_*) are listed in docs/settings.md. Create accounts with `patroli users add`.
    """
    from patroli.config import SettingError
    from patroli.web.settings import WebSettings

    try:
        settings = WebSettings.from_env()
    except SettingError as exc:
        fail(str(exc), "see docs/settings.md, 'Web app'")
        return
    if host not in ("0.0.0.0", "::", ""):  # noqa: S104 - the address it listens on is one of its names
        own = f"[{host}]" if ":" in host else host.lower()
        if own not in settings.allowed_hosts:
            settings = settings.replace(allowed_hosts=(*settings.allowed_hosts, own))
    store: AccountStore = open_store_or_fail(store_url, create=True)
    with store:
        if not any(u.get("active") and u.get("role") == "admin" for u in store.list_users()):
            console.print(
                Text.assemble(
                    styled("yellow", "no active admin yet:"),
                    " create one with `patroli users add NAME --role admin`",
                )
            )
    console.print(f"serving on http://{host}:{port}  (Ctrl-C stops)", highlight=False)
    run_server(store_url, settings, host, port)


@cli.group()
def users() -> None:
    """Manage web app accounts (analyst, investigator, admin)."""


@users.command("add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=ROLE_CHOICE,
    help="analyst decides; investigator searches and exports; admin manages.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of generating one.",
)
@click.option(
    "--reset",
    is_flag=True,
    help="Replace an existing user's role and password (ends their sessions).",
)
@store_option
def users_add(name: str, role: str, password_stdin: bool, reset: bool, store_url: str) -> None:
    """Create user NAME; a generated password is printed once."""
    from patroli.web.accounts import AccountError, create_user
    from patroli.web.security import generate_password

    password = sys.stdin.readline().rstrip("\n") if password_stdin else generate_password()
    store: AccountStore = open_store_or_fail(store_url, create=True)
    with store:
        try:
            user = create_user(store, name, role, password, actor="cli", replace=reset)
        except AccountError as exc:
            fail(
                str(exc), "use --reset to replace an existing user" if "exists" in str(exc) else ""
            )
            return
    console.print(f"user {user['name']} ({user['role']}) saved", highlight=False)
    if not password_stdin:
        console.print(f"password (shown only now): {password}", highlight=False, soft_wrap=True)


@users.command("list")
@store_option
def users_list(store_url: str) -> None:
    """List the accounts with role and state."""
    store: AccountStore = open_store_or_fail(store_url)
    with store:
        accounts = store.list_users()
    table = Table()
    for column in ("name", "role", "active", "locked until", "created"):
        table.add_column(column)
    for user in accounts:
        table.add_row(
            safe(user["name"]),
            safe(user["role"]),
            "yes" if user.get("active") else "no",
            str(user.get("locked_until") or ""),
            str(user.get("created_at") or "")[:19],
        )
    console.print(table)


def _set_active(name: str, active: bool, store_url: str) -> None:
    from patroli.web.accounts import AccountError, public_view, update_user

    store: AccountStore = open_store_or_fail(store_url)
    with store:
        before = store.get_user(name)
        try:
            after = update_user(store, name, active=active, end_sessions=not active)
        except AccountError:
            fail(f"no user named {name!r}", "`patroli users list` shows the accounts")
            return
        store.append_audit(
            "cli",
            "user_enable" if active else "user_disable",
            name,
            public_view(before),
            public_view(after),
        )
    console.print(
        f"user {name} {'enabled' if active else 'disabled; their sessions have ended'}",
        highlight=False,
    )


@users.command("disable")
@click.argument("name")
@store_option
def users_disable(name: str, store_url: str) -> None:
    """Disable user NAME (ends their sessions; the account and its history stay)."""
    _set_active(name, False, store_url)


@users.command("enable")
@click.argument("name")
@store_option
def users_enable(name: str, store_url: str) -> None:
    """Enable user NAME again."""
    _set_active(name, True, store_url)


@users.group("token")
def users_token() -> None:
    """API tokens: create (shown once), list, revoke. A token acts as its user, with their role."""


@users_token.command("create")
@click.argument("name")
@click.option("--for", "purpose", required=True, help="What the token is for (shown in lists).")
@click.option(
    "--scope",
    type=click.Choice(["api", "metrics"]),
    default="api",
    show_default=True,
    help="api: the HTTP API with the user's role; metrics: /metrics only (admins).",
)
@setting_option(
    "--days",
    setting=PATROLI_API_TOKEN_DAYS,
    type=click.IntRange(0),
    help="Days the token stays valid (0: until revoked).",
)
@store_option
def token_create(name: str, purpose: str, scope: str, days: int, store_url: str) -> None:
    """Create an API token for user NAME; it is printed once (only its hash is kept)."""
    from patroli.storage import Store
    from patroli.web.tokens import TokenError, create_token

    store: Store = open_store_or_fail(store_url)
    with store:
        try:
            secret, record = create_token(
                store, store, name, purpose, actor="cli", scope=scope, days=days
            )
        except TokenError as exc:
            fail(str(exc), "`patroli users list` shows the accounts")
            return
    expires = str(record["expires_at"] or "never")[:19]
    console.print(f"token {record['id']} for {name} ({scope}, expires {expires})", highlight=False)
    console.print(f"token (shown only now): {secret}", highlight=False, soft_wrap=True)


@users_token.command("list")
@click.argument("name", required=False, default="")
@store_option
def token_list(name: str, store_url: str) -> None:
    """List API tokens (of user NAME, or everyone's): never the tokens themselves."""
    from patroli.storage import TokenStore

    tokens: TokenStore = open_store_or_fail(store_url)
    with tokens:
        listed = tokens.list_tokens(name)
    table = Table()
    for column in ("id", "user", "for", "scope", "created", "expires", "last used", "state"):
        table.add_column(column)
    for token in listed:
        table.add_row(
            token["id"],
            token["owner"],
            token["name"],
            token["scope"],
            str(token["created_at"])[:19],
            str(token["expires_at"] or "never")[:19],
            str(token["last_used_at"] or "")[:19],
            "revoked" if token["revoked_at"] else "active",
        )
    console.print(table)


@users_token.command("revoke")
@click.argument("token_id")
@store_option
def token_revoke(token_id: str, store_url: str) -> None:
    """Revoke the API token TOKEN_ID (see `patroli users token list`); it stops working at once."""
    from patroli.storage import Store
    from patroli.web.tokens import TokenError, revoke_token

    store: Store = open_store_or_fail(store_url)
    with store:
        try:
            revoke_token(store, store, token_id, actor="cli")
        except TokenError as exc:
            fail(str(exc), "`patroli users token list` shows the tokens")
            return
    console.print(f"token {token_id} revoked", highlight=False)
