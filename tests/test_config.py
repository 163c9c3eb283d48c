"""The settings table (patroli.config): one typed parser, and every reader gets its values through it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from patroli.config import (
    BY_NAME,
    SETTINGS,
    Setting,
    SettingError,
    check_environment,
    scrapy_settings,
)
from patroli.config.setting import Int
from patroli.config.table import (
    PATROLI_CLASSIFY_ENABLED,
    PATROLI_DEMO_URL,
    PATROLI_ENGINE_TIMEOUT,
    PATROLI_ENGINE_VERIFY_CERTS,
    PATROLI_LANGUAGE,
    PATROLI_LOG_LEVEL,
    PATROLI_MONITOR_DROP_RATIO,
    PATROLI_SPOOL_RETRY_SECONDS,
    PATROLI_STORE_URL,
    PATROLI_WORKERS,
)

ROOT = Path(__file__).resolve().parent.parent
SCRAPY = Path(sys.executable).parent / "scrapy"


def _clean_env(**values: str) -> dict[str, str]:
    """The process environment without any PATROLI_* variable, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATROLI_")}
    return env | values


# --- the parser ------------------------------------------------------------------------------

BAD_VALUES = [
    (PATROLI_WORKERS, "many", "a whole number, at least 0"),  # int
    (PATROLI_WORKERS, "2.5", "a whole number, at least 0"),
    (PATROLI_WORKERS, "-1", "a whole number, at least 0"),
    (PATROLI_ENGINE_TIMEOUT, "soon", "a number, at least 0.001"),  # float
    (PATROLI_ENGINE_TIMEOUT, "0", "a number, at least 0.001"),
    (PATROLI_SPOOL_RETRY_SECONDS, "soon", "a number, at least 0"),
    (PATROLI_SPOOL_RETRY_SECONDS, "nan", "a number, at least 0"),
    (PATROLI_SPOOL_RETRY_SECONDS, "-5", "a number, at least 0"),
    (PATROLI_MONITOR_DROP_RATIO, "1.5", "a number from 0 to 1"),
    (PATROLI_ENGINE_VERIFY_CERTS, "maybe", "true or false"),  # bool
    (PATROLI_CLASSIFY_ENABLED, "maybe", "true or false"),
    (PATROLI_LANGUAGE, "fr", "one of id, en"),  # enum
    (PATROLI_LOG_LEVEL, "loud", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    (PATROLI_STORE_URL, "mysql://db/patroli", "a store URL"),  # URL-ish
    (PATROLI_STORE_URL, "var/patroli", "a store URL"),
    (PATROLI_STORE_URL, "sqlite://", "a store URL"),
    (PATROLI_DEMO_URL, "127.0.0.1:8765", "an http(s)://host:port URL"),
]


@pytest.mark.parametrize(("setting", "raw", "expected"), [b for b in BAD_VALUES if b[0].env])
def test_a_bad_environment_value_is_refused_naming_the_variable(
    setting: Setting[Any], raw: str, expected: str
) -> None:
    with pytest.raises(SettingError) as failure:
        setting.from_env({setting.env: raw})
    assert str(failure.value).startswith(f"{setting.env}={raw!r} is not valid: expected {expected}")


@pytest.mark.parametrize(("setting", "raw", "expected"), [b for b in BAD_VALUES if b[0].scrapy])
def test_a_bad_scrapy_setting_is_refused_naming_the_setting(
    setting: Setting[Any], raw: str, expected: str
) -> None:
    with pytest.raises(SettingError, match=f"^{setting.name}=.* is not valid: expected {expected}"):
        setting.from_settings(Settings({setting.name: raw}))


def test_good_values_parse_and_unset_or_empty_means_the_default() -> None:
    assert PATROLI_WORKERS.from_env({"PATROLI_WORKERS": " 3 "}) == 3
    assert PATROLI_WORKERS.from_env({"PATROLI_WORKERS": ""}) == max(1, (os.cpu_count() or 2) - 1)
    assert PATROLI_ENGINE_VERIFY_CERTS.from_env({"PATROLI_ENGINE_VERIFY_CERTS": "Off"}) is False
    assert PATROLI_LOG_LEVEL.from_env({"PATROLI_LOG_LEVEL": "debug"}) == "DEBUG"
    assert PATROLI_STORE_URL.from_env({}) == "sqlite:///var/patroli.db"
    assert PATROLI_STORE_URL.from_env({"PATROLI_STORE": "/srv/ads.sqlite3"}) == "/srv/ads.sqlite3"
    assert PATROLI_SPOOL_RETRY_SECONDS.from_settings(Settings({})) == 30.0
    assert PATROLI_SPOOL_RETRY_SECONDS.from_settings({"PATROLI_SPOOL_RETRY_SECONDS": 2}) == 2.0


def test_a_secret_value_is_never_shown_in_the_error() -> None:
    pin = Setting("EXAMPLE_PIN", Int(), 0, "", "Tests", env="EXAMPLE_PIN", secret=True)
    with pytest.raises(SettingError) as failure:
        pin.from_env({"EXAMPLE_PIN": "hunter2-pin"})
    assert "hunter2" not in str(failure.value)
    assert str(failure.value) == "EXAMPLE_PIN is not valid: expected a whole number"


def test_check_environment_lists_every_bad_variable_at_once() -> None:
    with pytest.raises(SettingError) as failure:
        check_environment(
            {
                "PATROLI_WORKERS": "x",
                "PATROLI_WEB_LANGUAGE": "fr",
                "PATROLI_STORE": "sqlite:///ok.db",
            }
        )
    assert "PATROLI_WORKERS='x'" in str(failure.value)
    assert "PATROLI_WEB_LANGUAGE='fr'" in str(failure.value)
    check_environment({"PATROLI_WORKERS": "2"})  # nothing wrong: no error


def test_the_table_is_well_formed() -> None:
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    assert all(
        n.startswith("PATROLI_") and s.help and s.group
        for n, s in zip(names, SETTINGS, strict=True)
    )
    assert all(s.env or s.scrapy for s in SETTINGS), "a setting nobody can set"
    for setting in SETTINGS:  # every default is a value of its own type
        assert setting.parse(setting.default_value()) == setting.default_value(), setting.name


def test_the_table_imports_nothing_else_of_patroli() -> None:
    code = "\n".join(
        p.read_text(encoding="utf-8") for p in (ROOT / "patroli" / "config").glob("*.py")
    )
    imported = {
        line.split()[1]
        for line in code.splitlines()
        if line.startswith(("from patroli", "import patroli"))
    }
    assert {name.split(".")[1] for name in imported if "." in name} <= {"config"}


# --- readers: Scrapy's settings module ---------------------------------------------------------


def _scrapy_get(name: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRAPY), "settings", "--get", name],
        cwd=ROOT,
        env=_clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_scrapy_settings_from_the_repository_root_come_from_the_table() -> None:
    assert _scrapy_get("PATROLI_STORE_BATCH_SIZE").stdout.strip() == "500"
    assert _scrapy_get("PATROLI_WORKERS", PATROLI_WORKERS="3").stdout.strip() == "3"
    assert _scrapy_get(
        "PATROLI_STORE_URL", PATROLI_STORE="sqlite:///elsewhere.db"
    ).stdout.strip() == ("sqlite:///elsewhere.db")
    assert (
        _scrapy_get("USER_AGENT", PATROLI_USER_AGENT="patroli-test/1").stdout.strip()
        == "patroli-test/1"
    )
    assert _scrapy_get("LOG_LEVEL", PATROLI_LOG_LEVEL="warning").stdout.strip() == "WARNING"


def test_scrapy_stops_on_a_bad_environment_value_with_a_message_not_a_traceback() -> None:
    result = _scrapy_get("PATROLI_WORKERS", PATROLI_WORKERS="many")
    assert result.returncode != 0
    assert "PATROLI_WORKERS='many' is not valid: expected a whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_settings_module_holds_every_scrapy_setting_of_the_table() -> None:
    import crawler.settings

    module = {k: v for k, v in vars(crawler.settings).items() if k.startswith("PATROLI_")}
    table = scrapy_settings({})
    assert sorted(module) == sorted(table)
    # Values read from the environment depend on it at import time (the subprocess tests cover them).
    assert {k: v for k, v in module.items() if not BY_NAME[k].env} == {
        k: v for k, v in table.items() if not BY_NAME[k].env
    }


# --- readers: every from_crawler ---------------------------------------------------------------


def test_every_component_reads_its_scrapy_settings_through_the_table(tmp_path: Path) -> None:
    from crawler.incremental import IncrementalMiddleware
    from crawler.middlewares import BackoffRetryMiddleware
    from crawler.monitors import MonitorSettings
    from pipelines.classify import ClassifyPipeline
    from pipelines.extract import ExtractEntitiesPipeline
    from pipelines.normalize import NormalizeTextPipeline
    from pipelines.store import StorePipeline

    store = f"sqlite:///{tmp_path / 'ads.db'}"
    crawler = get_crawler(
        settings_dict={
            "PATROLI_STORE_URL": store,
            "PATROLI_STORE_BATCH_SIZE": "7",
            "PATROLI_SPOOL_DIR": str(tmp_path / "spool"),
            "PATROLI_SPOOL_RETRY_SECONDS": "2",
            "PATROLI_RETRY_BACKOFF_BASE": "0.5",
            "PATROLI_RETRY_BACKOFF_MAX": "4",
            "PATROLI_TEXT_MAX_CHARS": "99",
            "PATROLI_WORKERS": "0",
            "PATROLI_EXTRACT_BATCH_SIZE": "5",
            "PATROLI_CLASSIFY_BATCH_SIZE": "6",
            "PATROLI_BATCH_DELAY": "0.25",
            "PATROLI_LANGUAGE": "en",
            "PATROLI_MODEL_PATH": str(tmp_path / "model"),
            "PATROLI_MONITOR_DROP_RATIO": "0.3",
            "PATROLI_MONITOR_MAX_ERROR_RATE": "0.1",
            "PATROLI_MONITOR_HISTORY": "3",
        }
    )
    stored = StorePipeline.from_crawler(crawler)
    assert (stored.store_url, stored.batch_size, stored.spool_dir, stored.spool_retry_seconds) == (
        store,
        7,
        str(tmp_path / "spool"),
        2.0,
    )
    retry = BackoffRetryMiddleware.from_crawler(crawler)
    assert (retry.base, retry.cap) == (0.5, 4.0)
    assert NormalizeTextPipeline.from_crawler(crawler).max_chars == 99
    extract = ExtractEntitiesPipeline.from_crawler(crawler)
    assert (extract.workers, extract.batch_size, extract.batch_delay) == (0, 5, 0.25)
    classify = ClassifyPipeline.from_crawler(crawler)
    assert (
        classify.workers,
        classify.batch_size,
        classify.batch_delay,
        classify.language,
        classify.model_path,
    ) == (0, 6, 0.25, "en", str(tmp_path / "model"))
    assert IncrementalMiddleware.from_crawler(crawler).store_url == store
    assert MonitorSettings.from_settings(crawler.settings) == MonitorSettings(0.3, 0.1, 3)


def test_switches_off_and_bad_values_of_components() -> None:
    from crawler.incremental import IncrementalMiddleware
    from pipelines.classify import ClassifyPipeline
    from pipelines.normalize import NormalizeTextPipeline

    off = get_crawler(
        settings_dict={"PATROLI_CLASSIFY_ENABLED": "false", "PATROLI_INCREMENTAL_ENABLED": "0"}
    )
    with pytest.raises(NotConfigured, match="PATROLI_CLASSIFY_ENABLED"):
        ClassifyPipeline.from_crawler(off)
    with pytest.raises(NotConfigured, match="PATROLI_INCREMENTAL_ENABLED"):
        IncrementalMiddleware.from_crawler(off)
    bad = get_crawler(settings_dict={"PATROLI_TEXT_MAX_CHARS": "lots"})
    with pytest.raises(SettingError, match="PATROLI_TEXT_MAX_CHARS='lots' is not valid"):
        NormalizeTextPipeline.from_crawler(bad)


def test_a_spider_reads_its_snapshot_limit_and_its_registry_from_scrapy_settings(
    tmp_path: Path,
) -> None:
    from crawler.spiders.feed import FeedSpider

    registry = tmp_path / "sources.yaml"
    registry.write_text(
        "sources:\n  - name: only_here\n    kind: feed\n    start_urls: ['http://127.0.0.1:9/feed.xml']\n",
        encoding="utf-8",
    )
    crawler = get_crawler(
        FeedSpider, {"PATROLI_SOURCES": str(registry), "PATROLI_SNAPSHOT_MAX_BYTES": "1234"}
    )
    spider = FeedSpider.from_crawler(crawler, source="only_here")
    assert spider.source.name == "only_here"
    assert spider.snapshot_limit == 1234


# --- readers: the environment ------------------------------------------------------------------


def test_environment_readers_get_their_values_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from classifiers.registry import default_model_dir
    from crawler.keywords import load_keywords
    from crawler.sources import load_registry
    from patroli.alerts.config import load_alert_config
    from patroli.patrol.locks import default_lock_dir
    from patroli.storage.spool import spool_dir_for

    keywords = tmp_path / "keywords.yaml"
    keywords.write_text("destinations: [kamboja, myanmar]\n", encoding="utf-8")
    registry = tmp_path / "sources.yaml"
    registry.write_text("sources: []\n", encoding="utf-8")
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text("threshold: 0.75\nchannels: []\n", encoding="utf-8")
    monkeypatch.setenv("PATROLI_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("PATROLI_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setenv("PATROLI_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("PATROLI_KEYWORDS", str(keywords))
    monkeypatch.setenv("PATROLI_SOURCES", str(registry))
    monkeypatch.setenv("PATROLI_ALERTS", str(alerts))
    assert default_model_dir() == tmp_path / "models"
    assert default_lock_dir() == tmp_path / "locks"
    assert spool_dir_for("sqlite:///x.db").parent == tmp_path / "spool"
    assert load_keywords() == ["kamboja", "myanmar"]
    assert load_registry().path == registry
    assert load_alert_config().threshold == 0.75
    monkeypatch.delenv("PATROLI_ALERTS")
    assert load_alert_config().channels == ()  # no file, no alerts


def test_the_engine_client_reads_its_environment_through_the_table() -> None:
    from patroli.storage import StoreUnavailable
    from patroli.storage.engine.client import parse_engine_url

    env = {
        "PATROLI_ENGINE_TIMEOUT": "2.5",
        "PATROLI_ENGINE_RETRIES": "0",
        "PATROLI_ENGINE_VERIFY_CERTS": "no",
        "PATROLI_INDEX_PREFIX": "night",
        "PATROLI_BULK_MAX_ACTIONS": "10",
        "PATROLI_BULK_MAX_BYTES": "2048",
        "PATROLI_ENGINE_API_KEY": "a2V5OnNlY3JldA==",
    }
    settings = parse_engine_url("https://127.0.0.1:9200", env)
    assert (settings.timeout, settings.retries, settings.verify_certs, settings.prefix) == (
        2.5,
        0,
        False,
        "night",
    )
    assert (settings.bulk_max_actions, settings.bulk_max_bytes, settings.api_key) == (
        10,
        2048,
        "a2V5OnNlY3JldA==",
    )
    assert parse_engine_url("http://127.0.0.1:9200", {}).timeout == 30.0
    with pytest.raises(StoreUnavailable, match="PATROLI_ENGINE_RETRIES='three' is not valid"):
        parse_engine_url("http://127.0.0.1:9200", {"PATROLI_ENGINE_RETRIES": "three"})


def test_a_registry_variable_that_is_a_setting_must_be_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crawler.sources import load_registry

    registry = tmp_path / "sources.yaml"
    registry.write_text(
        "sources:\n  - name: demo\n    kind: feed\n    start_urls: ['${PATROLI_DEMO_URL}/feed.xml']\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PATROLI_DEMO_URL", "http://127.0.0.1:9999")
    assert load_registry(registry).get("demo").start_urls[0] == "http://127.0.0.1:9999/feed.xml"
    monkeypatch.setenv("PATROLI_DEMO_URL", "localhost:9999")
    with pytest.raises(SettingError, match="PATROLI_DEMO_URL='localhost:9999' is not valid"):
        load_registry(registry)


# --- readers: the CLI --------------------------------------------------------------------------


def _setting_options() -> list[tuple[list[str], str, Setting[Any]]]:
    """(command path, parameter name, setting) of every option whose default is a setting."""
    from patroli.cli import cli

    found = []

    def walk(command: click.Command, path: list[str]) -> None:
        for param in command.params:
            setting = getattr(param.default, "__self__", None)
            if isinstance(setting, Setting):
                found.append((path, str(param.name), setting))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(cli, [])
    return found


def test_every_cli_option_backed_by_a_setting_takes_its_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from patroli.cli import cli

    options = _setting_options()
    assert {s.env for _, _, s in options} == {
        "PATROLI_STORE",
        "PATROLI_SOURCES",
        "PATROLI_JOBS_DIR",
        "PATROLI_MODEL_DIR",
        "PATROLI_MODEL_PATH",
        "PATROLI_INDEX_PREFIX",
        "PATROLI_API_TOKEN_DAYS",
        "PATROLI_EVIDENCE_DIR",
        "PATROLI_EVIDENCE_RETENTION_DAYS",
        "PATROLI_TAKEDOWN_AGENCY",
        "PATROLI_RECHECK_TIMEOUT",
        "PATROLI_TEXT_MAX_CHARS",
        "PATROLI_FRONTIER",
    }
    (tmp_path / "models").mkdir()
    registry = tmp_path / "sources.yaml"
    registry.write_text("sources: []\n", encoding="utf-8")
    values = {
        "PATROLI_STORE": f"sqlite:///{tmp_path / 'env.db'}",
        "PATROLI_SOURCES": str(registry),
        "PATROLI_JOBS_DIR": str(tmp_path / "jobs"),
        "PATROLI_MODEL_DIR": str(tmp_path / "models"),
        "PATROLI_MODEL_PATH": str(tmp_path / "model"),
        "PATROLI_INDEX_PREFIX": "kasus",
        "PATROLI_API_TOKEN_DAYS": "30",
        "PATROLI_EVIDENCE_DIR": str(tmp_path / "evidence"),
        "PATROLI_EVIDENCE_RETENTION_DAYS": "30",
        "PATROLI_TAKEDOWN_AGENCY": "Badan Uji",
        "PATROLI_RECHECK_TIMEOUT": "7.5",
        "PATROLI_TEXT_MAX_CHARS": "777",
        "PATROLI_FRONTIER": "redis://127.0.0.1:1/0",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for path, name, setting in options:
        command: Any = cli
        for part in path:
            command = command.commands[part]
        param = next(p for p in command.params if p.name == name)
        assert str(param.get_default(click.Context(command))) == values[setting.env], (path, name)
    with cli.commands["crawl"].make_context("crawl", []) as ctx:
        assert ctx.params["jobs_dir"] == str(tmp_path / "jobs")
    # And through real commands: each opens what its variable names (a reading command never
    # creates a store, so it succeeds only on the one the variable names).
    from patroli.storage import open_store

    runner = CliRunner()
    assert runner.invoke(cli, ["runs", "--json"]).exit_code != 0  # no store there yet
    open_store(values["PATROLI_STORE"]).close()
    runs = runner.invoke(cli, ["runs", "--json"])
    assert runs.exit_code == 0, runs.output
    listed = runner.invoke(cli, ["sources", "list"])
    assert str(registry) in listed.output.replace("\n", "")


def test_a_bad_environment_value_stops_any_command_with_an_error_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from patroli.cli import cli

    monkeypatch.setenv("PATROLI_WEB_LOGIN_RATE", "lots")
    result = CliRunner().invoke(cli, ["sources", "list"])
    assert result.exit_code == 1
    assert (
        "error: PATROLI_WEB_LOGIN_RATE='lots' is not valid: expected a whole number"
        in result.output
    )
    assert isinstance(result.exception, SystemExit)  # fail() exits; nothing else escaped
