"""Passwords (argon2id), signed session cookies, CSRF tokens and login throttling.

Sessions are signed (itsdangerous) and carry the user's name, a per-user session epoch, the CSRF
token, the language and the time the session was issued (at login): a session ends that long after
it was issued however often its cookie is signed again, so a stolen cookie is not kept alive by
requests that re-sign it. The epoch lives with the user in the store: logging out, disabling an
account or changing a password bumps it, which ends every session of that user on every backend
and every server process. Nothing here stores state of its own except the per-address login
throttle, which is deliberately per process (a lock-out per account lives in the store).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

from patroli.web.i18n import N_

ROLES = ("analyst", "investigator", "admin")
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 256
NAME_PATTERN = r"[a-z][a-z0-9._-]{1,31}"

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the user does not exist, so that both paths cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
# Each check takes tens of MiB of memory for a moment: a burst of logins waits its turn instead of
# taking the server's memory (a few checks at once keep every core busy).
_CHECKS_AT_ONCE = threading.BoundedSemaphore(max(2, os.cpu_count() or 2))
# A session issued this far in the future (clock steps between server processes) is still accepted.
CLOCK_SKEW_SECONDS = 60


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-effort check; an unknown user is checked against a dummy hash."""
    try:
        with _CHECKS_AT_ONCE:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def generate_password() -> str:
    """A random password to show once (about 96 bits)."""
    return secrets.token_urlsafe(12)


def password_problem(password: str) -> str:
    """Return why a new password is unacceptable (English message id), or ''."""
    if len(password) < MIN_PASSWORD_CHARS:
        return N_("The password needs at least 12 characters.")
    if len(password) > MAX_PASSWORD_CHARS:
        return N_("The password is too long.")
    return ""


@dataclass(slots=True)
class Session:
    user: str = ""
    epoch: int = 0
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    language: str = ""
    issued: float = field(default_factory=time.time)
    changed: bool = False  # must be written back to the cookie

    def to_payload(self) -> dict[str, Any]:
        return {
            "u": self.user,
            "e": self.epoch,
            "c": self.csrf,
            "l": self.language,
            "t": self.issued,
        }

    @classmethod
    def from_payload(cls, payload: Any) -> Session | None:
        if not isinstance(payload, dict):
            return None
        try:
            return cls(
                user=str(payload["u"]),
                epoch=int(payload["e"]),
                csrf=str(payload["c"]),
                language=str(payload["l"]),
                issued=float(payload["t"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


class SessionCodec:
    """Sign and check session cookies; a session issued more than ``max_age`` seconds ago is
    refused, whenever its cookie was last signed."""

    def __init__(self, secret_key: str, max_age: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="patroli-session")
        self.max_age = max_age

    def dumps(self, session: Session) -> str:
        return self._serializer.dumps(session.to_payload())

    def loads(self, cookie: str) -> Session | None:
        if not cookie or len(cookie) > 4096:
            return None
        try:
            payload = self._serializer.loads(cookie, max_age=self.max_age)
        except BadSignature:  # also SignatureExpired
            return None
        session = Session.from_payload(payload)
        if session is None:
            return None
        age = time.time() - session.issued
        if not -CLOCK_SKEW_SECONDS <= age <= self.max_age:  # NaN fails too
            return None
        return session


class CursorCodec:
    """Page cursors (a store's ``next_after``) signed into an opaque URL value, bound to the query
    and order they page through: a cursor the server did not issue for this very listing is
    refused before it reaches the store."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt="patroli-cursor")

    @staticmethod
    def _listing(query: str, sort: str) -> str:
        return hashlib.sha256(f"{sort}\x1f{query}".encode()).hexdigest()[:16]

    def dumps(self, after: list[Any] | None, query: str, sort: str) -> str:
        if not after:
            return ""
        return str(self._serializer.dumps([self._listing(query, sort), after]))

    def loads(self, raw: str, query: str, sort: str) -> list[Any] | None:
        """The cursor, or None for none; raise ``ValueError`` for one that is not valid here."""
        if not raw:
            return None
        try:
            listing, after = self._serializer.loads(raw)
        except (BadSignature, ValueError, TypeError) as exc:
            raise ValueError("not a page link of this site") from exc
        if listing != self._listing(query, sort) or not isinstance(after, list) or not after:
            raise ValueError("a page link of another search")
        return after


def csrf_matches(session: Session, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(session.csrf.encode(), str(token).encode())


class LoginThrottle:
    """At most ``attempts`` login attempts per client address per ``window`` seconds."""

    def __init__(self, attempts: int, window: float) -> None:
        self.attempts, self.window = attempts, window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, address: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:  # bound memory under a spray of addresses
                self._seen = {
                    k: v for k, v in self._seen.items() if v and v[-1] > now - self.window
                }
            times = self._seen.setdefault(address, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.attempts:
                return False
            times.append(now)
            return True
