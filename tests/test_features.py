"""The fast feature code gives exactly what the scikit-learn reference gives, and stays bounded."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import skops.io
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer

from classifiers import features
from classifiers.datasets import load_corpus
from classifiers.features import CachedTfidfVectorizer, CharNgrams, RedFlagFeatures, WordNgrams
from classifiers.indicators import INDICATORS
from classifiers.textnorm import IndonesianTextNormalizer, normalize_text


@pytest.fixture(scope="module")
def documents() -> tuple[list[str], list[str]]:
    """Normalized corpus texts: fit on one part, transform another with words never seen."""
    texts = [normalize_text(ad.model_text) for ad in load_corpus()]
    unseen = ["", "kata_baru_sekali zzqx", "tok_money_usd " * 30, "a b c d e f g h"]
    return texts[:900], texts[900:] + unseen


ANALYZERS = [
    pytest.param(WordNgrams(1, 2), {}, id="words-1-2"),
    pytest.param(WordNgrams(1, 1), {}, id="words-1-1"),
    pytest.param(WordNgrams(2, 2), {}, id="words-2-2"),
    pytest.param(CharNgrams(2, 4), {"max_features": 20000}, id="chars-2-4"),
    pytest.param(CharNgrams(3, 5), {"sublinear_tf": False, "norm": "l1"}, id="chars-3-5-l1"),
]


@pytest.mark.parametrize(("analyzer", "options"), ANALYZERS)
def test_cached_transform_equals_scikit_learn(
    documents: tuple[list[str], list[str]], analyzer: object, options: dict[str, object]
) -> None:
    train, other = documents
    settings = {"min_df": 2, "sublinear_tf": True, **options}
    vectorizer = CachedTfidfVectorizer(analyzer=analyzer, **settings).fit(train)
    reference = TfidfVectorizer.transform(vectorizer, other)  # scikit-learn's own code path
    fast = vectorizer.transform(other)
    again = vectorizer.transform(other)  # second time: every word comes from the cache
    assert fast.shape == reference.shape
    assert abs(fast - reference).max() < 1e-12
    assert abs(again - reference).max() < 1e-12
    # A plain TfidfVectorizer fitted the same way agrees too (fit is scikit-learn's).
    plain = TfidfVectorizer(analyzer=analyzer, **settings).fit(train)  # type: ignore[arg-type]
    assert abs(plain.transform(other) - fast).max() < 1e-12


def test_cache_restarts_when_full(
    documents: tuple[list[str], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    train, other = documents
    vectorizer = CachedTfidfVectorizer(analyzer=WordNgrams(1, 2), min_df=2).fit(train)
    expected = TfidfVectorizer.transform(vectorizer, other)
    monkeypatch.setattr(features, "TOKEN_CACHE_LIMIT", 500)
    for start in range(0, len(other), 50):  # many batches, each past the limit
        batch = other[start : start + 50]
        got = vectorizer.transform(batch)
        assert abs(got - expected[start : start + 50]).max() < 1e-12
        tables = vectorizer._tables()
        assert len(tables.ids) - tables.base <= 500 + 50 * 200


def test_run_time_cache_is_not_saved(documents: tuple[list[str], list[str]], tmp_path) -> None:
    train, other = documents
    vectorizer = CachedTfidfVectorizer(analyzer=WordNgrams(1, 2), min_df=2).fit(train)
    vectorizer.transform(other)
    assert vectorizer._lookup is not None
    path = tmp_path / "v.skops"
    skops.io.dump(vectorizer, path)
    trusted = skops.io.get_untrusted_types(file=path)
    assert not any("_Lookup" in t or "_Ids" in t or "lock" in t for t in trusted)
    loaded = skops.io.load(path, trusted=trusted)
    assert abs(loaded.transform(other) - vectorizer.transform(other)).max() < 1e-12


def test_transformers_follow_the_estimator_contract(documents: tuple[list[str], list[str]]) -> None:
    train, _ = documents
    for estimator in (
        CachedTfidfVectorizer(analyzer=CharNgrams(2, 3), min_df=3),
        RedFlagFeatures(weight=2.0),
        IndonesianTextNormalizer(),
    ):
        params = estimator.get_params()
        twin = clone(estimator)
        assert twin.get_params().keys() == params.keys()
        assert twin is not estimator
        assert estimator.fit(train) is estimator
        assert not hasattr(clone(estimator), "_lookup") or clone(estimator)._lookup is None


def test_red_flag_columns_match_the_indicators(documents: tuple[list[str], list[str]]) -> None:
    train, other = documents
    flags = RedFlagFeatures(weight=2.0).fit(train)
    matrix = flags.transform(other)
    assert sp.issparse(matrix)
    assert matrix.shape == (len(other), len(INDICATORS))
    assert set(np.unique(matrix.data)) <= {2.0}
    dense = matrix.toarray()
    for row, text in list(enumerate(other))[:200]:
        expected = [float(indicator.detect(text)) * 2.0 for indicator in INDICATORS]
        assert dense[row].tolist() == expected
