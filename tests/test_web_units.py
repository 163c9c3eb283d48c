"""Web app parts without a server: catalogues, safe rendering and cues, settings, `patroli users`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.indicators import CONTEXT_CODES, INDICATORS, detect
from classifiers.textnorm import normalize_text
from patroli.config import SettingError
from patroli.storage import open_store
from patroli.storage.base import MARK_END, MARK_START
from patroli.web.catalog_check import all_messages, missing
from patroli.web.highlight import INDICATOR_CUES, cue_for, render_highlight, render_with_cues
from patroli.web.i18n import catalogue, translator
from patroli.web.settings import WebSettings, check_secret

SEED = Path(__file__).resolve().parent.parent / "classifiers" / "data" / "seed"


@pytest.mark.parametrize("language", ["id", "en"])
def test_every_message_is_in_the_catalogue(language: str) -> None:
    assert len(all_messages()) > 150
    assert missing(language) == []


def test_indonesian_is_the_default_and_really_translated() -> None:
    messages = all_messages()
    indonesian = catalogue("id")
    same = [m for m in messages if indonesian[m] == m and any(c.isalpha() for c in m)]
    # Only proper names and shared words may stay as they are.
    assert set(same) <= {
        "Model",
        "Id",
        "Recall",
        "Status",
        "admin",
        "email",
        "status",
        "telegram",
        "Platform",
        "aduankonten",
    }
    assert translator("id")("Review queue") == "Antrean tinjauan"
    assert translator("en")("%(n)s ads", n=3) == "3 ads"
    assert WebSettings(secret_key="x" * 8, demo=True).language == "id"


def test_search_highlight_escapes_before_marking() -> None:
    hostile = f"<script>alert(1)</script> kerja {MARK_START}Kamboja{MARK_END} <img src=x onerror=alert(2)>"
    html = str(render_highlight(hostile))
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html
    assert "<mark>Kamboja</mark>" in html
    assert str(render_highlight(f"{MARK_START}tanpa penutup")).endswith("</mark>")


def test_cues_mark_the_words_behind_each_reason_and_escape_the_rest() -> None:
    text = 'Kerja <b>PRT</b> di Riyadh pakai visa ziarah, biaya proses 5 jt potong gaji "japri"'
    codes = [
        "indicator:moratorium_domestic",
        "indicator:visit_visa_work",
        "indicator:salary_deduction",
        "term:potong_gaji|japri",
    ]
    html, found = render_with_cues(text, codes, "id")
    assert "&lt;b&gt;" in str(html)
    assert "<b>" not in str(html)
    assert ">visa ziarah</mark>" in str(html)
    assert ">Riyadh</mark>" in str(html)
    assert ">potong gaji</mark>" in str(html)
    assert found >= {
        "indicator:moratorium_domestic",
        "indicator:visit_visa_work",
        "indicator:salary_deduction",
    }
    assert 'title="Bekerja dengan visa kunjungan' in str(html)


def test_every_reason_indicator_has_a_cue() -> None:
    reasons = {i.code for i in INDICATORS} - CONTEXT_CODES  # context, never shown as a reason
    assert reasons - {"no_licence"} <= set(INDICATOR_CUES)  # no_licence marks the overseas terms
    assert cue_for("indicator:no_licence") is not None
    assert cue_for("indicator:no_such_thing") is None
    assert cue_for("term:tok_money_usd|flag_kh").pattern.search("gaji USD 1.200 🇰🇭")  # type: ignore[union-attr]


def test_cues_are_found_where_the_indicators_fire_in_the_seed_corpus() -> None:
    fired = hit = 0
    for path in SEED.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            raw = f"{record.get('title') or ''}\n{record['text']}"
            for indicator in detect(normalize_text(raw)):
                if indicator.code in CONTEXT_CODES:
                    continue
                fired += 1
                cue = cue_for(f"indicator:{indicator.code}")
                hit += bool(cue and cue.pattern.search(raw))
    assert fired > 1000
    assert hit / fired >= 0.95, f"{hit}/{fired}"


@pytest.mark.parametrize(
    "secret", ["", "short", "changethis" * 4, "a" * 40, "my-secret-key-for-production-0123456789"]
)
def test_unsafe_secrets_are_refused(secret: str) -> None:
    with pytest.raises(SettingError, match="PATROLI_SECRET_KEY"):
        check_secret(secret)
    with pytest.raises(SettingError):
        WebSettings.from_env({"PATROLI_SECRET_KEY": secret})


def test_settings_from_the_environment() -> None:
    settings = WebSettings.from_env(
        {
            "PATROLI_SECRET_KEY": "Zq8-vLr2Xw9TnKp4Yb7Hd1Mc6Fs3Gj5A",
            "PATROLI_WEB_LANGUAGE": "en",
            "PATROLI_WEB_LOGIN_MAX_FAILURES": "3",
            "PATROLI_WEB_COOKIE_SECURE": "true",
        }
    )
    assert (settings.language, settings.login_max_failures, settings.cookie_secure) == (
        "en",
        3,
        True,
    )
    with pytest.raises(SettingError, match="PATROLI_WEB_SESSION_MINUTES"):
        WebSettings.from_env(
            {
                "PATROLI_SECRET_KEY": "Zq8-vLr2Xw9TnKp4Yb7Hd1Mc6Fs3Gj5A",
                "PATROLI_WEB_SESSION_MINUTES": "x",
            }
        )
    assert WebSettings.for_demo().demo


def test_users_command_adds_lists_and_disables(tmp_path: Path) -> None:
    from tests.helpers.cli import run_patroli

    store_url = f"sqlite:///{tmp_path / 'users.db'}"
    added = run_patroli("users", "add", "rina", "--role", "investigator", "--store", store_url)
    assert added.returncode == 0, added.stderr
    password = added.stdout.split("shown only now):", 1)[1].split()[0]
    with open_store(store_url) as store:
        user = store.get_user("rina")
        assert user is not None
        assert user["role"] == "investigator"
        assert user["password_hash"].startswith("$argon2id$")
        assert password not in user["password_hash"]
    again = run_patroli("users", "add", "rina", "--role", "admin", "--store", store_url)
    assert again.returncode == 1
    assert "exists already" in again.stderr
    short = run_patroli(
        "users",
        "add",
        "tono",
        "--role",
        "analyst",
        "--password-stdin",
        "--store",
        store_url,
        input_text="pendek\n",
    )
    assert short.returncode == 1
    assert "12 characters" in short.stderr
    listed = run_patroli("users", "list", "--store", store_url)
    assert "rina" in listed.stdout
    assert "investigator" in listed.stdout
    disabled = run_patroli("users", "disable", "rina", "--store", store_url)
    assert disabled.returncode == 0
    with open_store(store_url) as store:
        assert store.get_user("rina")["active"] is False  # type: ignore[index]
        assert store.audit_log(limit=1)[0]["action"] == "user_disable"


def test_every_web_setting_of_the_table_arrives_from_the_environment() -> None:
    """Each setting of the table's "Web app" group reaches ``WebSettings`` (and no other does)."""
    from patroli.config import SETTINGS
    from patroli.config.table import WEB

    signing_key = "Zq8-vLr2Xw9TnKp4Yb7Hd1Mc6Fs3Gj5A"
    changed = {
        "PATROLI_SECRET_KEY": signing_key,
        "PATROLI_WEB_COOKIE_SECURE": "false",
        "PATROLI_WEB_SESSION_MINUTES": "61",
        "PATROLI_WEB_LANGUAGE": "EN",
        "PATROLI_WEB_LOGIN_MAX_FAILURES": "9",
        "PATROLI_WEB_LOCKOUT_MINUTES": "7",
        "PATROLI_WEB_LOGIN_RATE": "3",
        "PATROLI_WEB_EXPORT_MAX_ROWS": "42",
        "PATROLI_API_RATE": "17",
        "PATROLI_API_TOKEN_DAYS": "0",
        "PATROLI_WEB_ALLOWED_HOSTS": "patroli.example.org, *.Polda.example",
    }
    assert set(changed) == {s.env for s in SETTINGS if s.group == WEB.title}
    default = WebSettings.from_env({"PATROLI_SECRET_KEY": signing_key})
    read = WebSettings.from_env(changed)
    assert (
        read.cookie_secure,
        read.session_minutes,
        read.language,
        read.login_max_failures,
        read.lockout_minutes,
        read.login_rate_attempts,
        read.export_max_rows,
        read.api_rate_per_minute,
        read.api_token_days,
    ) == (False, 61, "en", 9, 7, 3, 42, 17, 0)
    assert (
        default.cookie_secure,
        default.session_minutes,
        default.export_max_rows,
        default.api_rate_per_minute,
        default.api_token_days,
    ) == (True, 480, 10_000, 120, 365)
    assert read.allowed_hosts == ("patroli.example.org", "*.polda.example")
    assert default.allowed_hosts == ("localhost", "127.0.0.1", "[::1]")
    for bad in (" , ", "evil.example/x", "http://evil.example", "*evil.example", "a b"):
        with pytest.raises(SettingError, match="PATROLI_WEB_ALLOWED_HOSTS"):
            WebSettings.from_env({**changed, "PATROLI_WEB_ALLOWED_HOSTS": bad})


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("PATROLI_WEB_COOKIE_SECURE", "sometimes", "true or false"),
        ("PATROLI_WEB_LOGIN_RATE", "0", "a whole number, at least 1"),
        ("PATROLI_WEB_LANGUAGE", "fr", "one of id, en"),
    ],
)
def test_a_bad_web_setting_is_refused_by_name(name: str, value: str, expected: str) -> None:
    env = {"PATROLI_SECRET_KEY": "Zq8-vLr2Xw9TnKp4Yb7Hd1Mc6Fs3Gj5A", name: value}
    with pytest.raises(SettingError, match=f"^{name}='{value}' is not valid: expected {expected}"):
        WebSettings.from_env(env)
