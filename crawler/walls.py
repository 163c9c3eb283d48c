"""Pages that are a platform refusing, not content: failure is never data.

A captcha or "unusual traffic" page served with 200, a login wall, a rate limit (429), an
RSS-Bridge error (as an HTML page or as a feed *item*), Telegram's landing page for a name without
a public post list: each has a *named status*. Spiders ask :func:`refusal_of` before reading a page
and count what it says instead of storing ads from it (``PatrolSpider.refused``); the run summary
gives each status a line (``crawler.runs``).

Markers are markup or phrases that only such pages carry, not words an ad could contain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

SOFT_BLOCK = "soft_block"
RATE_LIMITED = "rate_limited"
LOGIN_WALL = "login_wall"
RSSBRIDGE_ERROR = "rssbridge_error"
NO_PUBLIC_PREVIEW = "no_public_preview"
LAYOUT_CHANGED = "layout_changed"

# What each named status means, for the run summary.
DESCRIPTIONS = {
    SOFT_BLOCK: "page(s) answered with a captcha or 'unusual traffic' block (soft block)",
    RATE_LIMITED: "page(s) refused with HTTP 429 Too Many Requests (rate limited)",
    LOGIN_WALL: "page(s) answered with a login wall instead of content",
    RSSBRIDGE_ERROR: "RSS-Bridge error(s) (error page or error item), no ads stored from them",
    NO_PUBLIC_PREVIEW: "Telegram channel(s) without a public preview",
}

_SCAN_BYTES = 256 * 1024

_SOFT_BLOCK_MARKERS = (
    "our systems have detected unusual traffic",  # Google's /sorry page
    'id="captcha-form"',
    'class="g-recaptcha"',
    'class="h-captcha"',
    "<title>just a moment...</title>",  # Cloudflare's browser check
    "attention required! | cloudflare",
    "cf-challenge",
    "/cdn-cgi/challenge-platform/",
    'id="px-captcha"',  # PerimeterX / HUMAN
    "captcha-delivery.com",  # DataDome
)
_LOGIN_WALL_MARKERS = (
    "you must log in to continue",  # Facebook
    "<title>log in to facebook",
    "<title>login • instagram</title>",
    'class="authwall',  # LinkedIn
    "linkedin.com/authwall",
)
_LOGIN_URL_RE = re.compile(
    r"/(?:login|accounts/login|authwall|checkpoint)(?:[/?.]|$)", re.IGNORECASE
)
_RSSBRIDGE_ERROR_TITLE_RE = re.compile(r"^\s*Bridge returned error \d+!", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Refusal:
    status: str
    reason: str


def _head(body: bytes) -> str:
    return body[:_SCAN_BYTES].decode("utf-8", "replace").lower()


def refusal_of(url: str, status: int, body: bytes) -> Refusal | None:
    """What kind of refusal a page is, or ``None`` when it may hold content."""
    text = _head(body)
    if "<title>rss-bridge</title>" in text and ("resulted in" in text or 'class="error' in text):
        if status == 429 or "429 too many requests" in text:
            return Refusal(RATE_LIMITED, "RSS-Bridge: the platform rate-limited the bridge (429)")
        return Refusal(RSSBRIDGE_ERROR, f"RSS-Bridge error page (HTTP {status})")
    if status == 429:
        return Refusal(RATE_LIMITED, "HTTP 429 Too Many Requests")
    for marker in _SOFT_BLOCK_MARKERS:
        if marker in text:
            return Refusal(SOFT_BLOCK, f"soft block ({marker.strip('<>/')})")
    for marker in _LOGIN_WALL_MARKERS:
        if marker in text:
            return Refusal(LOGIN_WALL, f"login wall ({marker.strip('<>/')})")
    if _LOGIN_URL_RE.search(urlsplit(url).path):
        return Refusal(LOGIN_WALL, f"redirected to a login page ({url})")
    return None


def is_rssbridge_error_item(title: str, content: str) -> bool:
    """RSS-Bridge's default ``[error] output = "feed"``: the error comes as one feed item."""
    if _RSSBRIDGE_ERROR_TITLE_RE.match(title or ""):
        return True
    lowered = (content or "").lower()
    return "rss-bridge tried to fetch" in lowered or (
        "<strong>type:</strong>" in lowered and "<strong>message:</strong>" in lowered
    )
