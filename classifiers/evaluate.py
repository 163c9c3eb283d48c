"""Metrics for a risk model on labelled ads: the numbers analysts and steering need to trust it."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
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
            table.append({"from": float(lo), "to": float(hi), "n": int(mask.sum()),
                          "mean_risk": float(p[mask].mean()), "observed": float(y[mask].mean())})  # fmt: skip
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
