"""Feature transformers: the official red flags as columns, and a compactly saved TF-IDF."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer

from classifiers.indicators import INDICATORS


class RedFlagFeatures(TransformerMixin, BaseEstimator):
    """One column per indicator of ``classifiers.indicators``: ``weight`` if it fires, else 0.

    Expects normalized text (the output of ``IndonesianTextNormalizer``). Stateless: the detectors
    are fixed rules with cited sources; the classifier after it learns how much each one counts.
    """

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def fit(self, X: Iterable[str], y: object = None) -> RedFlagFeatures:
        self.n_features_out_ = len(INDICATORS)
        return self

    def transform(self, X: Iterable[str]) -> sp.csr_matrix:
        rows, cols = [], []
        n = 0
        for n, text in enumerate(X, start=1):
            for j, indicator in enumerate(INDICATORS):
                if indicator.detect(text):
                    rows.append(n - 1)
                    cols.append(j)
        data = np.full(len(rows), self.weight, dtype=np.float64)
        return sp.csr_matrix((data, (rows, cols)), shape=(n, len(INDICATORS)))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray([f"flag_{i.code}" for i in INDICATORS], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags


class CompactTfidfVectorizer(TfidfVectorizer):
    """``TfidfVectorizer`` that saves its vocabulary as one array of terms instead of a dict.

    skops writes a dict entry by entry; a 35k-term vocabulary then makes a 36 MB file that takes
    seconds to load. The term array (ordered by column) holds the same information in a few hundred
    KB, and the dict is rebuilt on load. Behaviour is exactly ``TfidfVectorizer``'s.
    """

    def __getstate__(self) -> dict[str, object]:
        state: dict[str, object] = dict(super().__getstate__())  # a copy: it may be our __dict__
        vocabulary = state.pop("vocabulary_", None)
        if isinstance(vocabulary, dict):
            terms = sorted(vocabulary, key=vocabulary.__getitem__)
            state["vocabulary_terms_"] = np.asarray(terms, dtype=np.str_)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        terms = state.pop("vocabulary_terms_", None)
        super().__setstate__(state)
        if isinstance(terms, np.ndarray):
            self.vocabulary_ = {term: index for index, term in enumerate(terms.tolist())}


@lru_cache(maxsize=200_000)
def _word_char_ngrams(word: str, min_n: int, max_n: int) -> tuple[str, ...]:
    """``char_wb`` n-grams of one word, as scikit-learn builds them (padded with spaces)."""
    padded = f" {word} "
    grams: list[str] = []
    for n in range(min_n, max_n + 1):
        if len(padded) <= n:
            grams.append(padded)  # a short word counts once, whole
            break
        grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return tuple(grams)


class CharNgrams(BaseEstimator):
    """Analyzer: character n-grams within words, cached per word.

    The same words recur in thousands of ads ("gaji", "berangkat", "kamboja"), so computing each
    word's n-grams once makes character features nearly as cheap as word features. Gives exactly
    the n-grams of ``TfidfVectorizer(analyzer="char_wb")`` on whitespace-separated text.
    """

    def __init__(self, min_n: int = 2, max_n: int = 4) -> None:
        self.min_n = min_n
        self.max_n = max_n

    def __call__(self, document: str) -> list[str]:
        grams: list[str] = []
        extend = grams.extend
        for word in document.split():
            extend(_word_char_ngrams(word, self.min_n, self.max_n))
        return grams


class WordNgrams(BaseEstimator):
    """Analyzer: word n-grams of already tokenized text (the normalizer's output is space-separated)."""

    def __init__(self, min_n: int = 1, max_n: int = 2) -> None:
        self.min_n = min_n
        self.max_n = max_n

    def __call__(self, document: str) -> list[str]:
        tokens = document.split()
        grams = list(tokens) if self.min_n <= 1 else []
        for n in range(max(2, self.min_n), self.max_n + 1):
            grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return grams
