"""Train the risk model on labelled ads and write a versioned model with its card.

The held-out ``test`` split is only ever scored once, after everything is fixed: the threshold is
chosen on out-of-fold predictions over the ``train`` split (5-fold, seeded), never on test data.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from classifiers.datasets import LabelledAd, data_hash
from classifiers.evaluate import binary_metrics, calibration_table, threshold_for_recall
from classifiers.model import DEFAULT_PARAMS, build_pipeline
from classifiers.registry import read_card, save_model

logger = logging.getLogger(__name__)

TARGET_RECALL = 0.95
SEED = 20261128


@dataclass(slots=True)
class TrainingResult:
    pipeline: Pipeline
    card: dict[str, Any]
    path: Path | None = None


def split_train_test(ads: Sequence[LabelledAd]) -> tuple[list[LabelledAd], list[LabelledAd]]:
    train = [a for a in ads if a.split != "test"]
    test = [a for a in ads if a.split == "test"]
    return train, test


def out_of_fold_risk(texts: Sequence[str], labels: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Risk of each training ad from a model fit on the other folds (5-fold, seeded)."""
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    return np.asarray(
        cross_val_predict(build_pipeline(**params), list(texts), labels, cv=folds, method="predict_proba")[:, 1]
    )


def select_params(
    ads: Sequence[LabelledAd], grid: Sequence[dict[str, Any]], target_recall: float = TARGET_RECALL
) -> list[dict[str, Any]]:
    """Score each parameter set by out-of-fold PR-AUC on the *train* split only; best first.

    The held-out test split is never read here: choosing on it would make its numbers optimistic.
    """
    train, _ = split_train_test(ads)
    texts = [a.model_text for a in train]
    labels = np.asarray([a.label for a in train])
    results = []
    with threadpool_limits(limits=1):
        for candidate in grid:
            params = {**DEFAULT_PARAMS, **candidate}
            oof = out_of_fold_risk(texts, labels, params)
            threshold = threshold_for_recall(labels, oof, target_recall)
            metrics = binary_metrics(labels, oof, threshold)
            results.append({"params": candidate, "pr_auc": metrics["pr_auc"],
                            "precision_at_recall": metrics["precision"], "brier": metrics["brier"]})  # fmt: skip
            logger.info("params %s: out-of-fold PR-AUC %.4f", candidate, metrics["pr_auc"])
    return sorted(results, key=lambda r: (-r["pr_auc"], r["brier"]))


def train_model(
    ads: Sequence[LabelledAd],
    *,
    params: dict[str, Any] | None = None,
    version: str | None = None,
    data_source: str = "",
    target_recall: float = TARGET_RECALL,
) -> TrainingResult:
    """Fit on the train split, choose the threshold out-of-fold, report on the test split."""
    params = {**DEFAULT_PARAMS, **(params or {})}
    train, test = split_train_test(ads)
    if len({a.label for a in train}) < 2:
        raise ValueError("the training split needs both labels")
    x_train = [a.model_text for a in train]
    y_train = np.asarray([a.label for a in train])

    # One BLAS thread: the problem is small, and threads fighting over two cores made each
    # LogisticRegression fit 15x slower (and the result depends on nothing but the data).
    with threadpool_limits(limits=1):
        oof = out_of_fold_risk(x_train, y_train, params)
        threshold = threshold_for_recall(y_train, oof, target_recall)
        logger.info(
            "threshold %.4f chosen for recall >= %.2f on out-of-fold predictions",
            threshold,
            target_recall,
        )
        pipeline = build_pipeline(**params).fit(x_train, y_train)
    metrics: dict[str, Any] = {"validation": binary_metrics(y_train, oof, threshold)}
    if test:
        test_risk = pipeline.predict_proba([a.model_text for a in test])[:, 1]
        y_test = [a.label for a in test]
        metrics["test"] = binary_metrics(y_test, test_risk, threshold)
        metrics["test_calibration"] = calibration_table(y_test, test_risk)

    now = datetime.now(UTC)
    card = {
        "version": version or now.strftime("%Y%m%d-%H%M%S"),
        "created_at": now.isoformat(),
        "threshold": threshold,
        "threshold_rule": f"highest threshold with recall >= {target_recall} on 5-fold out-of-fold "
        "predictions over the train split",
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        "training_data": {
            "source": data_source,
            "sha256": data_hash(ads),
            "n_train": len(train),
            "n_test": len(test),
            "positives_train": int(y_train.sum()),
        },
        "metrics": metrics,
    }
    return TrainingResult(pipeline=pipeline, card=card)


def train_and_save(ads: Sequence[LabelledAd], models_dir: Path, **kwargs: Any) -> TrainingResult:
    result = train_model(ads, **kwargs)
    result.path = save_model(result.pipeline, result.card, models_dir)
    result.card = read_card(result.path)  # with the file hash and library versions save_model added
    return result
