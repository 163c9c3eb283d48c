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
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.pipeline import FeatureUnion, Pipeline

from classifiers.features import CachedTfidfVectorizer, RedFlagFeatures
from classifiers.indicators import CONTEXT_CODES, INDICATOR_BY_CODE
from classifiers.registry import ModelError, StoredModel, load_active, load_model
from classifiers.stacked import StackedRiskClassifier, gate_flags
from patroli.config.table import PATROLI_EXPECTED_PREVALENCE
from patroli.text.language import detect_language, unsupported_reason
from patroli.text.stopwords import STOPWORDS

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


_GENRE_REASONS = {
    "report": (
        "Dibaca sebagai laporan (berita, peringatan, kesaksian), bukan iklan: tidak ditandai",
        "Read as a report (news, warning, testimony), not an ad: not flagged",
    ),
    "other": (
        "Dibaca sebagai bukan iklan lowongan: tidak ditandai",
        "Read as neither a job ad nor a report: not flagged",
    ),
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
    risk: float | None  # None: the text's language is not one the model scores
    flagged: bool  # risky and an ad (a report of an illegal offer is risky, not flagged)
    margin: float | None
    reasons: list[str] = field(default_factory=list)
    reason_codes: list[str] = field(default_factory=list)
    risky: bool = False  # risk at or above the threshold, whatever the genre
    genre: str | None = None  # ad, report or other (None: the model has no genre, or no score)
    lang: str = ""  # ISO 639-1 code of the text's language ("und": too short to tell)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)))


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(q / (1 - q)))


def shift_prevalence(risk: np.ndarray, base_rate: float, prevalence: float) -> np.ndarray:
    """Bayes' rule on the odds: a probability calibrated where ``base_rate`` of the texts were
    illegal, restated for a stream where ``prevalence`` of them are."""
    factor = (prevalence / (1 - prevalence)) / (base_rate / (1 - base_rate))
    odds = np.clip(risk, 1e-9, 1 - 1e-9)
    odds = odds / (1 - odds) * factor
    return np.asarray(odds / (1 + odds))


def reason_text(code: str, language: str = "id") -> str:
    """Turn a reason code ("indicator:visit_visa_work", "term:potong_gaji") into a short string."""
    kind, _, value = code.partition(":")
    if kind == "indicator" and value in INDICATOR_BY_CODE:
        ind = INDICATOR_BY_CODE[value]
        text = ind.text_id if language == "id" else ind.text_en
        if ind.direction < 0:
            text = ("Menurunkan risiko: " if language == "id" else "Lowers risk: ") + text
        return text
    if code == "rule:two_strong_flags":
        return (
            "Dua tanda bahaya resmi sekaligus: berisiko apa pun gaya tulisannya"
            if language == "id"
            else "Two official red flags together: risky whatever the wording"
        )
    if kind == "language":
        return unsupported_reason(value, language)
    if kind == "genre":
        return _GENRE_REASONS.get(value, (value, value))[0 if language == "id" else 1]
    if kind == "term":
        prefix = "Kata berisiko: " if language == "id" else "Risky wording: "
        return prefix + ", ".join(f"«{_term_label(t, language)}»" for t in value.split("|"))
    return code


class RiskModel:
    """A loaded, verified model plus the explanation machinery; load once per crawl."""

    def __init__(self, stored: StoredModel) -> None:
        self.stored = stored
        pipeline: Pipeline = stored.pipeline
        self._normalize = pipeline[0]
        union = pipeline[1]
        if not isinstance(union, FeatureUnion) or union.transformer_weights:
            raise ModelError(
                f"{stored.path}: expected an unweighted FeatureUnion as the second step"
            )
        self._blocks = [transformer for _, transformer in union.transformer_list]
        last = pipeline[-1]
        self._stacked = isinstance(last, StackedRiskClassifier)
        names_out = np.asarray(union.get_feature_names_out()).astype(str)
        if self._stacked:
            calibrated = last.text_.calibrated_classifiers_
            linear = calibrated[0].estimator
            n_flags = len(last.flag_codes)
            text_coef = np.asarray(linear.coef_, dtype=np.float64).ravel()
            if not last.flags_in_text:
                text_coef = np.concatenate([text_coef, np.zeros(n_flags)])
            self._coef = text_coef
            genre = last.genre_
            self._genres = tuple(str(g) for g in genre.classes_) if genre is not None else ("ad",)
            genre_coef = (
                np.asarray(genre.coef_, dtype=np.float64).T
                if genre is not None
                else np.zeros((names_out.size, 1))
            )
            if genre_coef.shape[1] == 1 and len(self._genres) == 2:  # binary: one column
                genre_coef = np.column_stack([-genre_coef[:, 0], genre_coef[:, 0]])
            genre_intercept = np.asarray(genre.intercept_ if genre is not None else [0.0])
            if genre_intercept.size == 1 and len(self._genres) == 2:
                genre_intercept = np.asarray([-genre_intercept[0], genre_intercept[0]])
            # One matrix, one pass over each block: column 0 the text risk, then one per genre.
            self._weights = np.column_stack([self._coef, genre_coef])
            self._bias = np.concatenate([[float(np.ravel(linear.intercept_)[0])], genre_intercept])
            self._card_coef = np.asarray(last.card_.coef_, dtype=np.float64)
            self._flag_codes = tuple(last.flag_codes)
            self._flag_directions = tuple(last.directions)
            self._card_bias = float(last.card_.intercept_) if last.card else -np.inf
            self._strong = np.asarray(last.strong_, dtype=np.int64)
            self._floor = float(last.floor_) if last.floor_ is not None else None
            # Without the floor, the threshold on the raw scale is kept in the card.
            self._raw_threshold = float(stored.card.get("threshold_raw", 0.5))
            calibration = stored.card.get("calibration") or {}
            self._platt = (float(calibration.get("a", 1.0)), float(calibration.get("b", 0.0)))
            self._base_rate = float(calibration.get("base_rate", 0.5))
        else:
            calibrated = last.calibrated_classifiers_
            linear = calibrated[0].estimator
            self._coef = np.asarray(linear.coef_, dtype=np.float64).ravel()
            self._weights = self._coef[:, None]
            self._bias = np.asarray([float(np.asarray(linear.intercept_).ravel()[0])])
            self._genres = ()
            self._base_rate = 0.5
        self._intercept = float(self._bias[0])
        self._calibrator = calibrated[0].calibrators[0]
        self.prevalence: float | None = None  # None: no prior shift (the training base rate)
        # Column names are "words__x", "chars__x", "red_flags__flag_x" (FeatureUnion's prefixes).
        names = np.asarray(union.get_feature_names_out()).astype(str)
        self._names = names
        # Stopwords can carry weight in the model, but "«yang», «aja»" tells an analyst nothing
        # they could check, so they are never shown as reasons (they still count).
        self._is_word = np.char.startswith(names, "words__") & np.asarray(
            [not set(name.split("__", 1)[1].split(" ")) <= STOPWORDS for name in names.tolist()]
        )
        self._flag_code: dict[int, str] = {}
        for column in np.flatnonzero(np.char.startswith(names, "red_flags__flag_")).tolist():
            code = names[column].removeprefix("red_flags__flag_")
            # "overseas_job" is context for the model, not a reason to read; an indicator the code
            # no longer has cannot fire (its column stays 0).
            if code in INDICATOR_BY_CODE and code not in CONTEXT_CODES:
                self._flag_code[column] = code
        self._flag_columns = np.asarray(sorted(self._flag_code), dtype=np.int64)
        # Per column, what the explanation loop needs, computed once.
        self._flag_reason = {
            column: (INDICATOR_BY_CODE[code].direction > 0, f"indicator:{code}")
            for column, code in self._flag_code.items()
        }
        self._term_of = {
            int(column): str(names[column]).split("__", 1)[1]
            for column in np.flatnonzero(np.char.startswith(names, "words__")).tolist()
        }
        self._is_flag = np.zeros(names.size, dtype=bool)
        self._is_flag[self._flag_columns] = True
        self._explainable = self._is_word | self._is_flag
        # Each block's columns in the union's output, and which blocks hold word terms.
        widths = [len(t.get_feature_names_out()) for _, t in union.transformer_list]
        stops = np.cumsum(widths).tolist()
        self._spans = list(zip([0, *stops[:-1]], stops, strict=True))
        self._word_span = {
            start
            for (name, _), (start, _) in zip(union.transformer_list, self._spans, strict=True)
            if name == "words"
        }

    @classmethod
    def load(cls, path: Path | None = None, prevalence: float | None = None) -> RiskModel:
        """Load the model at ``path``, or the active one of the registry; ``prevalence`` (default
        ``PATROLI_EXPECTED_PREVALENCE``) is the crawl stream's expected share of illegal offers."""
        model = cls(load_model(path) if path else load_active())
        if model._stacked:
            model.prevalence = (
                PATROLI_EXPECTED_PREVALENCE.from_env() if prevalence is None else prevalence
            )
        return model

    @property
    def version(self) -> str:
        return self.stored.version

    @property
    def threshold(self) -> float:
        """The threshold on the scale of ``risk`` (for a stacked model: at ``prevalence``)."""
        if not self._stacked:
            return self.stored.threshold
        return float(self.calibrate(np.asarray([self._raw_threshold]))[0])

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Raw stacked risk -> probability on the training base rate -> at ``prevalence``."""
        a, b = self._platt
        risk = _sigmoid(a * _logit(raw) + b)
        if self.prevalence is not None:
            risk = shift_prevalence(risk, self._base_rate, self.prevalence)
        return risk

    def score(self, texts: Sequence[str], language: str = "id") -> list[Score]:
        """Language, genre, risk, risky, flag, margin to the threshold and reasons for each text
        (one batch). A text in a language the model does not score gets ``risk=None``."""
        if not texts:
            return []
        normalized = self._normalize.transform(texts)
        words = [text.split() for text in normalized]
        # Every text is scored, then the gate decides: a text in another language is rare, and by
        # then each word's hash is cached (the TF-IDF look-ups computed it), which makes the
        # gate's word look-ups nearly free.
        scores = self._score(texts, language, normalized, words)
        detected = [detect_language(t, w) for t, w in zip(texts, words, strict=True)]
        for i, lang in enumerate(detected):
            if not lang.supported:
                scores[i] = Score(
                    risk=None,
                    flagged=False,
                    margin=None,
                    risky=False,
                    genre=None,
                    reasons=[unsupported_reason(lang.code, language)],
                    reason_codes=[f"language:{lang.code}"],
                )
        for score, lang in zip(scores, detected, strict=True):
            score.lang = lang.code
        return scores

    def _score(
        self,
        texts: Sequence[str],
        language: str,
        normalized: Sequence[str] | None = None,
        words: Sequence[list[str]] | None = None,
    ) -> list[Score]:
        if normalized is None or words is None:
            normalized = self._normalize.transform(texts)
            words = [text.split() for text in normalized]
        decision = np.tile(self._bias, (len(texts), 1))
        shown: list[sp.csr_matrix] = []  # the blocks reasons are read from (words, indicators)
        flags: sp.csr_matrix | None = None
        for block, (start, stop) in zip(self._blocks, self._spans, strict=True):
            coef = self._weights[start:stop]
            if (
                isinstance(block, CachedTfidfVectorizer)
                and block._fast_path()
                and start not in self._word_span
            ):
                # Character n-grams never appear in reasons: only their share of the score is needed.
                decision += block.decision_tokens(words, coef)
                shown.append(sp.csr_matrix((len(texts), stop - start)))
                continue
            if isinstance(block, CachedTfidfVectorizer) and block._fast_path():
                matrix = block.transform_tokens(words)
            elif isinstance(block, RedFlagFeatures):
                matrix = flags = block.transform_words(normalized, words)
            else:
                matrix = block.transform(normalized)
            decision += matrix @ coef
            shown.append(matrix)
        return self._explain(
            sp.hstack(shown, format="csr"), *self._answers(decision, flags), language
        )

    def _answers(
        self, decision: np.ndarray, flags: sp.csr_matrix | None
    ) -> tuple[np.ndarray, np.ndarray, list[str | None], np.ndarray]:
        """(risk, risky, genre, floored) per row from the linear decisions and indicator columns."""
        p_text = np.clip(self._calibrator.predict(decision[:, 0]), 0.0, 1.0)
        n = decision.shape[0]
        if not self._stacked:
            risky = p_text >= self.threshold
            return p_text, risky, [None] * n, np.zeros(n, dtype=bool)
        fired = gate_flags(
            (flags > 0).astype(np.float64).toarray()
            if flags is not None
            else np.zeros((n, self._card_coef.size)),
            self._flag_codes,
            self._flag_directions,
        )
        raw = np.maximum(p_text, _sigmoid(fired @ self._card_coef + self._card_bias))
        floored = np.zeros(n, dtype=bool)
        if self._floor is not None:
            floored = (fired[:, self._strong].sum(axis=1) >= 2) & (raw < self._floor)
            raw = np.where(floored, self._floor, raw)
            risky = raw >= self._floor
        else:
            risky = raw >= self._raw_threshold
        genres = [self._genres[i] for i in np.argmax(decision[:, 1:], axis=1).tolist()]
        return self.calibrate(raw), risky, genres, floored

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The model's feature matrix, as its FeatureUnion builds it, minus the per-call overhead.

        ``Pipeline.predict_proba`` costs ~7 ms per call before any text is read (joblib dispatch,
        validation, sparse stacking through COO), and each block would split the normalized text
        again. Here the text is normalized and split once and every block reuses the words.
        ``tests/test_classifier.py`` checks that the risks equal ``Pipeline.predict_proba``'s.
        """
        normalized = self._normalize.transform(texts)
        words = [text.split() for text in normalized]
        blocks = []
        for block in self._blocks:
            if isinstance(block, CachedTfidfVectorizer) and block._fast_path():
                blocks.append(block.transform_tokens(words))
            elif isinstance(block, RedFlagFeatures):
                blocks.append(block.transform_words(normalized, words))
            else:
                blocks.append(block.transform(normalized))
        return sp.hstack(blocks, format="csr")

    def risks(self, features: sp.csr_matrix) -> np.ndarray:
        """Calibrated probabilities from a feature matrix (``features``)."""
        decision = np.asarray(features @ self._weights) + self._bias
        flags = features[:, self._spans[-1][0] :] if self._stacked else None
        return self._answers(decision, flags)[0]

    def explain(self, text: str, language: str = "id", top: int = 8) -> dict[str, Any]:
        """What moves the score of one text, for an analyst to check: its language and genre,
        each part's risk (words, red-flag scorecard, the two-strong-flags rule), every indicator
        that fired with its scorecard weight, and the words that pushed the risk up and down."""
        lang = detect_language(text)
        score = self.score([text], language)[0]
        result: dict[str, Any] = {
            "model": self.version,
            "lang": lang.code,
            "supported": lang.supported,
            "risk": score.risk,
            "threshold": self.threshold,
            "risky": score.risky,
            "flagged": score.flagged,
            "genre": score.genre,
            "reasons": score.reasons,
        }
        if not lang.supported:
            return result
        features = self.features([text])
        row = features.getrow(0)
        decision = np.asarray(row @ self._weights).ravel() + self._bias
        contributions = row.data * self._coef[row.indices]
        names = self._names[row.indices]
        words = [
            (str(n).split("__", 1)[1], float(c))
            for n, c in zip(names, contributions, strict=True)
            if str(n).startswith("words__") and c != 0
        ]
        chars = float(
            sum(
                c for n, c in zip(names, contributions, strict=True) if str(n).startswith("chars__")
            )
        )
        words.sort(key=lambda item: -abs(item[1]))
        result["text_model"] = {
            "risk": float(self.calibrate(np.clip(self._calibrator.predict(decision[:1]), 0, 1))[0])
            if self._stacked
            else float(np.clip(self._calibrator.predict(decision[:1]), 0, 1)[0]),
            "intercept": self._intercept,
            "words_up": [w for w in words if w[1] > 0][:top],
            "words_down": [w for w in words if w[1] < 0][:top],
            "character_ngrams_total": chars,
        }
        fired = [
            str(self._names[column]).removeprefix("red_flags__flag_")
            for column in np.flatnonzero(
                np.char.startswith(self._names, "red_flags__flag_")
            ).tolist()
            if row[0, column] != 0
        ]
        if self._stacked:
            position = {
                str(n).removeprefix("red_flags__flag_"): j
                for j, n in enumerate(self._names[self._spans[-1][0] :].tolist())
            }
            gate = "job_context" not in position or "job_context" in fired
            counted = [
                c
                for c in fired
                if gate or INDICATOR_BY_CODE.get(c) is None or INDICATOR_BY_CODE[c].direction <= 0
            ]
            card_logit = self._card_bias + sum(self._card_coef[position[c]] for c in counted)
            raw_card = float(_sigmoid(np.asarray([card_logit]))[0])
            strong = [c for c in counted if position.get(c, -1) in set(self._strong.tolist())]
            result["scorecard"] = {
                "risk": float(self.calibrate(np.asarray([raw_card]))[0]),
                "intercept": self._card_bias,
                "indicators": [
                    (c, float(self._card_coef[position[c]]))
                    for c in counted
                    if c not in CONTEXT_CODES or c == "overseas_job"
                ],
                "not_about_work": not gate,
            }
            result["strong_flags"] = strong
            result["floor_applied"] = len(strong) >= 2 and self._floor is not None
            text_risk, card_risk = result["text_model"]["risk"], result["scorecard"]["risk"]
            result["decided_by"] = (
                "two strong red flags"
                if result["floor_applied"] and max(text_risk, card_risk) < self.threshold
                else ("words" if text_risk >= card_risk else "red flags")
            )
            genre_logits = decision[1:]
            probabilities = np.exp(genre_logits - genre_logits.max())
            probabilities /= probabilities.sum()
            result["genre_probabilities"] = dict(
                zip(self._genres, (float(p) for p in probabilities), strict=True)
            )
        else:
            result["indicators"] = fired
        return result

    def _explain(
        self,
        features: sp.csr_matrix,
        risks: np.ndarray,
        risky: np.ndarray,
        genres: list[str | None],
        floored: np.ndarray,
        language: str,
    ) -> list[Score]:
        """Reasons for every row at once: the indicators that fired, then the top word terms."""
        n_rows = features.shape[0]
        indptr, columns = features.indptr, features.indices
        row_of = np.repeat(np.arange(n_rows), np.diff(indptr))
        keep = self._explainable[columns] & (features.data != 0)
        row_of, columns = row_of[keep], columns[keep]
        contribution = features.data[keep] * self._coef[columns]
        is_word = self._is_word[columns]
        # Indicators: every one that fired, in the order of INDICATORS.
        flag_rows, flag_columns = row_of[~is_word], columns[~is_word]
        # Terms: the words that pushed the score up most, at most _TOP_TERMS per row.
        strong = is_word & (contribution >= _MIN_TERM_CONTRIBUTION)
        term_rows, term_columns, term_values = row_of[strong], columns[strong], contribution[strong]
        order = np.lexsort((-term_values, term_rows))
        term_rows, term_columns = term_rows[order], term_columns[order]
        first = np.searchsorted(term_rows, term_rows, side="left")
        top = (np.arange(term_rows.size) - first) < _TOP_TERMS
        term_rows, term_columns = term_rows[top], term_columns[top]

        flags_by_row: list[list[int]] = [[] for _ in range(n_rows)]
        for row, column in zip(flag_rows.tolist(), flag_columns.tolist(), strict=True):
            flags_by_row[row].append(column)
        terms_by_row: list[list[int]] = [[] for _ in range(n_rows)]
        for row, column in zip(term_rows.tolist(), term_columns.tolist(), strict=True):
            terms_by_row[row].append(column)

        threshold = self.threshold
        flag_reason, term_of = self._flag_reason, self._term_of
        scores = []
        for row, risk in enumerate(risks.tolist()):
            codes: list[str] = []
            lowering: list[str] = []
            for column in sorted(flags_by_row[row]):  # the order of INDICATORS
                raises, code = flag_reason[column]
                if self._stacked and code == "indicator:warning_context":
                    continue  # it tells the genre (below), it does not lower a stacked risk
                (codes if raises else lowering).append(code)
            if floored[row]:
                codes.append("rule:two_strong_flags")
            if terms_by_row[row]:
                codes.append("term:" + "|".join([term_of[c] for c in terms_by_row[row]]))
            codes += lowering
            is_risky = bool(risky[row])
            genre = genres[row]
            if genre in ("report", "other"):
                codes.append(f"genre:{genre}")
            scores.append(
                Score(
                    risk=risk,
                    flagged=is_risky and genre in (None, "ad"),
                    margin=risk - threshold,
                    reasons=[_reason_text_cached(c, language) for c in codes],
                    reason_codes=codes,
                    risky=is_risky,
                    genre=genre,
                )
            )
        return scores


@lru_cache(maxsize=65_536)
def _reason_text_cached(code: str, language: str) -> str:
    return reason_text(code, language)


@lru_cache(maxsize=4)
def cached_model(model_dir: str) -> RiskModel:
    """The model in ``model_dir``, loaded once per process."""
    return RiskModel.load(Path(model_dir))


_cached_model = cached_model


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
