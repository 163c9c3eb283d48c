"""Delivery of one alert to one channel: webhook (JSON), e-mail (SMTP), Telegram (Bot API).

Every delivery is retried with a doubling wait (``attempts``, ``backoff``); what finally fails is
reported to the caller, who records it. Secrets (SMTP password, bot token) come from the environment
and are never logged or put in error messages.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from typing import Any

from patroli.alerts.config import ChannelConfig

logger = logging.getLogger(__name__)
TELEGRAM_API = "https://api.telegram.org"
TELEGRAM_MAX_CHARS = 4000  # the Bot API refuses messages over 4096 characters


@dataclass(slots=True)
class Alert:
    event: str  # high_risk | monitor_failed | saved_search
    title: str
    lines: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    source: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        return "\n".join([self.title, *self.lines])


class DeliveryError(Exception):
    """A channel did not accept an alert; the message is safe to log (no secrets)."""


def _post_json(url: str, payload: dict[str, Any], timeout: float = 10.0) -> None:
    request = urllib.request.Request(  # noqa: S310 - URL from the operator's configuration
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            if response.status >= 300:
                raise DeliveryError(f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"unreachable ({reason})") from None


def send_webhook(channel: ChannelConfig, alert: Alert) -> None:
    _post_json(
        str(channel.options["url"]),
        {"channel": channel.name, **asdict(alert), "text": alert.text()},
    )


def send_email(channel: ChannelConfig, alert: Alert) -> None:
    options = channel.options
    message = EmailMessage()
    message["Subject"] = f"[patroli] {alert.title}"
    message["From"] = options["from"]
    recipients = options["to"] if isinstance(options["to"], list) else [options["to"]]
    message["To"] = ", ".join(recipients)
    message.set_content(alert.text() + ("\n\n" + "\n".join(alert.links) if alert.links else ""))
    try:
        with smtplib.SMTP(
            options["smtp_host"], int(options.get("smtp_port", 25)), timeout=10
        ) as smtp:
            if options.get("starttls"):
                smtp.starttls()
            if options.get("username"):
                smtp.login(options["username"], channel.secret("password"))
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(
            f"SMTP {type(exc).__name__}: {getattr(exc, 'smtp_error', exc)!s}"[:200]
        ) from None


def send_telegram(channel: ChannelConfig, alert: Alert) -> None:
    token = channel.secret("token")
    api = str(channel.options.get("api_url", TELEGRAM_API)).rstrip("/")
    text = alert.text() + ("\n" + "\n".join(alert.links) if alert.links else "")
    try:
        _post_json(
            f"{api}/bot{token}/sendMessage",
            {
                "chat_id": channel.options["chat_id"],
                "text": text[:TELEGRAM_MAX_CHARS],
                "disable_web_page_preview": True,
            },
        )
    except DeliveryError as exc:
        raise DeliveryError(
            f"Telegram Bot API: {exc}"
        ) from None  # never the URL: it holds the token


SENDERS = {"webhook": send_webhook, "email": send_email, "telegram": send_telegram}


def deliver(channel: ChannelConfig, alert: Alert, attempts: int = 3, backoff: float = 1.0) -> str:
    """Send with retries; return "" on success, else why it failed (the crawl goes on either way)."""
    error = ""
    for attempt in range(1, attempts + 1):
        try:
            SENDERS[channel.kind](channel, alert)
            return ""
        except DeliveryError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a broken channel must never break a crawl
            error = f"{type(exc).__name__}"
        logger.warning(
            "alert channel %s: attempt %d of %d failed: %s", channel.name, attempt, attempts, error
        )
        if attempt < attempts:
            time.sleep(backoff * 2 ** (attempt - 1))
    return error
