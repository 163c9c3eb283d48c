"""One demo patrol (once for the module), watched as operators watch it: its runs pushed to a
Pushgateway stand-in on loopback, its log as JSON lines, and the web app's /metrics scraped after
it, showing the patrol's numbers. Plus the Prometheus files in deploy/ (parsed, and checked with
promtool)."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from patroli.demosites.process import DemoSitesProcess
from patroli.storage import open_store
from patroli.web.tokens import create_token
from tests.helpers.cli import ROOT, crawl
from tests.helpers.webkit import LiveServer, web_settings

pytestmark = pytest.mark.crawl
SOURCES = ("demo_telegram", "demo_pasarloka")
DEPLOY = ROOT / "deploy" / "prometheus"


class Pushgateway:
    """Stands in for a Prometheus Pushgateway: records each PUT of a group (path and body)."""

    def __init__(self) -> None:
        self.pushes: list[tuple[str, str, str]] = []  # (method, path, body)
        pushes = self.pushes

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                pushes.append((self.command, self.path, body.decode()))
                self.send_response(200)
                self.end_headers()

            do_POST = do_PUT

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(sample name, sorted labels) -> value, parsed by prometheus_client's own parser."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture(scope="module")
def patrol(
    demo_sites: DemoSitesProcess, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("metrics")
    url = f"sqlite:///{directory / 'patroli.db'}"
    gateway = Pushgateway()
    try:
        result, runs = crawl(
            demo_sites.url,
            url,
            *SOURCES,
            extra=("-v",),
            env={"PATROLI_LOG_FORMAT": "json", "PATROLI_METRICS_PUSHGATEWAY": gateway.url},
        )
    finally:
        gateway.close()
    assert result.returncode == 0, result.stderr[-3000:]
    return {"url": url, "runs": runs, "pushes": gateway.pushes, "stderr": result.stderr}


def test_each_run_is_pushed_to_the_gateway_with_its_numbers(patrol: dict[str, Any]) -> None:
    by_source = {run["source"]: run for run in patrol["runs"]}
    pushed = {path: body for method, path, body in patrol["pushes"] if method == "PUT"}
    assert set(pushed) == {f"/metrics/job/patroli_crawl/source/{s}" for s in SOURCES}
    for source in SOURCES:
        values = samples(pushed[f"/metrics/job/patroli_crawl/source/{source}"])
        run = by_source[source]
        assert values[("patroli_crawl_pages", ())] == run["pages"] > 0
        assert values[("patroli_crawl_ads", ())] == run["items"] > 0
        assert values[("patroli_crawl_new_ads", ())] == run["new"]
        assert values[("patroli_crawl_flagged_ads", ())] == run["flagged"]
        assert values[("patroli_crawl_degraded_pages", ())] == run["degraded_pages"]
        assert values[("patroli_crawl_status", (("status", "ok"),))] == 1
        assert values[("patroli_crawl_duration_seconds", ())] > 0


def test_the_web_apps_metrics_show_the_patrol(patrol: dict[str, Any]) -> None:
    from patroli.web.accounts import create_user

    with open_store(patrol["url"]) as store:
        create_user(store, "adi", "admin", "admin-kata-sandi-3", actor="tests", replace=True)
        token, _ = create_token(store, store, "adi", "prometheus", actor="tests", scope="metrics")
        flagged_new = store.count("flagged:true status:new")
        first = store.search("flagged:true status:new", limit=1).hits[0]
        store.review(first["ad_id"], "confirmed", reviewer="ana")
        total = store.count()
        with LiveServer(store, web_settings()) as live:
            response = httpx.get(
                live.url + "/metrics", headers={"Authorization": f"Bearer {token}"}
            )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values = samples(response.text)
    runs = {run["source"]: run for run in patrol["runs"]}
    for source in SOURCES:
        label = (("source", source),)
        assert values[("patroli_last_run_pages", label)] == runs[source]["pages"]
        assert values[("patroli_last_run_ads", label)] == runs[source]["items"]
        assert values[("patroli_last_run_new_ads", label)] == runs[source]["new"]
        assert values[("patroli_last_run_flagged_ads", label)] == runs[source]["flagged"]
        assert values[("patroli_last_run_errors", label)] == runs[source]["errors"]
        assert values[("patroli_last_run_status", (("source", source), ("status", "ok")))] == 1
    assert sum(v for (name, _), v in values.items() if name == "patroli_ads") == total
    assert values[("patroli_queue_size", ())] == flagged_new - 1
    assert values[("patroli_queue_oldest_age_seconds", ())] >= 0
    assert values[("patroli_decisions_total", (("decision", "confirmed"),))] == 1
    assert values[("patroli_decisions_last_24h", (("decision", "confirmed"),))] == 1
    assert values[("patroli_model_threshold", ())] > 0
    from classifiers.registry import active_version

    assert values[("patroli_model_info", (("version", active_version()),))] == 1
    assert values[("patroli_store_up", ())] == 1
    assert values[("patroli_store_request_seconds_count", (("operation", "get_token"),))] >= 1


def test_the_crawl_logs_json_lines_naming_run_and_source_without_personal_data(
    patrol: dict[str, Any],
) -> None:
    lines = [line for line in patrol["stderr"].splitlines() if line.startswith("{")]
    assert lines, patrol["stderr"][-2000:]
    entries = [json.loads(line) for line in lines]
    for entry in entries:
        assert set(entry) >= {"time", "level", "component", "logger", "run_id", "source", "message"}
    recorded = [
        e for e in entries if "recorded" in e["message"] and e["logger"].startswith("crawler")
    ]
    runs = {run["source"]: run["run_id"] for run in patrol["runs"]}
    assert {(e["source"], e["run_id"]) for e in recorded} == set(runs.items())
    spider_lines = [e for e in entries if e["logger"].startswith("scrapy") and e["source"]]
    assert {e["source"] for e in spider_lines} <= set(SOURCES)
    assert spider_lines
    text = "\n".join(lines)
    for leak in ("+62812", "0812-555", "@gmail.com", "ptk_", "patroli_session="):
        assert leak not in text


def test_the_scrape_config_and_alert_rules_parse_and_name_only_real_metrics(
    patrol: dict[str, Any],
) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["patroli_web"]["authorization"]["credentials_file"]
    assert jobs["patroli_web"]["metrics_path"] == "/metrics"
    assert jobs["pushgateway"]["honor_labels"] is True
    assert "patroli-rules.yml" in config["rule_files"]
    rules = yaml.safe_load((DEPLOY / "patroli-rules.yml").read_text())
    known = _exported_names(patrol)
    for group in rules["groups"]:
        for rule in group["rules"]:
            named = _metric_names(rule["expr"])
            assert named, rule
            assert named <= known, (rule.get("alert") or rule.get("record"), named - known)


def _exported_names(patrol: dict[str, Any]) -> set[str]:
    names = {
        s.name
        for _, _, body in patrol["pushes"]
        for f in text_string_to_metric_families(body)
        for s in f.samples
    }
    from patroli.web.metrics import AppMetrics

    with open_store(patrol["url"]) as store:
        metrics = AppMetrics()
        metrics.watch(store)
        metrics.store_seconds.labels("count").observe(0.01)
        metrics.api_requests.labels("GET /api/v1/me", "200").inc()
        names |= {
            s.name
            for f in text_string_to_metric_families(metrics.render().decode())
            for s in f.samples
        }
    return names


def _metric_names(expr: str) -> set[str]:
    import re

    return set(re.findall(r"\b(patroli_[a-z0-9_]+)\b", expr))


@pytest.mark.promtool
def test_promtool_checks_the_config_and_the_rules(tmp_path: Path) -> None:
    """Debian's promtool (package prometheus; `make test` installs it)."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `apt-get install prometheus` (make test-packages does)"
    for name in ("prometheus.yml", "patroli-rules.yml"):
        shutil.copy(DEPLOY / name, tmp_path / name)
    (tmp_path / "patroli-metrics.token").write_text("ptk_placeholder")
    rules = subprocess.run(
        [promtool, "check", "rules", str(tmp_path / "patroli-rules.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = subprocess.run(
        [promtool, "check", "config", "--syntax-only", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert config.returncode == 0, config.stdout + config.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", str(DEPLOY / "patroli-rules.test.yml")],
        capture_output=True,
        text=True,
        check=False,
        cwd=DEPLOY,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
