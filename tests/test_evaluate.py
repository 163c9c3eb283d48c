"""``patroli evaluate`` writes honest, escaped reports; ``patroli classify`` survives bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

from classifiers.datasets import load_corpus
from classifiers.scoring import RiskModel
from tests.helpers.cli import run_patroli


def test_evaluate_reports_metrics_breakdowns_and_plots(tmp_path: Path) -> None:
    test = [a for a in load_corpus() if a.split == "test"][:120]
    data = tmp_path / "eval.jsonl"
    lines = []
    for i, ad in enumerate(test):
        source = "<script>alert(1)</script>" if i == 0 else ad.style
        lines.append(
            json.dumps(
                {
                    "id": ad.id,
                    "title": ad.title,
                    "text": ad.text,
                    "label": ad.label,
                    "source": source,
                    "destination": ad.destination,
                }
            )
        )
    data.write_text("\n".join(lines) + "\n")
    out = tmp_path / "report"
    result = run_patroli("evaluate", "--data", str(data), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "PR-AUC" in result.stdout
    assert (out / "pr_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((out / "metrics.json").read_text())
    model = RiskModel.load()
    risks = [s.risk for s in model.score([a.model_text for a in test])]
    labels = [a.label for a in test]
    assert metrics["metrics"]["pr_auc"] == np.float64(average_precision_score(labels, risks)).item()
    confusion = metrics["metrics"]["confusion"]
    flagged = np.asarray(risks) >= model.threshold
    assert confusion["tp"] == int((flagged & (np.asarray(labels) == 1)).sum())
    assert sum(confusion.values()) == len(test)
    assert {"precision_at_10", "precision_at_50", "precision_at_100"} <= metrics["metrics"].keys()
    assert sum(g["n"] for g in metrics["by_source"].values()) == len(test)
    assert sum(g["n"] for g in metrics["by_destination"].values()) == len(test)
    assert "scam_hub" in metrics["by_corridor"]
    html = (out / "report.html").read_text()
    markdown = (out / "report.md").read_text()
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert "<script>alert" not in markdown
    assert "## Confusion matrix" in markdown
    assert "pr_curve.png" in markdown


def test_evaluate_names_the_bad_line(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text(
        '{"id": "a", "text": "x", "label": 1}\n{"id": "b", "text": "y", "label": "yes"}\n'
    )
    result = run_patroli("evaluate", "--data", str(data), "--out", str(tmp_path / "r"))
    assert result.returncode == 1
    assert f"{data}:2: field 'label' must be int" in result.stderr


def test_classify_skips_malformed_lines_and_scores_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    lines = [
        '{"id": 1, "text": "loker admin Kamboja gaji 1.500 USD tanpa pengalaman"}',
        '{"id": 2, "text": null}',
        '{"id": 3, "text": 42}',
        '{"id": 4, "text": "ok", "title": ["not", "a", "string"]}',
        '"just a string"',
        '{"id": 6, "text": "\\u0000\\u001b[2J <b>bold</b> 🇰🇭🇰🇭"}',
        '{"id": 7, "text": ""}',
        '{"id": 8, "text": "' + "kerja " * 20000 + '"}',
        "{truncated",
    ]
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    result = run_patroli("classify", str(source), "-o", str(out), "--language", "en")
    assert result.returncode == 1
    for number in (2, 3):
        assert f'{source}:{number}: missing "text"' in result.stderr
    assert f'{source}:4: "title" must be a string' in result.stderr
    assert f"{source}:5: expected a JSON object" in result.stderr
    assert f"{source}:9: not valid JSON" in result.stderr
    assert "5 line(s) failed" in result.stderr
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert [s["id"] for s in scored] == [1, 6, 7, 8]
    assert all(0.0 <= s["risk"] <= 1.0 and isinstance(s["reasons"], list) for s in scored)
    assert scored[0]["flagged"]
    assert any("scam hub" in r for r in scored[0]["reasons"])
