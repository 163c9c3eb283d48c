"""Score ads with a stored model and explain each score in words an analyst can check.

``RiskModel.score(texts)`` returns, per ad, the calibrated risk, whether it is flagged at the
model's threshold, and reasons: the indicators that fired (``classifiers.indicators``) and the terms
that pushed the score up most. Features are computed once per batch and reused for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.pipeline import Pipeline

from classifiers.indicators import INDICATOR_BY_CODE, INDICATORS
from classifiers.registry import StoredModel, load_active, load_model

LANGUAGES = ("id", "en")
_TOP_TERMS = 3
_MIN_TERM_CONTRIBUTION = 0.04
_TERM_LABELS = {
    "tok_wa": ("link WhatsApp", "WhatsApp link"),
    "tok_tme": ("link Telegram", "Telegram link"),
    "tok_handle": ("akun @", "@ account"),
    "tok_phone": ("nomor HP", "phone number"),
    "tok_email_free": ("email gratisan", "free e-mail address"),
    "tok_url": ("tautan", "link"),
    "tok_num": ("angka", "number"),
}


def _term_label(term: str, language: str) -> str:
    i = 0 if language == "id" else 1
    words = []
    for token in term.split(" "):
        if token in _TERM_LABELS:
            words.append(_TERM_LABELS[token][i])
        elif token.startswith("tok_money_"):
            cur = token.removeprefix("tok_money_").upper()
            words.append(f"jumlah {cur}" if i == 0 else f"{cur} amount")
        elif token.startswith("flag_") and len(token) == 7:
            words.append("bendera " + token[5:].upper() if i == 0 else token[5:].upper() + " flag")
        else:
            words.append(token.replace("_", " "))
    return " ".join(words)


@dataclass(slots=True)
class Score:
    risk: float
    flagged: bool
    margin: float
    reasons: list[str] = field(default_factory=list)
    reason_codes: list[str] = field(default_factory=list)


def reason_text(code: str, language: str = "id") -> str:
    """Turn a reason code ("indicator:visit_visa_work", "term:potong_gaji") into a short string."""
    kind, _, value = code.partition(":")
    if kind == "indicator" and value in INDICATOR_BY_CODE:
        ind = INDICATOR_BY_CODE[value]
        text = ind.text_id if language == "id" else ind.text_en
        if ind.direction < 0:
            text = ("Menurunkan risiko: " if language == "id" else "Lowers risk: ") + text
        return text
    if kind == "term":
        prefix = "Kata berisiko: " if language == "id" else "Risky wording: "
        return prefix + ", ".join(f"«{_term_label(t, language)}»" for t in value.split("|"))
    return code


class RiskModel:
    """A loaded, verified model plus the explanation machinery; load once per crawl."""

    def __init__(self, stored: StoredModel) -> None:
        self.stored = stored
        pipeline: Pipeline = stored.pipeline
        self._features = pipeline[:-1]
        self._classifier = pipeline[-1]
        calibrated = self._classifier.calibrated_classifiers_
        linear = calibrated[0].estimator
        self._coef = np.asarray(linear.coef_).ravel()
        self._intercept = float(np.asarray(linear.intercept_).ravel()[0])
        self._calibrator = calibrated[0].calibrators[0]
        self._normalize = pipeline[0]
        self._blocks = [transformer for _, transformer in pipeline[1].transformer_list]
        # The last step before the classifier is the FeatureUnion: "words__x", "chars__x", "red_flags__x".
        names = np.asarray(self._features[-1].get_feature_names_out()).astype(str)
        self._names = names
        self._is_word = np.char.startswith(names, "words__")
        flag_names = [f"flag_{i.code}" for i in INDICATORS]
        self._flag_columns = {
            code.removeprefix("flag_"): int(np.flatnonzero(names == f"red_flags__{code}")[0])
            for code in flag_names
        }

    @classmethod
    def load(cls, path: Path | None = None) -> RiskModel:
        """Load the model at ``path``, or the active one of the registry."""
        return cls(load_model(path) if path else load_active())

    @property
    def version(self) -> str:
        return self.stored.version

    @property
    def threshold(self) -> float:
        return self.stored.threshold

    def score(self, texts: Sequence[str], language: str = "id") -> list[Score]:
        if not texts:
            return []
        features = self.features(texts)
        risks = self.risks(features)
        return [
            self._explain(features, row, float(risk), language) for row, risk in enumerate(risks)
        ]

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The model's feature matrix, as its FeatureUnion builds it, minus the per-call overhead.

        ``Pipeline.predict_proba`` costs ~7 ms per call before any text is read (joblib dispatch,
        validation, sparse stacking through COO); scoring a crawl's small batches directly keeps
        the cost per ad, not per call. ``tests/test_classifier.py`` checks it gives the same risks.
        """
        normalized = self._normalize.transform(list(texts))
        return sp.hstack([block.transform(normalized) for block in self._blocks], format="csr")

    def risks(self, features: sp.csr_matrix) -> np.ndarray:
        """Calibrated probabilities: the linear score through the fitted sigmoid calibrator."""
        decision = features @ self._coef + self._intercept
        return np.clip(self._calibrator.predict(decision), 0.0, 1.0)

    def _explain(self, features: sp.csr_matrix, row: int, risk: float, language: str) -> Score:
        start, end = features.indptr[row], features.indptr[row + 1]
        columns = features.indices[start:end]
        contributions = features.data[start:end] * self._coef[columns]
        codes: list[str] = []
        fired = set(columns.tolist())
        for indicator in INDICATORS:
            if indicator.code == "overseas_job":
                continue  # context for the model, not a reason an analyst needs to read
            if self._flag_columns[indicator.code] in fired:
                codes.append(f"indicator:{indicator.code}")
        order = np.argsort(-contributions)
        terms: list[str] = []
        for k in order[: _TOP_TERMS * 4]:
            column = columns[k]
            if contributions[k] < _MIN_TERM_CONTRIBUTION or len(terms) == _TOP_TERMS:
                break
            if self._is_word[column]:
                terms.append(str(self._names[column]).rsplit("__", 1)[-1])
        if terms:
            codes.append("term:" + "|".join(terms))
        # Risk-raising indicators first, then the terms, then what lowers the risk.
        codes.sort(key=lambda c: (c.startswith("indicator:") and INDICATOR_BY_CODE[c[10:]].direction < 0,
                                  c.startswith("term:")))  # fmt: skip
        return Score(
            risk=risk,
            flagged=risk >= self.threshold,
            margin=risk - self.threshold,
            reasons=[reason_text(c, language) for c in codes],
            reason_codes=codes,
        )


@lru_cache(maxsize=4)
def _cached_model(model_dir: str) -> RiskModel:
    return RiskModel.load(Path(model_dir))


def score_with(model_dir: str, texts: Sequence[str], language: str = "id") -> list[Score]:
    """Score with the model in ``model_dir``, loaded once per process (for worker processes)."""
    return _cached_model(model_dir).score(texts, language)


WARM_UP_TEXT = (
    "Dicari admin CS di Phnom Penh, gaji 1.200 USD, japri 0812-5551-2345 atau wa.me/6281255512345"
)


def describe_model(model_dir: str) -> tuple[str, float]:
    """(version, threshold) of the model in ``model_dir``: loads it (fails early if it cannot) and
    scores one text, so that lazy first-use costs are paid before the crawl, not during it."""
    model = _cached_model(model_dir)
    model.score([WARM_UP_TEXT])
    return model.version, model.threshold
