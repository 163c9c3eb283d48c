"""The command line as users call it: the classify contract, errors that say what to do."""

from __future__ import annotations

import json
from pathlib import Path

from patroli.storage import open_store
from tests.helpers.cli import run_patroli


def test_classify_adds_risk_flag_and_reasons_and_passes_fields_through(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    lines = [
        {
            "id": "a",
            "title": "LOKER KAMBOJA",
            "text": "Admin CS Phnom Penh gaji 1.500 USD, tanpa pengalaman, "
            "biaya proses 5 jt potong gaji, japri WA 0812-5551-2345",
            "batch": 7,
        },
        {
            "id": "b",
            "text": "Dicari kasir toko bangunan di Sleman, gaji UMR, lamaran ke Jl. Kaliurang 9",
        },
    ]
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    out = tmp_path / "out.jsonl"
    result = run_patroli("classify", str(source), "-o", str(out))
    assert result.returncode == 0, result.stderr
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert [s["id"] for s in scored] == ["a", "b"]
    assert scored[0]["batch"] == 7
    for s in scored:
        assert 0.0 <= s["risk"] <= 1.0
        assert isinstance(s["flagged"], bool)
        assert isinstance(s["reasons"], list)
        assert all(isinstance(r, str) for r in s["reasons"])
    assert scored[0]["flagged"]
    assert not scored[1]["flagged"]
    assert scored[0]["reasons"]


def test_classify_reports_malformed_lines_by_number_and_fails(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"text": "loker admin Kamboja"}\nnot json\n{"title": "no text"}\n[1, 2]\n{"text": "ok lagi"}\n'
    )
    out = tmp_path / "out.jsonl"
    result = run_patroli("classify", str(source), "-o", str(out))
    assert result.returncode == 1
    assert f"{source}:2: not valid JSON" in result.stderr
    assert f'{source}:3: missing "text"' in result.stderr
    assert f"{source}:4: expected a JSON object" in result.stderr
    assert len(out.read_text().splitlines()) == 2


def test_unknown_source_and_bad_query_say_what_to_do(store_url: str) -> None:
    open_store(store_url).close()  # an empty store: reading commands never create one
    result = run_patroli("crawl", "no_such_source", "--store", store_url)
    assert result.returncode == 1
    assert "no source named 'no_such_source'" in result.stderr
    assert "patroli sources list" in result.stderr
    result = run_patroli("search", "colour:red", "--store", store_url)
    assert result.returncode == 1
    assert "unknown filter colour" in result.stderr


def test_show_and_review_of_a_missing_ad(store_url: str) -> None:
    open_store(store_url).close()
    for args in (["show", "deadbeef"], ["review", "deadbeef", "--decision", "dismissed"]):
        result = run_patroli(*args, "--store", store_url)
        assert result.returncode == 1
        assert "no ad with id deadbeef" in result.stderr


def test_registry_with_a_broken_entry(tmp_path: Path) -> None:
    registry = tmp_path / "sources.yaml"
    registry.write_text(
        "sources:\n"
        "  - name: good_feed\n    kind: feed\n    start_urls: ['http://127.0.0.1:9/feed.xml']\n"
        "  - name: broken\n    kind: classifieds\n    start_urls: ['ftp://example.test/x']\n"
    )
    result = run_patroli("sources", "check", "--sources", str(registry))
    assert result.returncode == 1
    assert f"{registry}:7: source 'broken': start_urls.0" in result.stdout
    assert f"{registry}:5: source 'broken': 'selectors' is a required property" in result.stdout
    assert "1 valid source(s)" in result.stdout


def test_demo_command_runs_the_whole_patrol_and_exits(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'demo.db'}"
    result = run_patroli("demo", "--no-serve", "--port", "0", "--store", store)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "demo_telegram" in result.stdout
    assert "demo_fb_group" in result.stdout
    search = run_patroli("search", "flagged:true", "--json", "--store", store)
    assert json.loads(search.stdout)["total"] > 100
