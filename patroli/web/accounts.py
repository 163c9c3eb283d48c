"""Accounts on top of the store's user records: create, change, lock out, end sessions.

Used by the web pages and by ``patroli users``. Password hashes never leave this module's callers
into logs or the audit log; the audit log records role and active flag only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from patroli.storage import AccountStore, Record
from patroli.web.i18n import N_
from patroli.web.security import NAME_PATTERN, ROLES, hash_password, password_problem

NAME_RE = re.compile(NAME_PATTERN)


class AccountError(ValueError):
    """A user name, role or password is not acceptable; the message is an English message id."""


def now() -> datetime:
    return datetime.now(UTC)


def public_view(user: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What the audit log may say about an account."""
    if not user:
        return None
    return {"role": user.get("role"), "active": bool(user.get("active"))}


def check_name(name: str) -> str:
    name = name.strip().lower()
    if not NAME_RE.fullmatch(name):
        raise AccountError(
            N_(
                "A user name has 2 to 32 characters: lower-case letters, digits, dot, dash or underscore, starting with a letter."
            )
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(N_("Unknown role."))
    return role


def create_user(
    store: AccountStore, name: str, role: str, password: str, *, actor: str, replace: bool = False
) -> Record:
    name, role = check_name(name), check_role(role)
    if problem := password_problem(password):
        raise AccountError(problem)
    existing = store.get_user(name)
    if existing and not replace:
        raise AccountError(N_("A user with this name exists already."))
    epoch = int((existing or {}).get("extra", {}).get("session_epoch", 0)) + (1 if existing else 0)
    user = {
        "name": name,
        "role": role,
        "password_hash": hash_password(password),
        "active": True,
        "failed_logins": 0,
        "locked_until": None,
        "created_at": now().isoformat(),
        "extra": {"session_epoch": epoch},
    }
    store.put_user(user)
    store.append_audit(
        actor,
        "user_reset" if existing else "user_create",
        name,
        public_view(existing),
        public_view(user),
    )
    return store.get_user(name) or user


def update_user(store: AccountStore, name: str, **changes: Any) -> Record:
    """Read, change and write one user record; ``end_sessions=True`` bumps the session epoch."""
    user = store.get_user(name)
    if user is None:
        raise AccountError(N_("No such user."))
    extra = dict(user.get("extra") or {})
    if changes.pop("end_sessions", False):
        extra["session_epoch"] = int(extra.get("session_epoch", 0)) + 1
    updated = {**user, **changes, "extra": extra}
    store.put_user(updated)
    return updated


def is_locked(user: Mapping[str, Any], at: datetime | None = None) -> bool:
    locked = user.get("locked_until")
    if not locked:
        return False
    try:
        return datetime.fromisoformat(str(locked)) > (at or now())
    except ValueError:
        return False


def record_failure(
    store: AccountStore, user: Record, max_failures: int, lockout_minutes: int
) -> bool:
    """Count a failed login (atomically, in the store); lock the account after ``max_failures``.
    Returns True if this failure locked it."""
    until = (now() + timedelta(minutes=lockout_minutes)).isoformat()
    reached = store.count_login_failure(user["name"], max_failures=max_failures, lock_until=until)
    return reached is not None and reached >= max_failures
