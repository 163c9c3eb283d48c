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
from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold
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


def out_of_fold_risk(
    texts: Sequence[str],
    labels: np.ndarray,
    params: dict[str, Any],
    groups: Sequence[str] | None = None,
    genres: Sequence[str] | None = None,
) -> np.ndarray:
    """Risk of each training ad from a model fit on the other folds: 5 stratified, seeded folds, or
    with ``groups`` one fold per group (e.g. destination corridors: a whole corridor unseen).

    The risk is the model's raw one (before the strong-flag floor, which needs the threshold)."""
    if groups is None:
        folds: Any = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    else:
        folds = LeaveOneGroupOut()
    # A loop, not ``cross_val_predict``: it would re-encode labels -1/0/1 as classes 0/1/2.
    texts = list(texts)
    labels = np.asarray(labels)
    risk = np.zeros(labels.size)
    for fit_rows, held in folds.split(texts, labels, groups):
        fit_texts = [texts[i] for i in fit_rows]
        fit_params = (
            {"classifier__genre": [genres[i] for i in fit_rows]} if genres is not None else {}
        )
        model = build_pipeline(**params).fit(fit_texts, labels[fit_rows], **fit_params)
        risk[held] = model.predict_proba([texts[i] for i in held])[:, 1]
    return risk


def strong_flag_counts(texts: Sequence[str]) -> np.ndarray:
    """How many of ``STRONG_FLAGS`` fire on each text."""
    from classifiers.indicators import detect
    from classifiers.stacked import GATE_FLAG, STRONG_FLAGS
    from classifiers.textnorm import normalize_text

    counts = []
    for text in texts:
        codes = {i.code for i in detect(normalize_text(text))}
        counts.append(len(codes & set(STRONG_FLAGS)) if GATE_FLAG in codes else 0)
    return np.asarray(counts)


def threshold_with_floor(
    labels: np.ndarray, risks: np.ndarray, strong: np.ndarray, target: float = TARGET_RECALL
) -> float:
    """The highest threshold at which recall is still >= ``target``, counting every illegal offer
    with two strong red flags as caught (the floor raises it to the threshold, whatever it is)."""
    positives = labels == 1
    caught = positives & (strong >= 2)
    rest = np.sort(risks[positives & ~caught])[::-1]
    needed = int(np.ceil(target * positives.sum())) - int(caught.sum())
    if rest.size == 0:
        return 0.5
    # Never above the best-scored remaining offer: the floor alone must not carry the recall.
    return float(rest[min(max(needed, 1), rest.size) - 1])


def fit_platt(raw: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(a, b) of ``sigmoid(a * logit(raw) + b)`` fitted to ``labels``: the combined risk's
    calibration on the training base rate (``a`` kept positive: it must stay monotone)."""
    from sklearn.linear_model import LogisticRegression

    z = _logit(raw).reshape(-1, 1)
    model = LogisticRegression(C=1e4, max_iter=1000).fit(z, labels)
    return max(1e-3, float(model.coef_[0, 0])), float(model.intercept_[0])


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.asarray(np.log(q / (1 - q)))


def select_params(
    ads: Sequence[LabelledAd],
    grid: Sequence[dict[str, Any]],
    target_recall: float = TARGET_RECALL,
    group_by: Any = None,
) -> list[dict[str, Any]]:
    """Score each parameter set by out-of-fold PR-AUC on the *train* split only; best first.

    ``group_by(ad)`` names each ad's group (e.g. its destination corridor): folds then leave out
    whole groups, which measures how the choice carries over to unseen corridors. The held-out
    test split is never read here: choosing on it would make its numbers optimistic.
    """
    train, _ = split_train_test(ads)
    texts = [a.model_text for a in train]
    labels = np.asarray([a.risk_label for a in train])
    genres = [a.genre for a in train]
    groups = [group_by(a) for a in train] if group_by else None
    known = labels >= 0
    results = []
    with threadpool_limits(limits=1):
        for candidate in grid:
            params = {**DEFAULT_PARAMS, **candidate}
            oof = out_of_fold_risk(texts, labels, params, groups, genres)[known]
            threshold = threshold_for_recall(labels[known], oof, target_recall)
            metrics = binary_metrics(labels[known], oof, threshold)
            results.append(
                {
                    "params": candidate,
                    "pr_auc": metrics["pr_auc"],
                    "precision_at_recall": metrics["precision"],
                    "brier": metrics["brier"],
                }
            )
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
    if len({a.risk_label for a in train} - {-1}) < 2:
        raise ValueError("the training split needs both labels")
    x_train = [a.model_text for a in train]
    y_train = np.asarray([a.risk_label for a in train])
    g_train = [a.genre for a in train]
    known = y_train >= 0

    # One BLAS thread: the problem is small, and threads fighting over two cores made each
    # LogisticRegression fit 15x slower (and the result depends on nothing but the data).
    with threadpool_limits(limits=1):
        oof_raw = out_of_fold_risk(x_train, y_train, params, genres=g_train)[known]
        strong = strong_flag_counts(x_train)[known]
        if not params.get("floor", True):
            strong = np.zeros_like(strong)  # no floor: every offer must reach the threshold itself
        labels = y_train[known]
        raw_threshold = threshold_with_floor(labels, oof_raw, strong, target_recall)
        logger.info(
            "threshold %.4f (raw) chosen for recall >= %.2f on out-of-fold predictions",
            raw_threshold,
            target_recall,
        )
        pipeline = build_pipeline(**params).fit(x_train, y_train, classifier__genre=g_train)
    classifier = pipeline[-1]
    classifier.floor_ = raw_threshold if params.get("floor", True) else None
    oof_raw = np.where(strong >= 2, np.maximum(oof_raw, raw_threshold), oof_raw)
    a, b = fit_platt(oof_raw, labels)
    base_rate = float(labels.mean())
    calibration = {"a": a, "b": b, "base_rate": base_rate}
    threshold = float(_sigmoid(a * _logit(np.asarray([raw_threshold]))[0] + b))
    oof = _sigmoid(a * _logit(oof_raw) + b)
    metrics: dict[str, Any] = {"validation": binary_metrics(labels, oof, threshold)}
    if test:
        test_known = [t for t in test if t.risk_label >= 0]
        test_raw = pipeline.predict_proba([t.model_text for t in test_known])[:, 1]
        test_risk = _sigmoid(a * _logit(test_raw) + b)
        y_test = [t.risk_label for t in test_known]
        metrics["test"] = binary_metrics(y_test, test_risk, threshold)
        metrics["test_calibration"] = calibration_table(y_test, test_risk)

    now = datetime.now(UTC)
    card = {
        "version": version or now.strftime("%Y%m%d-%H%M%S"),
        "created_at": now.isoformat(),
        "threshold": threshold,
        "threshold_raw": raw_threshold,
        "threshold_rule": f"highest threshold with recall >= {target_recall} on 5-fold out-of-fold "
        "predictions over the train split (illegal offers with two strong red flags count as caught: "
        "the floor raises them to the threshold)",
        "calibration": calibration,
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        "training_data": {
            "source": data_source,
            "sha256": data_hash(ads),
            "n_train": len(train),
            "n_test": len(test),
            "positives_train": int((y_train == 1).sum()),
            "n_real_train": sum(1 for a in train if a.data == "real"),
            "n_reviews": sum(1 for a in train if a.category == "review"),
        },
        "metrics": metrics,
    }
    return TrainingResult(pipeline=pipeline, card=card)


def _sigmoid(z: Any) -> Any:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def train_and_save(ads: Sequence[LabelledAd], models_dir: Path, **kwargs: Any) -> TrainingResult:
    result = train_model(ads, **kwargs)
    result.path = save_model(result.pipeline, result.card, models_dir)
    result.card = read_card(result.path)  # with the file hash and library versions save_model added
    return result


# --- learning from analysts' decisions ----------------------------------------------------------


def reviews_as_labelled(records: Sequence[dict[str, Any]]) -> list[LabelledAd]:
    """Store records with a final decision as training ads: confirmed = 1, dismissed = 0."""
    ads = []
    for record in records:
        status = record.get("status")
        if status not in ("confirmed", "dismissed") or not (record.get("text") or "").strip():
            continue
        countries = record.get("countries") or []
        ads.append(
            LabelledAd(
                id=f"review:{record['ad_id']}",
                text=str(record["text"]),
                title=str(record.get("title") or ""),
                label=1 if status == "confirmed" else 0,
                category="review",
                split="train",
                data="review",
                source=str(record.get("source") or ""),
                destination=str(countries[0]) if len(countries) == 1 else "",
                note=f"analyst decision {status} at {record.get('reviewed_at')}",
            )
        )
    return ads


@dataclass(slots=True)
class RetrainOutcome:
    result: TrainingResult
    before: dict[str, Any]  # the current model on the held-out test split
    after: dict[str, Any]  # the new model on the same split
    activated: bool
    verdict: str
    reviews_used: int
    reviews_skipped: int


def not_worse(
    before: dict[str, Any], after: dict[str, Any], target_recall: float = TARGET_RECALL
) -> tuple[bool, str]:
    """The rule for activating a retrained model, on the fixed held-out split.

    Worse means: a lower PR-AUC (the ranking analysts see got worse), or a recall at the new
    model's own threshold below ``min(recall before, target_recall)``.
    """
    if after.get("pr_auc", 0.0) < before.get("pr_auc", 0.0) - 1e-9:
        return False, f"PR-AUC fell from {before['pr_auc']:.4f} to {after.get('pr_auc', 0.0):.4f}"
    floor = min(before.get("recall", 0.0), target_recall)
    if after["recall"] < floor - 1e-9:
        return False, f"recall {after['recall']:.4f} is below {floor:.4f}"
    return True, (
        f"PR-AUC {before.get('pr_auc', 0.0):.4f} -> {after.get('pr_auc', 0.0):.4f}, "
        f"recall {before.get('recall', 0.0):.4f} -> {after['recall']:.4f}"
    )


def usable_reviews(
    held_out: Sequence[LabelledAd], reviews: Sequence[LabelledAd]
) -> list[LabelledAd]:
    """Reviews fit for training: not the same (normalized) text as a held-out ad, nor repeated."""
    from classifiers.textnorm import normalize_text

    blocked = {normalize_text(a.model_text) for a in held_out}
    usable = []
    for ad in reviews:
        key = normalize_text(ad.model_text)
        if key not in blocked:
            blocked.add(key)
            usable.append(ad)
    return usable


def retrain_with_reviews(
    seed: Sequence[LabelledAd],
    reviews: Sequence[LabelledAd],
    current: Any,  # classifiers.scoring.RiskModel (imported lazily: scoring imports this package)
    models_dir: Path,
    *,
    version: str | None = None,
    data_source: str = "",
) -> RetrainOutcome:
    """Train on the seed corpus plus analysts' decisions; compare with ``current`` on the held-out
    split. The new model is always saved (for the record) but only ``activated`` when not worse.

    A reviewed ad whose normalized text equals a held-out ad's is left out of training, so that the
    comparison stays honest.
    """
    _, test = split_train_test(seed)
    if not test:
        raise ValueError(
            "the corpus has no held-out test split: a retrained model cannot be compared"
        )
    usable = usable_reviews(test, reviews)
    result = train_and_save([*seed, *usable], models_dir, version=version, data_source=data_source)
    # The same texts the new model's card reports on: held-out texts that describe an offer.
    known = [a for a in test if a.risk_label >= 0]
    scores = current.score([a.model_text for a in known])
    test_risks = [0.0 if s.risk is None else s.risk for s in scores]
    before = binary_metrics([a.risk_label for a in known], test_risks, current.threshold)
    after = result.card["metrics"]["test"]
    activated, verdict = not_worse(before, after)
    return RetrainOutcome(
        result=result,
        before=before,
        after=after,
        activated=activated,
        verdict=verdict,
        reviews_used=len(usable),
        reviews_skipped=len(reviews) - len(usable),
    )
