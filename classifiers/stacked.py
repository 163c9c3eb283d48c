"""Two questions, two answers: what a text *is* (``genre``) and whether the offer it describes is
illegal (``risk``), with official red flags that can only raise the risk.

The last step of the risk model's pipeline. It reads the feature union's columns (word and
character TF-IDF, then one column per indicator) and holds three linear parts:

- ``text_``: the word/character model (logistic regression, Platt-calibrated on cross-validated
  scores), fitted **without** the indicator columns, on every text with a known offer;
- ``card_``: a scorecard over the indicators alone, a logistic regression whose weights are bound
  to the indicator's direction (``MonotoneScorecard``): a risk-raising red flag has a weight >= 0,
  a legitimacy cue <= 0, and the warning/news cue 0 (it says what a text is, not what its offer is);
- ``genre_``: a multinomial logistic regression over every column: ad, report or other.

``risk = max(text, scorecard)``, raised to the model's threshold when two strong red flags fire
together (``STRONG_FLAGS``). So a red flag that fires never lowers the risk, and no word — "korban",
"polisi", "dibutuhkan", an emoji — can cancel it: the scorecard never reads words. ``floor_`` is the
threshold, set by training once it is chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

GENRES = ("ad", "other", "report")  # sorted: scikit-learn's order of the classes
# Red flags that decide on their own in the labelling guide (LABELLING.md, "decisive signal"), and
# "no company or licence named": two of them together make an offer risky whatever its wording.
STRONG_FLAGS = (
    "moratorium_domestic",
    "scam_hub_office_job",
    "visit_visa_work",
    "worker_pays_fees",
    "salary_deduction",
    "passport_retention",
    "minors",
    "no_contract",
    "back_route",
    "impersonation",
    "no_licence",
)
# Indicators that describe the text rather than the offer: no weight in the scorecard.
GENRE_ONLY_FLAGS = ("warning_context",)
# The scorecard counts a risk-raising indicator only in a text about work (``job_context``): a visit
# visa in a tour package, or a course fee, is no red flag of a job offer.
GATE_FLAG = "job_context"


def gate_flags(fired: np.ndarray, codes: Sequence[str], directions: Sequence[int]) -> np.ndarray:
    """0/1 indicator matrix with the risk-raising columns zeroed in rows without ``GATE_FLAG``
    (models whose columns lack it are left as they are)."""
    if GATE_FLAG not in codes:
        return fired
    gate = fired[:, list(codes).index(GATE_FLAG)][:, None]
    raising = np.asarray([d > 0 for d in directions], dtype=bool)
    gated = fired.copy()
    gated[:, raising] *= gate
    return gated


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)))


class MonotoneScorecard(ClassifierMixin, BaseEstimator):
    """Logistic regression over 0/1 indicators with each weight's sign fixed in advance.

    ``signs[j]`` is +1 (weight >= 0), -1 (weight <= 0) or 0 (weight 0). Fitted by L-BFGS-B with
    those bounds, an L2 penalty ``1 / C`` and balanced class weights. A firing indicator with a
    non-negative weight can only raise the probability: that is the point.
    """

    def __init__(self, signs: Sequence[int] = (), C: float = 1.0) -> None:
        self.signs = signs
        self.C = C

    def fit(self, X: Any, y: Any) -> MonotoneScorecard:
        x = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
        target = np.asarray(y, dtype=np.float64)
        signs = np.asarray(self.signs, dtype=np.int64)
        if signs.size != x.shape[1]:
            raise ValueError(f"signs has {signs.size} entries for {x.shape[1]} columns")
        positives = max(1.0, target.sum())
        negatives = max(1.0, target.size - target.sum())
        weight = np.where(target == 1, target.size / (2 * positives), target.size / (2 * negatives))
        penalty = 1.0 / self.C

        def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
            w, b = params[:-1], params[-1]
            z = x @ w + b
            p = _sigmoid(z)
            # log(1 + e^z) - y z, stable for large |z|
            value = float(np.sum(weight * (np.logaddexp(0.0, z) - target * z)))
            value += 0.5 * penalty * float(w @ w)
            residual = weight * (p - target)
            grad = np.append(x.T @ residual + penalty * w, residual.sum())
            return value, grad

        bounds: list[tuple[float | None, float | None]] = [
            (0.0, None) if s > 0 else (None, 0.0) if s < 0 else (0.0, 0.0) for s in signs
        ]
        bounds.append((None, None))  # the intercept is free
        result = minimize(
            loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds
        )
        self.coef_ = np.asarray(result.x[:-1], dtype=np.float64)
        self.intercept_ = float(result.x[-1])
        self.classes_ = np.asarray([0, 1])
        self.n_features_in_ = x.shape[1]
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        return np.asarray(X @ self.coef_ + self.intercept_, dtype=np.float64).ravel()

    def predict_proba(self, X: Any) -> np.ndarray:
        p = _sigmoid(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        return (self.decision_function(X) >= 0).astype(np.int64)


class StackedRiskClassifier(ClassifierMixin, BaseEstimator):
    """``genre`` and ``risk`` from the feature union's columns (see the module docstring).

    ``flag_codes``: the indicator codes of the union's last columns, in order. ``fit(X, y,
    genre=...)``: ``y`` is 1 (illegal offer), 0 (legal offer) or -1 (the text describes no offer:
    used for the genre only); ``genre`` one of ``GENRES`` per row (optional).
    """

    def __init__(
        self,
        flag_codes: Sequence[str] = (),
        directions: Sequence[int] = (),
        C: float = 64.0,
        card_C: float = 1.0,
        genre_C: float = 8.0,
        calibration_folds: int = 5,
        card: bool = True,
        floor: bool = True,
        flags_in_text: bool = False,
    ) -> None:
        self.flag_codes = flag_codes
        self.directions = directions
        self.C = C
        self.card_C = card_C
        self.genre_C = genre_C
        self.calibration_folds = calibration_folds
        # The mechanism's parts can be switched off, to measure what each adds
        # (``python -m classifiers.ablation``): the scorecard, the two-strong-flags floor, and the
        # indicator columns inside the text model (the old design, where they could weigh < 0).
        self.card = card
        self.floor = floor
        self.flags_in_text = flags_in_text

    def _split(self, X: Any) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
        matrix = sp.csr_matrix(X)
        n_flags = len(self.flag_codes)
        text = matrix if self.flags_in_text else matrix[:, : matrix.shape[1] - n_flags]
        flags = (matrix[:, matrix.shape[1] - n_flags :] > 0).astype(np.float64).toarray()
        return matrix, text, gate_flags(flags, self.flag_codes, self.directions)

    def fit(self, X: Any, y: Any, genre: Sequence[str] | None = None) -> StackedRiskClassifier:
        matrix, text, flags = self._split(X)
        labels = np.asarray(y, dtype=np.int64)
        known = labels >= 0
        if len(set(labels[known].tolist())) < 2:
            raise ValueError("the risk needs both illegal (1) and legal (0) offers")
        self.text_ = CalibratedClassifierCV(
            LogisticRegression(C=self.C, class_weight="balanced", max_iter=5000),
            method="sigmoid",
            cv=self.calibration_folds,
            ensemble=False,
        ).fit(text[known], labels[known])
        signs = [
            0 if code in GENRE_ONLY_FLAGS or direction == 0 else (1 if direction > 0 else -1)
            for code, direction in zip(self.flag_codes, self.directions, strict=True)
        ]
        self.card_ = MonotoneScorecard(signs=signs, C=self.card_C).fit(flags[known], labels[known])
        genres = np.asarray(genre if genre is not None else ["ad"] * labels.size, dtype=object)
        if len(set(genres.tolist())) > 1:
            self.genre_: LogisticRegression | None = LogisticRegression(
                C=self.genre_C, class_weight="balanced", max_iter=5000
            ).fit(matrix, genres.astype(str))
        else:
            self.genre_ = None
        self.strong_ = np.asarray(
            [i for i, code in enumerate(self.flag_codes) if code in STRONG_FLAGS], dtype=np.int64
        )
        self.floor_: float | None = None
        self.classes_ = np.asarray([0, 1])
        return self

    def parts(self, X: Any) -> dict[str, np.ndarray]:
        """Each part's answer per row: text and scorecard risk, strong flags, combined risk."""
        check_is_fitted(self, "text_")
        _, text, flags = self._split(X)
        p_text = self.text_.predict_proba(text)[:, 1]
        p_card = self.card_.predict_proba(flags)[:, 1] if self.card else np.zeros(len(flags))
        strong = flags[:, self.strong_].sum(axis=1) if self.strong_.size else np.zeros(len(flags))
        risk = np.maximum(p_text, p_card)
        if self.floor_ is not None:
            risk = np.where(strong >= 2, np.maximum(risk, self.floor_), risk)
        return {"text": p_text, "card": p_card, "strong": strong, "risk": risk}

    def predict_proba(self, X: Any) -> np.ndarray:
        risk = self.parts(X)["risk"]
        return np.column_stack([1 - risk, risk])

    def predict(self, X: Any) -> np.ndarray:
        """1 where the raw risk reaches the threshold (``floor_``), else 0."""
        cut = 0.5 if self.floor_ is None else self.floor_
        return (self.parts(X)["risk"] >= cut).astype(np.int64)

    def predict_genre(self, X: Any) -> np.ndarray:
        if self.genre_ is None:
            return np.full(sp.csr_matrix(X).shape[0], "ad", dtype=object)
        return np.asarray(self.genre_.predict(sp.csr_matrix(X)), dtype=object)
