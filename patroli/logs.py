"""Logs for operators: redacted always, one JSON object per line with ``PATROLI_LOG_FORMAT=json``.

Crawled pages and the people who use patroli leave phone numbers, e-mail addresses, passwords,
tokens and cookies in exceptions and messages; none of them may reach a log. ``redact`` removes
them from a line. ``install_redaction`` makes every log record of the process pass through it
when it is created (a record factory, so that no handler, Scrapy's included, ever sees the raw
text), and ``RedactingFilter`` does the same for one handler.

``JsonFormatter`` writes ``time``, ``level``, ``component`` (crawl, scheduler, web, cli), ``logger``,
``run_id``, ``source`` and ``message`` (and ``exception`` when there is one). A record names its run
and source by ``extra={"run_id": …, "source": …}``, by the spider Scrapy attaches to it, or, where
one process runs one crawl (the scheduler's children), by the one crawl bound with ``bind``.

Settings: ``PATROLI_LOG_FORMAT`` (and ``PATROLI_LOG_LEVEL`` where a command has no ``-v``).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from patroli.config.table import PATROLI_LOG_FORMAT

REDACTED = "[redacted]"

# key=value, key: value and "key": "value" where the key names a secret.
_KEY_NAMES = (
    "password",
    "passwd",
    "pwd",
    "passphrase",
    r"secret(?:_key)?",
    r"api[_-]?key",
    r"access[_-]?token",
    "token",
    "authorization",
    r"csrf[_-]?token",
    r"session(?:id)?",
    "patroli_session",
    r"credentials?",
)
_KEY_VALUE_RE = re.compile(
    rf"""(?ix)
    (?P<key>["']?\b(?:{"|".join(_KEY_NAMES)})\b["']?)       # the key, perhaps quoted
    (?P<sep>\s*[=:]\s*)(?!\[redacted\])
    (?P<value>"[^"]*"|'[^']*'|[^\s,;&'"}}\])]+)     # the value: quoted, or up to a delimiter
    """
)
# Whole headers whose value is a secret, to the end of the line.
_HEADER_RE = re.compile(
    r"(?im)\b(?P<key>(?:set-)?cookie|authorization|x-api-key)(?P<sep>\s*:\s*)[^\r\n]+"
)
_BEARER_RE = re.compile(r"(?i)\b(bearer|basic|apikey)\s+[A-Za-z0-9._~+/=-]{6,}")
_API_TOKEN_RE = re.compile(r"\bptk_[A-Za-z0-9]+_[A-Za-z0-9_-]+")
_URL_CREDENTIALS_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@")
_EMAIL_RE = re.compile(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24}\b")
# Phone numbers: "+62 812-5551-2345", "0812 5551 2345", "6281255512345", "(021) 555-1234": a
# plus, a 0 or 62 first, 8 to 15 digits with short separators. Dates, times, prices and ids do
# not start that way or are not digit runs of that length on their own.
_PHONE_RE = re.compile(
    r"(?<![\w.+-])(?:\+\s?\d|\(0\d{1,3}\)|0|62)(?:[\s.\-()]{0,2}\d){7,14}(?![\w])"
)
_WHATSAPP_RE = re.compile(r"(?i)(wa\.me/|phone=)\+?\d{6,15}")


def redact(text: str) -> str:
    """``text`` without secrets or personal data (phones, e-mails, passwords, tokens, cookies)."""
    if not text:
        return text
    text = _HEADER_RE.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", text)
    text = _API_TOKEN_RE.sub(f"ptk_{REDACTED}", text)
    text = _BEARER_RE.sub(lambda m: f"{m[1]} {REDACTED}", text)
    text = _URL_CREDENTIALS_RE.sub(lambda m: f"{m[1]}{REDACTED}@", text)
    text = _KEY_VALUE_RE.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", text)
    text = _EMAIL_RE.sub(REDACTED, text)
    text = _WHATSAPP_RE.sub(lambda m: f"{m[1]}{REDACTED}", text)
    return _PHONE_RE.sub(REDACTED, text)


def _redact_record(record: logging.LogRecord) -> None:
    """Replace the record's message (and exception text) by their redacted form, once."""
    if getattr(record, "_patroli_redacted", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep what there is, redacted  # noqa: BLE001
        message = f"{record.msg!s} {record.args!r}"
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._patroli_redacted = True


class RedactingFilter(logging.Filter):
    """A handler filter that redacts each record it passes (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_factory_lock = threading.Lock()
_installed = False


def install_redaction() -> None:
    """Redact every log record of this process when it is created (idempotent)."""
    global _installed
    with _factory_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


# --- which crawl a record belongs to -------------------------------------------------------------

_bound: dict[int, dict[str, str]] = {}  # id(spider or key) -> {"run_id", "source"}
_bound_lock = threading.Lock()
_component = {"name": ""}


def bind(key: object, **fields: str) -> None:
    """Name the run and source of records that carry ``key`` as their ``spider`` (and of every
    record, while this is the only crawl of the process)."""
    with _bound_lock:
        _bound[id(key)] = dict(fields)


def unbind(key: object) -> None:
    with _bound_lock:
        _bound.pop(id(key), None)


def _context(record: logging.LogRecord) -> dict[str, str]:
    spider = getattr(record, "spider", None)
    with _bound_lock:
        if spider is not None and id(spider) in _bound:
            return _bound[id(spider)]
        if len(_bound) == 1:
            return next(iter(_bound.values()))
    return {}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; the message is redacted whatever else was installed."""

    def __init__(self, component: str = "") -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        _redact_record(record)
        bound = _context(record)
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "component": self.component or _component["name"] or record.name.split(".")[0],
            "logger": record.name,
            "run_id": getattr(record, "run_id", None) or bound.get("run_id"),
            "source": _source_of(record) or bound.get("source"),
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def _source_of(record: logging.LogRecord) -> str | None:
    source = getattr(record, "source", None)
    if isinstance(source, str):
        return source
    return getattr(source, "name", None) if source is not None else None


TEXT_FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"


def make_handler(
    component: str, fmt: str | None = None, stream: Any = None, level: int | str = logging.NOTSET
) -> logging.Handler:
    """A stream handler (stderr) writing ``fmt`` ("text" or "json"), redacting every record."""
    chosen = fmt or PATROLI_LOG_FORMAT.from_env()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter(component) if chosen == "json" else logging.Formatter(TEXT_FORMAT)
    )
    handler.addFilter(RedactingFilter())
    handler.setLevel(level)
    handler._patroli_component = component  # type: ignore[attr-defined]
    return handler


def configure(
    component: str, level: int | str = logging.INFO, fmt: str | None = None, stream: Any = None
) -> logging.Handler:
    """Log this process (a scheduler, the web app) to stderr in the configured format: one root
    handler of patroli's (replacing an earlier one), every record redacted."""
    install_redaction()
    _component["name"] = component
    root = logging.getLogger()
    for old in [h for h in root.handlers if hasattr(h, "_patroli_component")]:
        root.removeHandler(old)
    handler = make_handler(component, fmt, stream)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def json_enabled() -> bool:
    return PATROLI_LOG_FORMAT.from_env() == "json"
