"""Contacts other than phone numbers: Telegram handles, e-mail addresses and links.

Telegram handles are lower-cased (``@name``) so that the same recruiter matches across channels.
The tables name what the model's normalizer turns into placeholders and the web highlighter marks:
free e-mail providers (an agency with a licence has its own domain) and hosts whose links are
written without ``http``.
"""

from __future__ import annotations

import re

# Free e-mail providers: a contact there is a person, not a licensed agency's domain.
FREE_MAIL_PROVIDERS = ("gmail", "yahoo", "hotmail", "outlook", "ymail")
# Link hosts ads write bare ("wa.me/62…", "bit.ly/…"): chat links and URL shorteners.
BARE_LINK_HOSTS = ("wa.me", "t.me", "bit.ly", "s.id")

# A t.me link names a contact, unless it is a post's permalink (``t.me/<channel>/<id>``): that is
# a link to a message, often another channel's, not a way to reach the poster.
_TME_RE = re.compile(
    r"(?:https?://)?(?:t\.me|telegram\.me|telegram\.dog)/(?:s/)?([A-Za-z][A-Za-z0-9_]{3,31})\b(?!/\d)"
)
_AT_HANDLE_RE = re.compile(r"(?<![\w.@/])@([A-Za-z][A-Za-z0-9_]{3,31})\b")
_EMAIL_RE = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,24}\b")
_URL_RE = re.compile(r"\bhttps?://[^\s<>\"'()\[\]{}]+", re.IGNORECASE)
_TME_RESERVED = {"joinchat", "addstickers", "share", "iv", "proxy", "socks", "setlanguage"}


def extract_telegram_handles(text: str) -> list[str]:
    """Return Telegram usernames from t.me links and @mentions, as lower-case ``@name``."""
    found: dict[str, None] = {}
    for name in _TME_RE.findall(text):
        if name.lower() not in _TME_RESERVED:
            found["@" + name.lower()] = None
    for name in _AT_HANDLE_RE.findall(text):
        found["@" + name.lower()] = None
    return list(found)


def extract_emails(text: str) -> list[str]:
    return list(dict.fromkeys(e.lower().rstrip(".") for e in _EMAIL_RE.findall(text)))


def extract_links(text: str) -> list[str]:
    return list(dict.fromkeys(u.rstrip(".,;:!?") for u in _URL_RE.findall(text)))
