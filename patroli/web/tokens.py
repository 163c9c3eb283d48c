"""Per-user API tokens: created (shown once), checked, listed and revoked.

A token is ``ptk_<id>_<secret>``: the id finds the record, the secret is 256 random bits of which
the store keeps only a SHA-256 hash (a slow password hash buys nothing for a random secret and
would cost every API call). A token acts as its owner with the owner's *current* role and state:
disabling the account or changing its role applies at once. Scope ``api`` reaches the HTTP API,
scope ``metrics`` only ``/metrics`` (for Prometheus; its owner must be an admin).

Used by the account page, ``patroli users token`` and the API's authentication. Token lifecycle
events are audited; secrets and hashes never go to the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from patroli.storage import AccountStore, Record, TokenStore
from patroli.storage.schema import TOKEN_SCOPES
from patroli.web.i18n import N_

PREFIX = "ptk_"
_TOKEN_RE = re.compile(r"ptk_([0-9a-f]{16})_([A-Za-z0-9_-]{40,64})")
MAX_NAME_CHARS = 64
# How often a token's last use is written back (a write per API call would be a write per call).
TOUCH_EVERY = timedelta(minutes=1)


class TokenError(ValueError):
    """A token cannot be created or revoked as asked; the message is an English message id."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def public_view(token: Mapping[str, Any]) -> dict[str, Any]:
    """A token as lists and the audit log show it: never its hash."""
    return {
        k: token.get(k)
        for k in (
            "id",
            "owner",
            "name",
            "scope",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        )
    }


def create_token(
    tokens: TokenStore,
    accounts: AccountStore,
    owner: str,
    name: str,
    *,
    actor: str,
    scope: str = "api",
    days: int = 365,
) -> tuple[str, Record]:
    """A new token of ``owner``: (the token, shown only now; its record)."""
    user = accounts.get_user(owner)
    if user is None:
        raise TokenError(N_("No such user."))
    if not user.get("active"):
        raise TokenError(N_("The account is disabled."))
    if scope not in TOKEN_SCOPES:
        raise TokenError(N_("Unknown token scope."))
    if scope == "metrics" and user.get("role") != "admin":
        raise TokenError(N_("Only an admin may hold a metrics token."))
    name = " ".join(name.split())[:MAX_NAME_CHARS]
    if not name:
        raise TokenError(N_("Give the token a name (what it is for)."))
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    created = datetime.now(UTC)
    record = {
        "id": token_id,
        "owner": owner,
        "name": name,
        "scope": scope,
        "secret_hash": _hash(secret),
        "created_at": created.isoformat(),
        "expires_at": (created + timedelta(days=days)).isoformat() if days > 0 else None,
        "last_used_at": None,
        "revoked_at": None,
    }
    tokens.put_token(record)
    accounts.append_audit(actor, "token_create", owner, None, public_view(record))
    return f"{PREFIX}{token_id}_{secret}", record


def revoke_token(
    tokens: TokenStore, accounts: AccountStore, token_id: str, *, actor: str, owner: str = ""
) -> Record:
    """Revoke a token (only ``owner``'s, when given); the record as it is now."""
    token = tokens.get_token(token_id)
    if token is None or (owner and token["owner"] != owner):
        raise TokenError(N_("No such token."))
    if not tokens.revoke_token(token_id, datetime.now(UTC).isoformat()):
        raise TokenError(N_("The token was revoked already."))
    after = tokens.get_token(token_id) or token
    accounts.append_audit(
        actor, "token_revoke", token["owner"], public_view(token), public_view(after)
    )
    return after


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a presented token is worth: its record and owner, or why it is refused."""

    token: Record | None = None
    user: Record | None = None
    problem: str = (
        ""  # "", "malformed", "unknown", "secret", "revoked", "expired", "owner", "scope"
    )

    @property
    def ok(self) -> bool:
        return not self.problem


def check_token(
    tokens: TokenStore, accounts: AccountStore, presented: str, *, scope: str = "api"
) -> Verdict:
    """Check a token as presented (``ptk_…``) for ``scope``; record its use (at most once a
    minute). The secret is compared in constant time."""
    match = _TOKEN_RE.fullmatch(presented.strip())
    if not match:
        return Verdict(problem="malformed")
    token = tokens.get_token(match.group(1))
    if token is None:
        return Verdict(problem="unknown")
    if not hmac.compare_digest(str(token.get("secret_hash") or ""), _hash(match.group(2))):
        return Verdict(token, problem="secret")
    now = datetime.now(UTC)
    if token.get("revoked_at"):
        return Verdict(token, problem="revoked")
    if token.get("expires_at") and datetime.fromisoformat(str(token["expires_at"])) <= now:
        return Verdict(token, problem="expired")
    if token.get("scope") != scope:
        return Verdict(token, problem="scope")
    user = accounts.get_user(str(token["owner"]))
    if user is None or not user.get("active") or (scope == "metrics" and user["role"] != "admin"):
        return Verdict(token, user, problem="owner")
    last = token.get("last_used_at")
    if not last or now - datetime.fromisoformat(str(last)) >= TOUCH_EVERY:
        tokens.touch_token(str(token["id"]), now.isoformat())
    return Verdict(token, user)
