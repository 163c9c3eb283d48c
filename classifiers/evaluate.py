"""Metrics for a risk model on labelled ads: the numbers analysts and steering need to trust it."""

from __future__ import annotations

import html
import itertools
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    precision_recall_curve,
    precision_score,
    recall_score,
)


def threshold_for_recall(labels: ArrayLike, risks: ArrayLike, target: float = 0.95) -> float:
    """The highest threshold whose recall is still >= ``target`` (most precision for that recall)."""
    y = np.asarray(labels)
    p = np.asarray(risks, dtype=float)
    positives = np.sort(p[y == 1])[::-1]
    if positives.size == 0:
        raise ValueError("no positive examples: cannot choose a threshold for recall")
    needed = int(np.ceil(target * positives.size))
    return float(positives[needed - 1])


def binary_metrics(labels: ArrayLike, risks: ArrayLike, threshold: float) -> dict[str, Any]:
    y = np.asarray(labels, dtype=int)
    p = np.asarray(risks, dtype=float)
    predicted = (p >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    precision = precision_score(y, predicted, zero_division=0)
    recall = recall_score(y, predicted, zero_division=0)
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    metrics: dict[str, Any] = {
        "n": int(y.size),
        "positives": int(y.sum()),
        "threshold": float(threshold),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "confusion": {"tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn)},
        "mean_risk": float(p.mean()) if p.size else 0.0,
        "observed_rate": float(y.mean()) if y.size else 0.0,
    }
    if 0 < y.sum() < y.size:
        metrics["pr_auc"] = float(average_precision_score(y, p))
        metrics["brier"] = float(brier_score_loss(y, p))
        precisions, recalls, _ = precision_recall_curve(y, p)
        ok = precisions[recalls >= 0.95]
        metrics["precision_at_recall_95"] = float(ok.max()) if ok.size else 0.0
    order = np.argsort(-p, kind="stable")
    for k in (10, 50, 100):
        if y.size >= k:
            metrics[f"precision_at_{k}"] = float(y[order[:k]].mean())
    return metrics


def calibration_table(labels: ArrayLike, risks: ArrayLike, bins: int = 5) -> list[dict[str, float]]:
    """Mean predicted risk vs observed rate per risk bin (a calibrated model has them close)."""
    y = np.asarray(labels, dtype=float)
    p = np.asarray(risks, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    table = []
    for lo, hi in itertools.pairwise(edges):
        mask = (p >= lo) & ((p < hi) if hi < 1 else (p <= hi))
        if mask.any():
            table.append(
                {
                    "from": float(lo),
                    "to": float(hi),
                    "n": int(mask.sum()),
                    "mean_risk": float(p[mask].mean()),
                    "observed": float(y[mask].mean()),
                }
            )
    return table


def breakdown(
    labels: ArrayLike, risks: ArrayLike, groups: Sequence[str], threshold: float
) -> dict[str, dict[str, Any]]:
    """Per-group counts, recall and precision (per source style, per destination, ...)."""
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, group in enumerate(groups):
        by_group[group or "-"].append(i)
    y = np.asarray(labels, dtype=int)
    p = np.asarray(risks, dtype=float)
    out = {}
    for group, idx in sorted(by_group.items()):
        gy, gp = y[idx], p[idx] >= threshold
        tp = int((gy & gp).sum())
        out[group] = {
            "n": len(idx),
            "positives": int(gy.sum()),
            "flagged": int(gp.sum()),
            "recall": (tp / gy.sum()) if gy.sum() else None,
            "precision": (tp / gp.sum()) if gp.sum() else None,
        }
    return out


# --- evaluation reports (``patroli evaluate``) ------------------------------------------------

CORRIDORS = {
    "scam_hub": {"KH", "MM", "LA", "PH", "TH", "VN"},
    "middle_east": {"SA", "AE", "QA", "KW", "OM", "BH", "JO", "EG", "IQ", "SY", "LB", "YE", "TR"},
    "malaysia_brunei_singapore": {"MY", "BN", "SG"},
    "east_asia": {"JP", "KR", "TW", "HK", "CN"},
    "europe": {"DE", "PL", "NL", "GB", "ES", "PT", "GR", "CZ", "HR", "MT", "FR", "IT"},
    "oceania_americas": {"AU", "NZ", "FJ", "US", "CA", "PE"},
}


def corridor(destination: str) -> str:
    """The destination corridor of an ISO country code ("" -> "none")."""
    if not destination:
        return "none"
    for name, countries in CORRIDORS.items():
        if destination in countries:
            return name
    return "domestic" if destination == "ID" else "other"


@dataclass(slots=True)
class EvaluationReport:
    model_version: str
    threshold: float
    data: str
    metrics: dict[str, Any]
    calibration: list[dict[str, float]]
    by_source: dict[str, dict[str, Any]]
    by_destination: dict[str, dict[str, Any]]
    by_corridor: dict[str, dict[str, Any]]
    files: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "threshold": self.threshold,
            "data": self.data,
            "metrics": self.metrics,
            "calibration": self.calibration,
            "by_source": self.by_source,
            "by_destination": self.by_destination,
            "by_corridor": self.by_corridor,
            "files": self.files,
        }


def evaluate_scores(
    labels: Sequence[int],
    risks: Sequence[float],
    *,
    threshold: float,
    sources: Sequence[str],
    destinations: Sequence[str],
    model_version: str,
    data: str,
) -> EvaluationReport:
    """Every figure of the report for scored, labelled ads (no files written)."""
    metrics = binary_metrics(labels, risks, threshold)
    return EvaluationReport(
        model_version=model_version,
        threshold=threshold,
        data=data,
        metrics=metrics,
        calibration=calibration_table(labels, risks),
        by_source=breakdown(labels, risks, sources, threshold),
        by_destination=breakdown(labels, risks, destinations, threshold),
        by_corridor=breakdown(labels, risks, [corridor(d) for d in destinations], threshold),
    )


def plot_pr_curve(
    labels: ArrayLike, risks: ArrayLike, threshold: float, path: Path, title: str
) -> Path:
    """Precision-recall curve with the operating point marked, as a PNG (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")  # no display, no GUI toolkit: reports are made on servers
    from matplotlib.figure import Figure

    y = np.asarray(labels, dtype=int)
    p = np.asarray(risks, dtype=float)
    figure = Figure(figsize=(6, 4.5), dpi=100)
    axes = figure.subplots()
    if 0 < y.sum() < y.size:
        precision, recall, _ = precision_recall_curve(y, p)
        axes.step(
            recall,
            precision,
            where="post",
            label=f"PR curve (AP {average_precision_score(y, p):.3f})",
        )
        flagged = p >= threshold
        tp = int((flagged & (y == 1)).sum())
        op_recall = tp / max(1, int(y.sum()))
        op_precision = tp / max(1, int(flagged.sum()))
        axes.plot(
            [op_recall],
            [op_precision],
            "o",
            color="crimson",
            label=f"threshold {threshold:.3f}: P {op_precision:.3f} / R {op_recall:.3f}",
        )
    else:
        axes.text(0.5, 0.5, "needs both labels", ha="center")
    axes.set_xlabel("recall")
    axes.set_ylabel("precision")
    axes.set_xlim(0, 1.01)
    axes.set_ylim(0, 1.01)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def report_markdown(report: EvaluationReport) -> str:
    m = report.metrics
    c = m["confusion"]
    lines = [
        f"# Evaluation of model {report.model_version}",
        "",
        (
            f"Data: `{report.data}` — {m['n']} ads, {m['positives']} labelled illegal. "
            f"Threshold {report.threshold:.4f} (stored with the model)."
        ),
        "",
        "| metric | value |",
        "| --- | --- |",
    ]
    for key in (
        "precision",
        "recall",
        "f1",
        "pr_auc",
        "precision_at_recall_95",
        "brier",
        "precision_at_10",
        "precision_at_50",
        "precision_at_100",
        "mean_risk",
        "observed_rate",
    ):
        if key in m:
            lines.append(f"| {key} | {_fmt(m[key])} |")
    lines += [
        "",
        "## Confusion matrix (at the threshold)",
        "",
        "| | flagged | not flagged |",
        "| --- | --- | --- |",
        f"| illegal (1) | {c['tp']} (TP) | {c['fn']} (FN) |",
        f"| not illegal (0) | {c['fp']} (FP) | {c['tn']} (TN) |",
        "",
        "## Calibration (mean predicted risk vs. observed rate)",
        "",
        "| risk bin | n | mean risk | observed |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {b['from']:.1f}–{b['to']:.1f} | {b['n']} | {b['mean_risk']:.3f} | {b['observed']:.3f} |"
        for b in report.calibration
    ]
    for title, table in (
        ("source", report.by_source),
        ("destination corridor", report.by_corridor),
        ("destination", report.by_destination),
    ):
        lines += [
            "",
            f"## By {title}",
            "",
            "| group | n | positives | flagged | recall | precision |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {_md_escape(group)} | {g['n']} | {g['positives']} | {g['flagged']} | {_fmt(g['recall'])} | "
            f"{_fmt(g['precision'])} |"
            for group, g in table.items()
        ]
    if "pr_curve" in report.files:
        lines += [
            "",
            "## Precision-recall curve",
            "",
            f"![PR curve]({Path(report.files['pr_curve']).name})",
        ]
    return "\n".join(lines) + "\n"


def _md_escape(text: str) -> str:
    return html.escape(text).replace("|", "\\|")


def report_html(report: EvaluationReport) -> str:
    """The Markdown report's content as a standalone HTML page (every value escaped)."""
    m = report.metrics
    esc = html.escape

    def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
        head = "".join(f"<th>{esc(h)}</th>" for h in headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{esc(_fmt(v))}</td>" for v in row) + "</tr>" for row in rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    keys = [
        k
        for k in (
            "precision",
            "recall",
            "f1",
            "pr_auc",
            "precision_at_recall_95",
            "brier",
            "precision_at_10",
            "precision_at_50",
            "precision_at_100",
        )
        if k in m
    ]
    c = m["confusion"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Evaluation {esc(report.model_version)}</title>",
        (
            "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}table{border-collapse:collapse;"
            "margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}"
            "td:first-child,th:first-child{text-align:left}</style></head><body>"
        ),
        f"<h1>Evaluation of model {esc(report.model_version)}</h1>",
        (
            f"<p>Data: <code>{esc(report.data)}</code> — {m['n']} ads, {m['positives']} labelled illegal. "
            f"Threshold {report.threshold:.4f}.</p>"
        ),
        table(["metric", "value"], [(k, m[k]) for k in keys]),
        "<h2>Confusion matrix</h2>",
        table(
            ["", "flagged", "not flagged"],
            [("illegal (1)", c["tp"], c["fn"]), ("not illegal (0)", c["fp"], c["tn"])],
        ),
        "<h2>Calibration</h2>",
        table(
            ["risk bin", "n", "mean risk", "observed"],
            [
                (f"{b['from']:.1f}–{b['to']:.1f}", b["n"], b["mean_risk"], b["observed"])
                for b in report.calibration
            ],
        ),
    ]
    for title, groups in (
        ("source", report.by_source),
        ("destination corridor", report.by_corridor),
        ("destination", report.by_destination),
    ):
        parts.append(f"<h2>By {esc(title)}</h2>")
        parts.append(
            table(
                ["group", "n", "positives", "flagged", "recall", "precision"],
                [
                    (g, v["n"], v["positives"], v["flagged"], v["recall"], v["precision"])
                    for g, v in groups.items()
                ],
            )
        )
    if "pr_curve" in report.files:
        parts.append(
            f"<h2>Precision-recall curve</h2><img alt='PR curve' src='{esc(Path(report.files['pr_curve']).name)}'>"
        )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(
    report: EvaluationReport, labels: ArrayLike, risks: ArrayLike, out_dir: Path
) -> EvaluationReport:
    """Write ``pr_curve.png``, ``report.md``, ``report.html`` and ``metrics.json`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png = plot_pr_curve(
        labels, risks, report.threshold, out_dir / "pr_curve.png", f"model {report.model_version}"
    )
    report.files = {
        "pr_curve": str(png),
        "markdown": str(out_dir / "report.md"),
        "html": str(out_dir / "report.html"),
        "json": str(out_dir / "metrics.json"),
    }
    (out_dir / "report.md").write_text(report_markdown(report), encoding="utf-8")
    (out_dir / "report.html").write_text(report_html(report), encoding="utf-8")
    (out_dir / "metrics.json").write_text(
        json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return report
