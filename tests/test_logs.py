"""Logs: every line redacted (phones, e-mails, passwords, tokens, cookies), and with
PATROLI_LOG_FORMAT=json one JSON object per line naming time, level, component, run and source.
The crawl's JSON log over a real patrol is checked in test_metrics.py."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from patroli import logs

SECRETS = [
    ("WA 0812-5551-2345 atau +62 813 5557 0112", ["0812", "5551", "813 5557"]),
    ("hubungi 6281255512345 / (021) 555-1234", ["6281255512345", "555-1234"]),
    ("wa.me/6281255512345?text=halo", ["6281255512345"]),
    ("kirim CV ke rekrut.kh@gmail.com", ["rekrut.kh", "gmail"]),
    ("login failed password=hunter2-hunter2", ["hunter2"]),
    ("{'password': 'abc def', 'name': 'ana'}", ["abc def"]),
    ('{"token": "s3cr3t", "csrf_token": "c5rf"}', ["s3cr3t", "c5rf"]),
    ("Authorization: Bearer ptk_0a1b2c3d4e5f6a7b_SeCrEt-xyz", ["SeCrEt", "0a1b2c3d4e5f6a7b_"]),
    ("used ptk_0a1b2c3d4e5f6a7b_SeCrEtSeCrEt-xyz123 from cron", ["SeCrEt"]),
    ("Cookie: patroli_session=eyJ1IjoiYW5hIn0.abc; lang=id", ["eyJ1Ijo", "lang=id"]),
    ("Set-Cookie: patroli_session=eyJ1IjoiYW5hIn0.abc; HttpOnly", ["eyJ1Ijo"]),
    ("engine at https://elastic:changeme@127.0.0.1:9200/", ["changeme", "elastic:"]),
    ("X-Api-Key: abcdef123456", ["abcdef123456"]),
]
KEPT = [
    "2026-11-20 08:00:00 demo_telegram: run 0a1b2c3d4e5f6a7b recorded (ok)",
    "stored 40 ads in 1.5 s; 12 flagged; gaji Rp 1.500.000; 127.0.0.1:8000",
    "GET /api/v1/ads -> 200 (ivan, 12 ms)",
]


@pytest.mark.parametrize(("line", "gone"), SECRETS)
def test_secrets_and_personal_data_are_redacted(line: str, gone: list[str]) -> None:
    redacted = logs.redact(line)
    for part in gone:
        assert part not in redacted, redacted
    assert logs.REDACTED in redacted


@pytest.mark.parametrize("line", KEPT)
def test_ordinary_lines_are_left_alone(line: str) -> None:
    assert logs.redact(line) == line


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logs.configure("scheduler", logging.INFO, fmt="json", stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_json_lines_carry_the_fields_and_redact_arguments_and_exceptions(
    captured: io.StringIO,
) -> None:
    log = logging.getLogger("patroli.patrol.scheduler")
    log.info(
        "%s: run started for %s",
        "demo_telegram",
        "rekrut@example.org",
        extra={"run_id": "0a1b2c3d4e5f6a7b", "source": "demo_telegram"},
    )
    try:
        raise ValueError("bad phone 0812-5551-2345")
    except ValueError:
        log.exception("crawl of %s failed", "demo_pasarloka")
    first, second = (json.loads(line) for line in captured.getvalue().splitlines())
    assert set(first) == {"time", "level", "component", "logger", "run_id", "source", "message"}
    assert (first["level"], first["component"], first["logger"]) == (
        "info",
        "scheduler",
        "patroli.patrol.scheduler",
    )
    assert (first["run_id"], first["source"]) == ("0a1b2c3d4e5f6a7b", "demo_telegram")
    assert first["message"] == "demo_telegram: run started for [redacted]"
    assert first["time"].endswith("+00:00")
    assert second["level"] == "error"
    assert "ValueError: bad phone [redacted]" in second["exception"]
    assert "0812" not in captured.getvalue()


def test_a_bound_crawl_names_the_records_of_its_spider(captured: io.StringIO) -> None:
    class Spider:
        name = "telegram_channel"

    one, two = Spider(), Spider()
    logs.bind(one, source="demo_telegram", run_id="r-one")
    logging.getLogger("scrapy.core.engine").info("only crawl of the process")
    logs.bind(two, source="demo_pasarloka", run_id="r-two")
    logging.getLogger("scrapy.core.engine").info("opened", extra={"spider": two})
    logging.getLogger("scrapy.core.engine").info("no spider, two crawls: no guess")
    logs.unbind(one)
    logs.unbind(two)
    entries = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert [(e["source"], e["run_id"]) for e in entries] == [
        ("demo_telegram", "r-one"),
        ("demo_pasarloka", "r-two"),
        (None, None),
    ]


def test_the_record_factory_redacts_before_any_handler_sees_a_record() -> None:
    logs.install_redaction()
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Keep()
    log = logging.getLogger("tests.logs.factory")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        log.info("japri %s", "0812-5551-2345")
    finally:
        log.removeHandler(handler)
    assert seen == ["japri [redacted]"]


def test_text_format_is_redacted_too() -> None:
    stream = io.StringIO()
    handler = logs.make_handler("web", "text", stream)
    record = logging.LogRecord(
        "patroli.web", logging.WARNING, __file__, 1, "password=%s", ("x" * 12,), None
    )
    handler.handle(record)
    assert "xxxxxxxxxxxx" not in stream.getvalue()
    assert "[patroli.web] WARNING: password=[redacted]" in stream.getvalue()
