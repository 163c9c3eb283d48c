"""The web app's settings, read once from the environment (``PATROLI_WEB_*``, ``PATROLI_SECRET_KEY``).

Defined in ``patroli.config.table`` and documented in docs/settings.md. The secret signs session cookies: it has no default, and a missing,
short or placeholder secret is refused at start-up outside the demo.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from patroli.config import SettingError
from patroli.config.table import (
    LANGUAGES,
    PATROLI_API_RATE,
    PATROLI_API_TOKEN_DAYS,
    PATROLI_CHROMIUM,
    PATROLI_EVIDENCE_DIR,
    PATROLI_IMAGES_DIR,
    PATROLI_IMAGES_MAX_BYTES,
    PATROLI_IMAGES_MAX_PIXELS,
    PATROLI_SECRET_KEY,
    PATROLI_TAKEDOWN_AGENCY,
    PATROLI_WEB_ALLOWED_HOSTS,
    PATROLI_WEB_COOKIE_SECURE,
    PATROLI_WEB_EXPORT_MAX_ROWS,
    PATROLI_WEB_LANGUAGE,
    PATROLI_WEB_LOCKOUT_MINUTES,
    PATROLI_WEB_LOGIN_MAX_FAILURES,
    PATROLI_WEB_LOGIN_RATE,
    PATROLI_WEB_SESSION_MINUTES,
)

MIN_SECRET_CHARS = 32
# Values people paste from tutorials; any secret containing one of them is refused.
_PLACEHOLDER_WORDS = (
    "changethis",
    "changeme",
    "change-me",
    "change_me",
    "placeholder",
    "secret",
    "example",
    "xxxx",
    "todo",
    "password",
    "default",
    "insecure",
    "dummy",
)


def check_secret(secret: str) -> str:
    """Return ``secret`` if it is fit to sign sessions; raise ``SettingError`` otherwise."""
    if not secret:
        raise SettingError(
            "PATROLI_SECRET_KEY is not set: generate one with "
            '`python -c "import secrets; print(secrets.token_urlsafe(48))"` and export it'
        )
    lowered = secret.lower()
    if len(secret) < MIN_SECRET_CHARS or len(set(secret)) < 10:
        raise SettingError(
            f"PATROLI_SECRET_KEY is too weak: use at least {MIN_SECRET_CHARS} random characters"
        )
    if any(word in lowered for word in _PLACEHOLDER_WORDS):
        raise SettingError(
            "PATROLI_SECRET_KEY looks like a placeholder: replace it with a random value"
        )
    return secret


def parse_hosts(raw: str) -> tuple[str, ...]:
    """``PATROLI_WEB_ALLOWED_HOSTS``: host names separated by commas; ``*.domain`` and ``*`` as
    the trusted-host check understands them. Raise ``SettingError`` for anything else."""
    hosts = tuple(h.strip().lower() for h in raw.split(",") if h.strip())
    if not hosts:
        raise SettingError("PATROLI_WEB_ALLOWED_HOSTS names no host: list at least one")
    for host in hosts:
        pattern = host.removeprefix("*.") if host.startswith("*.") else host
        if host != "*" and not _HOST_RE.fullmatch(pattern):
            raise SettingError(
                f"PATROLI_WEB_ALLOWED_HOSTS: {host!r} is not a host name, an address, *.domain or *"
            )
    return hosts


_HOST_RE = re.compile(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]{2,45}\]")


@dataclass(frozen=True, slots=True)
class WebSettings:
    secret_key: str
    demo: bool = False  # the demo may run with a generated secret
    cookie_secure: bool = PATROLI_WEB_COOKIE_SECURE.default_value()
    session_minutes: int = PATROLI_WEB_SESSION_MINUTES.default_value()
    language: str = PATROLI_WEB_LANGUAGE.default_value()
    login_max_failures: int = PATROLI_WEB_LOGIN_MAX_FAILURES.default_value()
    lockout_minutes: int = PATROLI_WEB_LOCKOUT_MINUTES.default_value()
    login_rate_attempts: int = PATROLI_WEB_LOGIN_RATE.default_value()  # per address per window
    login_rate_window_seconds: int = 300
    export_max_rows: int = PATROLI_WEB_EXPORT_MAX_ROWS.default_value()
    allowed_hosts: tuple[str, ...] = parse_hosts(PATROLI_WEB_ALLOWED_HOSTS.default_value())
    bulk_max: int = 500
    page_size: int = 25
    api_rate_per_minute: int = PATROLI_API_RATE.default_value()  # per token, per process
    api_token_days: int = PATROLI_API_TOKEN_DAYS.default_value()  # 0: until revoked
    images_dir: str = PATROLI_IMAGES_DIR.default_value()  # where the crawl keeps ad images
    images_max_bytes: int = PATROLI_IMAGES_MAX_BYTES.default_value()  # an uploaded image, at most
    images_max_pixels: int = PATROLI_IMAGES_MAX_PIXELS.default_value()
    # Case bundles and takedown exports read the evidence and render with chromium.
    evidence_dir: str = field(default_factory=PATROLI_EVIDENCE_DIR.from_env)
    chromium: str = field(default_factory=PATROLI_CHROMIUM.from_env)
    takedown_agency: str = field(default_factory=PATROLI_TAKEDOWN_AGENCY.from_env)

    def __post_init__(self) -> None:
        if not self.demo:
            check_secret(self.secret_key)
        elif not self.secret_key:
            raise SettingError("the demo needs a secret too (it generates one)")
        parse_hosts(",".join(self.allowed_hosts))
        if self.language not in LANGUAGES:
            raise SettingError(f"PATROLI_WEB_LANGUAGE must be one of {', '.join(LANGUAGES)}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebSettings:
        """Read the environment (``os.environ`` unless ``env`` is given).

        Raise ``SettingError`` naming the bad variable, or saying why the secret is unsafe."""
        return cls(
            secret_key=PATROLI_SECRET_KEY.from_env(env),
            cookie_secure=PATROLI_WEB_COOKIE_SECURE.from_env(env),
            session_minutes=PATROLI_WEB_SESSION_MINUTES.from_env(env),
            language=PATROLI_WEB_LANGUAGE.from_env(env),
            login_max_failures=PATROLI_WEB_LOGIN_MAX_FAILURES.from_env(env),
            lockout_minutes=PATROLI_WEB_LOCKOUT_MINUTES.from_env(env),
            login_rate_attempts=PATROLI_WEB_LOGIN_RATE.from_env(env),
            export_max_rows=PATROLI_WEB_EXPORT_MAX_ROWS.from_env(env),
            api_rate_per_minute=PATROLI_API_RATE.from_env(env),
            api_token_days=PATROLI_API_TOKEN_DAYS.from_env(env),
            images_dir=PATROLI_IMAGES_DIR.from_env(env),
            images_max_bytes=PATROLI_IMAGES_MAX_BYTES.from_env(env),
            images_max_pixels=PATROLI_IMAGES_MAX_PIXELS.from_env(env),
            allowed_hosts=parse_hosts(PATROLI_WEB_ALLOWED_HOSTS.from_env(env)),
        )

    @classmethod
    def for_demo(cls, **overrides: object) -> WebSettings:
        """Demo settings: a fresh random secret each run (sessions end when the demo stops)."""
        return replace(cls(secret_key=secrets.token_urlsafe(48), demo=True), **overrides)  # type: ignore[arg-type]

    def replace(self, **changes: object) -> WebSettings:
        return replace(self, **changes)  # type: ignore[arg-type]
