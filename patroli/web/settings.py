"""The web app's settings, read once from the environment (``PATROLI_WEB_*``, ``PATROLI_SECRET_KEY``).

Documented in docs/settings.md. The secret signs session cookies: it has no default, and a missing,
short or placeholder secret is refused at start-up outside the demo.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace

LANGUAGES = ("id", "en")
MIN_SECRET_CHARS = 32
# Values people paste from tutorials; any secret containing one of them is refused.
_PLACEHOLDER_WORDS = ("changethis", "changeme", "change-me", "change_me", "placeholder", "secret",
                      "example", "xxxx", "todo", "password", "default", "insecure", "dummy")  # fmt: skip


class SettingsError(ValueError):
    """A setting is missing or unsafe; the message says which and what to do."""


def check_secret(secret: str) -> str:
    """Return ``secret`` if it is fit to sign sessions; raise ``SettingsError`` otherwise."""
    if not secret:
        raise SettingsError(
            "PATROLI_SECRET_KEY is not set: generate one with "
            '`python -c "import secrets; print(secrets.token_urlsafe(48))"` and export it'
        )
    lowered = secret.lower()
    if len(secret) < MIN_SECRET_CHARS or len(set(secret)) < 10:
        raise SettingsError(
            f"PATROLI_SECRET_KEY is too weak: use at least {MIN_SECRET_CHARS} random characters"
        )
    if any(word in lowered for word in _PLACEHOLDER_WORDS):
        raise SettingsError(
            "PATROLI_SECRET_KEY looks like a placeholder: replace it with a random value"
        )
    return secret


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from exc
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r} must be true or false")


@dataclass(frozen=True, slots=True)
class WebSettings:
    secret_key: str
    demo: bool = False  # the demo may run with a generated secret
    cookie_secure: bool = True
    session_minutes: int = 8 * 60
    language: str = "id"
    login_max_failures: int = 5  # failed logins before an account is locked
    lockout_minutes: int = 15
    login_rate_attempts: int = 20  # login attempts per client address per window
    login_rate_window_seconds: int = 300
    export_max_rows: int = 10_000
    bulk_max: int = 500
    page_size: int = 25

    def __post_init__(self) -> None:
        if not self.demo:
            check_secret(self.secret_key)
        elif not self.secret_key:
            raise SettingsError("the demo needs a secret too (it generates one)")
        if self.language not in LANGUAGES:
            raise SettingsError(f"PATROLI_WEB_LANGUAGE must be one of {', '.join(LANGUAGES)}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebSettings:
        """Read the environment; raise ``SettingsError`` naming the bad variable."""
        env = os.environ if env is None else env
        return cls(
            secret_key=env.get("PATROLI_SECRET_KEY", ""),
            cookie_secure=_bool(env, "PATROLI_WEB_COOKIE_SECURE", True),
            session_minutes=_int(env, "PATROLI_WEB_SESSION_MINUTES", 8 * 60),
            language=env.get("PATROLI_WEB_LANGUAGE", "") or "id",
            login_max_failures=_int(env, "PATROLI_WEB_LOGIN_MAX_FAILURES", 5),
            lockout_minutes=_int(env, "PATROLI_WEB_LOCKOUT_MINUTES", 15),
            login_rate_attempts=_int(env, "PATROLI_WEB_LOGIN_RATE", 20),
            export_max_rows=_int(env, "PATROLI_WEB_EXPORT_MAX_ROWS", 10_000),
        )

    @classmethod
    def for_demo(cls, **overrides: object) -> WebSettings:
        """Demo settings: a fresh random secret each run (sessions end when the demo stops)."""
        return replace(cls(secret_key=secrets.token_urlsafe(48), demo=True), **overrides)  # type: ignore[arg-type]

    def replace(self, **changes: object) -> WebSettings:
        return replace(self, **changes)  # type: ignore[arg-type]
