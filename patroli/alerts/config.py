"""Alert channels, read from ``alerts.yaml`` (``PATROLI_ALERTS``): where alerts go and which ones.

```yaml
threshold: 0.9                      # new ads at or above this risk are alerted (event high_risk)
web_url: https://patroli.example    # alerts link to the ad's page in the web app
channels:
  - name: ops
    kind: webhook                   # POST of the alert as JSON
    url: https://hooks.example/patroli
    events: [high_risk, monitor_failed]
  - name: analysts
    kind: email                     # SMTP; password from the environment, never from this file
    smtp_host: mail.example
    smtp_port: 587
    starttls: true
    username: patroli
    password_env: PATROLI_SMTP_PASSWORD
    from: patroli@example.org
    to: [analis@example.org]
    events: [high_risk]
  - name: investigator-budi
    kind: telegram                  # Telegram Bot API sendMessage
    token_env: PATROLI_TELEGRAM_TOKEN
    chat_id: "-1001234567"
    events: [saved_search]
```
Events: ``high_risk``, ``monitor_failed``, ``saved_search`` (a saved search names its channel).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from patroli.config import lookup
from patroli.config.table import PATROLI_ALERTS

EVENTS = ("high_risk", "monitor_failed", "saved_search", "missed_run")
KINDS = ("webhook", "email", "telegram")


class AlertConfigError(ValueError):
    """The alert configuration cannot be used; the message names the file, entry and reason."""


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    name: str
    kind: str
    events: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)

    def secret(self, key: str) -> str:
        """A secret named by ``<key>_env`` in the configuration, read from the environment."""
        variable = self.options.get(f"{key}_env", "")
        value = (lookup(variable) or "") if variable else ""
        if variable and not value:
            raise AlertConfigError(
                f"channel {self.name!r}: environment variable {variable} is not set"
            )
        return value


@dataclass(frozen=True, slots=True)
class AlertConfig:
    threshold: float = 0.9
    web_url: str = ""
    channels: tuple[ChannelConfig, ...] = ()

    def for_event(self, event: str) -> list[ChannelConfig]:
        return [c for c in self.channels if event in c.events]

    def channel(self, name: str) -> ChannelConfig | None:
        return next((c for c in self.channels if c.name == name), None)


_REQUIRED = {
    "webhook": ("url",),
    "email": ("smtp_host", "from", "to"),
    "telegram": ("token_env", "chat_id"),
}


def load_alert_config(path: Path | str | None = None) -> AlertConfig:
    """Read the alert configuration; no file (and no ``PATROLI_ALERTS``) means no alerts."""
    path = path or PATROLI_ALERTS.from_env()
    if not path:
        return AlertConfig()
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise AlertConfigError(
            f"{path}: cannot read the alert configuration ({exc.strerror})"
        ) from exc
    except yaml.YAMLError as exc:
        raise AlertConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise AlertConfigError(f"{path}: expected a mapping with 'channels:'")
    channels = []
    for index, entry in enumerate(data.get("channels") or []):
        where = f"{path}: channels[{index}]"
        if not isinstance(entry, dict) or not entry.get("name"):
            raise AlertConfigError(f"{where}: each channel needs a name")
        kind = entry.get("kind")
        if kind not in KINDS:
            raise AlertConfigError(
                f"{where} ({entry['name']}): kind must be one of {', '.join(KINDS)}"
            )
        missing = [k for k in _REQUIRED[kind] if not entry.get(k)]
        if missing:
            raise AlertConfigError(f"{where} ({entry['name']}): missing {', '.join(missing)}")
        events = tuple(entry.get("events") or EVENTS)
        unknown = [e for e in events if e not in EVENTS]
        if unknown:
            raise AlertConfigError(
                f"{where} ({entry['name']}): unknown event(s) {', '.join(unknown)}"
            )
        options = {k: v for k, v in entry.items() if k not in ("name", "kind", "events")}
        channels.append(ChannelConfig(str(entry["name"]), kind, events, options))
    try:
        threshold = float(data.get("threshold", 0.9))
    except (TypeError, ValueError) as exc:
        raise AlertConfigError(f"{path}: threshold must be a number between 0 and 1") from exc
    return AlertConfig(
        threshold=threshold,
        web_url=str(data.get("web_url", "")).rstrip("/"),
        channels=tuple(channels),
    )
