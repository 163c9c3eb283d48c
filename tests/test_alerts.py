"""Alert channels against real local endpoints: SMTP, a webhook receiver, the Telegram Bot API stand-in."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from patroli.alerts.channels import Alert, deliver
from patroli.alerts.config import AlertConfigError, ChannelConfig, load_alert_config
from tests.helpers.receivers import HttpReceiver, smtp_server

ALERT = Alert(
    event="high_risk",
    title="2 iklan berisiko tinggi baru",
    lines=["0.99  Loker admin Kamboja"],
    links=["http://127.0.0.1:8000/ads/abc"],
    source="demo_telegram",
)


def test_webhook_gets_the_alert_as_json() -> None:
    with HttpReceiver() as hook:
        error = deliver(
            ChannelConfig("ops", "webhook", ("high_risk",), {"url": hook.url + "/hook"}), ALERT
        )
    assert error == ""
    ((path, payload),) = hook.requests
    assert path == "/hook"
    assert payload["event"] == "high_risk"
    assert payload["links"] == ["http://127.0.0.1:8000/ads/abc"]
    assert "Loker admin Kamboja" in payload["text"]


def test_email_arrives_over_smtp() -> None:
    with smtp_server() as (port, inbox):
        channel = ChannelConfig(
            "mail",
            "email",
            ("high_risk",),
            {
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "from": "patroli@example.test",
                "to": ["analis@example.test"],
            },
        )
        assert deliver(channel, ALERT) == ""
    (message,) = inbox
    assert message["Subject"] == "[patroli] 2 iklan berisiko tinggi baru"
    assert message["To"] == "analis@example.test"
    assert "http://127.0.0.1:8000/ads/abc" in message.get_payload()


def test_telegram_bot_api_send_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_BOT_TOKEN", "123:secret-token")
    with HttpReceiver() as api:
        channel = ChannelConfig(
            "inv",
            "telegram",
            ("saved_search",),
            {"token_env": "TEST_BOT_TOKEN", "chat_id": "-100555", "api_url": api.url},
        )
        assert deliver(channel, ALERT) == ""
    ((path, payload),) = api.requests
    assert path == "/bot123:secret-token/sendMessage"
    assert payload["chat_id"] == "-100555"
    assert payload["text"].startswith("2 iklan berisiko tinggi baru")


def test_failing_channel_is_retried_then_reported_without_leaking_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with HttpReceiver(fail_first=2) as hook:
        assert (
            deliver(
                ChannelConfig("ops", "webhook", ("high_risk",), {"url": hook.url}),
                ALERT,
                backoff=0.01,
            )
            == ""
        )
        assert len(hook.requests) == 1  # third attempt went through
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    monkeypatch.setenv("TEST_BOT_TOKEN", "123:secret-token")
    channel = ChannelConfig(
        "inv",
        "telegram",
        ("high_risk",),
        {"token_env": "TEST_BOT_TOKEN", "chat_id": "1", "api_url": f"http://127.0.0.1:{dead_port}"},
    )
    error = deliver(channel, ALERT, attempts=2, backoff=0.01)
    assert error.startswith("Telegram Bot API: unreachable")
    assert "secret-token" not in error


def test_alert_config_is_validated(tmp_path: Path) -> None:
    config = tmp_path / "alerts.yaml"
    config.write_text("channels:\n  - name: ops\n    kind: pager\n")
    with pytest.raises(AlertConfigError, match=r"channels\[0\] \(ops\): kind must be one of"):
        load_alert_config(config)
    config.write_text("channels:\n  - name: mail\n    kind: email\n    smtp_host: x\n")
    with pytest.raises(AlertConfigError, match="missing from, to"):
        load_alert_config(config)
    config.write_text(
        "threshold: 0.8\nweb_url: http://x/\nchannels:\n  - {name: ops, kind: webhook, url: 'http://h', events: [monitor_failed]}\n"
    )
    loaded = load_alert_config(config)
    assert (loaded.threshold, loaded.web_url) == (0.8, "http://x")
    assert [c.name for c in loaded.for_event("monitor_failed")] == ["ops"]
    assert loaded.for_event("high_risk") == []
