"""Feature transformers: the official red flags as columns, and a fast, compactly saved TF-IDF.

``CachedTfidfVectorizer`` is scikit-learn's ``TfidfVectorizer`` (``fit`` is unchanged) whose
``transform`` reads the normalizer's space-separated words and maps each *distinct* word once to
its columns (its word n-gram column, or the columns and counts of its character n-grams). A batch
is then a sparse product "documents x words" @ "words x columns" plus a vectorized look-up of word
pairs, done in C instead of a Python loop per n-gram. ``tests/test_features.py`` checks that the
values equal ``TfidfVectorizer.transform``'s.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import chain
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize as normalize_rows
from sklearn.utils.validation import check_is_fitted

from classifiers.indicators import INDICATORS, detect_indices
from classifiers.text_transformer import TextTransformerMixin

try:  # the C++ kernel behind scipy.sparse's product (SciPy is pinned; the fallback is public API)
    from scipy.sparse._sparsetools import csr_matmat as _csr_matmat
except ImportError:  # pragma: no cover - another SciPy layout
    _csr_matmat = None


class RedFlagFeatures(TextTransformerMixin, BaseEstimator):
    """One column per indicator of ``classifiers.indicators``: ``weight`` if it fires, else 0.

    Expects normalized text (the output of ``IndonesianTextNormalizer``). The detectors are fixed
    rules with cited sources; the classifier after it learns how much each one counts. ``fit``
    records which indicators exist (``codes_``), so a saved model keeps its columns when later code
    adds indicators.
    """

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def fit(self, X: Iterable[str], y: object = None) -> RedFlagFeatures:
        self.codes_ = tuple(indicator.code for indicator in INDICATORS)
        self.n_features_out_ = len(self.codes_)
        return self

    def transform(self, X: Iterable[str]) -> sp.csr_matrix:
        return self.transform_words(list(X))

    def transform_words(
        self, texts: Sequence[str], words: Sequence[Sequence[str]] | None = None
    ) -> sp.csr_matrix:
        """``transform``, reusing the texts' words when the caller split them already."""
        check_is_fitted(self, "codes_")
        position = {code: j for j, code in enumerate(self.codes_)}
        column_of = np.asarray([position.get(i.code, -1) for i in INDICATORS], dtype=np.int32)
        indptr = [0]
        found: list[int] = []
        for i, text in enumerate(texts):
            found += detect_indices(text, None if words is None else words[i])
            indptr.append(len(found))
        columns = (
            column_of[np.asarray(found, dtype=np.int64)] if found else np.zeros(0, dtype=np.int32)
        )
        if (columns < 0).any():  # indicators newer than the model: not among its columns
            keep = columns >= 0
            rows = np.repeat(np.arange(len(texts)), np.diff(indptr))[keep]
            columns = columns[keep]
            return sp.csr_matrix(
                (np.full(columns.size, self.weight, dtype=np.float64), (rows, columns)),
                shape=(len(texts), len(self.codes_)),
            )
        data = np.full(columns.size, self.weight, dtype=np.float64)
        return sp.csr_matrix(
            (data, columns.astype(np.int32), np.asarray(indptr, dtype=np.int32)),
            shape=(len(texts), len(self.codes_)),
        )

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        codes = getattr(self, "codes_", tuple(i.code for i in INDICATORS))
        return np.asarray([f"flag_{code}" for code in codes], dtype=object)


class CompactTfidfVectorizer(TfidfVectorizer):
    """``TfidfVectorizer`` that saves its vocabulary as one array of terms instead of a dict.

    skops writes a dict entry by entry; a 35k-term vocabulary then makes a 36 MB file that takes
    seconds to load. The term array (ordered by column) holds the same information in a few hundred
    KB, and the dict is rebuilt on load. Behaviour is exactly ``TfidfVectorizer``'s.
    """

    def __getstate__(self) -> dict[str, object]:
        state: dict[str, object] = dict(super().__getstate__())  # a copy: it may be our __dict__
        state.pop("_lookup", None)  # run-time caches of subclasses are rebuilt, never saved
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


TOKEN_CACHE_LIMIT = 300_000  # distinct words remembered per vectorizer before the cache restarts


class _Ids(dict[str, int]):
    """word -> id; a new word is registered (its columns computed) on first look-up."""

    def __init__(self, add: Any) -> None:
        super().__init__()
        self.add = add

    def __missing__(self, word: str) -> int:
        return int(self.add(word))


class _PairTable:
    """Word-pair key (id << 32 | id) -> column: an open-addressing hash table probed with numpy."""

    MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing

    def __init__(self, pairs: Sequence[tuple[int, int]]) -> None:
        self.size = len(pairs)
        self.bits = max(4, int(np.ceil(np.log2(max(1, self.size) * 4))))
        self.mask = (1 << self.bits) - 1
        keys = [-1] * (1 << self.bits)
        columns = [0] * (1 << self.bits)
        self.max_probe = 0
        slots = self._slots(np.asarray([k for k, _ in pairs], dtype=np.int64)).tolist()
        for (key, column), slot in zip(pairs, slots, strict=True):
            probe = 0
            while keys[(slot + probe) & self.mask] != -1:
                probe += 1
            keys[(slot + probe) & self.mask] = key
            columns[(slot + probe) & self.mask] = column
            self.max_probe = max(self.max_probe, probe)
        self.keys = np.asarray(keys, dtype=np.int64)
        self.columns = np.asarray(columns, dtype=np.int64)

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        hashed = keys.astype(np.uint64) * self.MULTIPLIER  # wraps modulo 2**64, as intended
        return (hashed >> np.uint64(64 - self.bits)).astype(np.int64)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The column of each key, -1 where the pair is not in the vocabulary."""
        found = np.full(keys.size, -1, dtype=np.int64)
        slots = self._slots(keys)
        pending = np.arange(keys.size)
        for probe in range(self.max_probe + 1):
            at = (slots[pending] + probe) & self.mask
            stored = self.keys[at]
            hit = stored == keys[pending]
            found[pending[hit]] = self.columns[at[hit]]
            pending = pending[~hit & (stored != -1)]
            if not pending.size:
                break
        return found


class _Lookup:
    """Run-time tables of one fitted vectorizer: word -> id -> columns. Never saved with the model."""

    def __init__(self, vectorizer: CachedTfidfVectorizer) -> None:
        analyzer = vectorizer.analyzer
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.n_features = len(self.vocabulary)
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.sublinear = bool(vectorizer.sublinear_tf)
        self.norm = vectorizer.norm
        self.use_idf = bool(vectorizer.use_idf)
        self.char = isinstance(analyzer, CharNgrams)
        self.min_n, self.max_n = analyzer.min_n, analyzer.max_n
        self.lock = threading.Lock()
        self.ids = _Ids(self._add)
        if self.char:
            # Columns and counts of each word's character n-grams, as one growing CSR matrix.
            # New words' rows wait in Python lists and are copied in once per batch (``_flush``).
            self.indptr = np.zeros(1024, dtype=np.int32)
            self.indices = np.zeros(8192, dtype=np.int32)
            self.data = np.zeros(8192, dtype=np.int32)
            self.nnz = 0
            self.rows = 0
            self.pending_ends: list[int] = []
            self.pending_columns: list[int] = []
            self.pending_counts: list[int] = []
        else:
            self.unigram = np.full(1024, -1, dtype=np.int64)
            pairs: list[tuple[int, int]] = []
            for term, column in self.vocabulary.items():
                words = term.split(" ")
                if len(words) == 2:
                    pairs.append(((self._id(words[0]) << 32) | self._id(words[1]), column))
                elif len(words) == 1:
                    self._id(words[0])
            self.pairs = _PairTable(pairs)
        self.base = len(self.ids)  # words registered up front (the vocabulary's own)

    def _id(self, word: str) -> int:
        return self.ids[word]

    def _add(self, word: str) -> int:
        index = len(self.ids)
        self.ids[word] = index
        if self.char:
            counts: dict[int, int] = {}
            get = self.vocabulary.get
            for gram in _word_char_ngrams(word, self.min_n, self.max_n):
                column = get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            self.pending_columns += counts
            self.pending_counts += counts.values()
            self.pending_ends.append(self.nnz + len(self.pending_columns))
        else:
            if index >= self.unigram.size:
                grown = np.full(self.unigram.size * 2, -1, dtype=np.int64)
                grown[: self.unigram.size] = self.unigram
                self.unigram = grown
            self.unigram[index] = self.vocabulary.get(word, -1)
        return index

    def _flush(self) -> None:
        """Copy the rows of words met since the last flush into the CSR buffers."""
        added = len(self.pending_ends)
        if not added:
            return
        end = self.pending_ends[-1]
        if self.rows + added + 1 > self.indptr.size:
            self.indptr = np.resize(self.indptr, max(self.rows + added + 1, self.indptr.size * 2))
        if end > self.indices.size:
            size = max(end, self.indices.size * 2)
            self.indices = np.resize(self.indices, size)
            self.data = np.resize(self.data, size)
        self.indices[self.nnz : end] = self.pending_columns
        self.data[self.nnz : end] = self.pending_counts
        self.indptr[self.rows + 1 : self.rows + added + 1] = self.pending_ends
        self.rows += added
        self.nnz = end
        self.pending_ends, self.pending_columns, self.pending_counts = [], [], []

    def counts(self, docs: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Raw term counts of tokenized documents, as ``CountVectorizer`` would give them."""
        lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        indptr = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        with self.lock:
            token_ids = np.fromiter(
                map(self.ids.__getitem__, chain.from_iterable(docs)),
                dtype=np.int64,
                count=int(indptr[-1]),
            )
            if self.char:
                self._flush()
                return self._char_counts(token_ids.astype(np.int32), indptr.astype(np.int32))
        doc_of = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        if self.min_n <= 1:
            unigram = self.unigram[token_ids]
            known = unigram >= 0
            rows.append(doc_of[known])
            cols.append(unigram[known])
        if self.max_n >= 2 and token_ids.size > 1 and self.pairs.size:
            pair_columns = self.pairs.find((token_ids[:-1] << 32) | token_ids[1:])
            hit = (pair_columns >= 0) & (doc_of[:-1] == doc_of[1:])
            rows.append(doc_of[:-1][hit])
            cols.append(pair_columns[hit])
        row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        data = np.ones(row.size, dtype=np.int32)
        return sp.coo_matrix((data, (row, col)), shape=(len(docs), self.n_features)).tocsr()

    def _char_counts(self, token_ids: np.ndarray, doc_indptr: np.ndarray) -> sp.csr_matrix:
        """(documents x words) @ (words x character n-grams): n-gram counts per document."""
        n_docs, size = doc_indptr.size - 1, len(self.ids)
        table_indptr = self.indptr[: size + 1]
        if _csr_matmat is None:  # another SciPy: its public product (two passes) does the same
            docs_words = sp.csr_matrix(
                (np.ones(token_ids.size, dtype=np.int32), token_ids, doc_indptr),
                shape=(n_docs, size),
            )
            table = sp.csr_matrix(
                (self.data[: self.nnz], self.indices[: self.nnz], table_indptr),
                shape=(size, self.n_features),
            )
            return (docs_words @ table).tocsr()
        # SciPy's product first counts the result's size in a pass as costly as the product; the
        # number of term products is an upper bound we know for free, so one pass does.
        bound = int((table_indptr[token_ids + 1] - table_indptr[token_ids]).sum())
        indptr = np.empty(n_docs + 1, dtype=np.int32)
        indices = np.empty(bound, dtype=np.int32)
        data = np.empty(bound, dtype=np.int32)
        _csr_matmat(
            n_docs,
            self.n_features,
            doc_indptr,
            token_ids,
            np.ones(token_ids.size, dtype=np.int32),
            table_indptr,
            self.indices[: self.nnz],
            self.data[: self.nnz],
            indptr,
            indices,
            data,
        )
        nnz = int(indptr[-1])
        return sp.csr_matrix((data[:nnz], indices[:nnz], indptr), shape=(n_docs, self.n_features))

    def tfidf(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """``TfidfTransformer.transform`` on raw counts, in place on a float copy."""
        matrix = sp.csr_matrix(
            (counts.data.astype(np.float64), counts.indices, counts.indptr), shape=counts.shape
        )
        if self.sublinear:
            np.log(matrix.data, out=matrix.data)
            matrix.data += 1.0
        if self.use_idf:
            matrix.data *= self.idf[matrix.indices]
        if self.norm:
            matrix = normalize_rows(matrix, norm=self.norm, copy=False)
        return matrix


class CachedTfidfVectorizer(CompactTfidfVectorizer):
    """``TfidfVectorizer`` with a fast ``transform`` for the ``WordNgrams``/``CharNgrams`` analyzers.

    ``fit`` is scikit-learn's. ``transform`` gives the same matrix as ``TfidfVectorizer.transform``
    (up to float rounding), built from per-word tables filled on first sight of each word. Other
    analyzers, or word n-grams longer than 2, fall back to scikit-learn's own ``transform``.
    """

    def _fast_path(self) -> bool:
        analyzer = self.analyzer
        return isinstance(analyzer, CharNgrams) or (
            isinstance(analyzer, WordNgrams) and analyzer.max_n <= 2
        )

    _lookup: _Lookup | None = None  # run-time cache (class default: none yet)

    def _tables(self) -> _Lookup:
        lookup = self._lookup
        if lookup is None or len(lookup.ids) - lookup.base > TOKEN_CACHE_LIMIT:
            lookup = self._lookup = _Lookup(self)
        return lookup

    def transform(self, raw_documents: Any) -> sp.csr_matrix:
        if isinstance(raw_documents, str):
            # scikit-learn's own message and exception type for this mistake
            raise ValueError(  # noqa: TRY004
                "Iterable over raw text documents expected, string object received."
            )
        check_is_fitted(self, "vocabulary_")
        if not self._fast_path():
            return super().transform(raw_documents)
        return self.transform_tokens([document.split() for document in raw_documents])

    def transform_tokens(self, docs: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """TF-IDF of documents given as lists of words (the normalizer's output, split)."""
        tables = self._tables()
        return tables.tfidf(tables.counts(docs))

    def decision_tokens(self, docs: Sequence[Sequence[str]], coef: np.ndarray) -> np.ndarray:
        """``transform_tokens(docs) @ coef`` without building the normalized matrix.

        A linear model needs only, per document, the dot product of the TF-IDF row with its
        coefficients and the row's norm, both sums over the raw counts.
        """
        tables = self._tables()
        counts = tables.counts(docs)
        values = counts.data.astype(np.float64)
        if tables.sublinear:
            np.log(values, out=values)
            values += 1.0
        if tables.use_idf:
            values *= tables.idf[counts.indices]
        # ``coef`` may be a matrix (one column per linear model): one pass over the counts for all.
        weighted = (
            values[:, None] * coef[counts.indices]
            if coef.ndim == 2
            else values * coef[counts.indices]
        )
        dots = _row_sums(weighted, counts.indptr)
        if tables.norm == "l2":
            norms = np.sqrt(_row_sums(values * values, counts.indptr))
        elif tables.norm == "l1":
            norms = _row_sums(np.abs(values), counts.indptr)
        else:
            return dots
        if dots.ndim == 2:
            norms = norms[:, None]
        return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)

    def __setstate__(self, state: dict[str, object]) -> None:
        super().__setstate__(state)
        self._lookup = None


def _row_sums(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Per-row sums of a CSR matrix's data (0 for empty rows)."""
    sums = np.zeros((indptr.size - 1, *values.shape[1:]), dtype=np.float64)
    filled = np.diff(indptr) > 0
    if filled.any():
        sums[filled] = np.add.reduceat(values, indptr[:-1][filled])
    return sums
