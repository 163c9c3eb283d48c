"""The risk model's shape, defined once: ``build_pipeline(**params)``.

text -> normalize -> [word TF-IDF | char TF-IDF | red-flag indicators] -> logistic regression,
calibrated with Platt scaling on cross-validated predictions so that ``risk`` is a probability.
"""

from __future__ import annotations

from inspect import signature

from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from classifiers.features import CachedTfidfVectorizer, CharNgrams, RedFlagFeatures, WordNgrams
from classifiers.textnorm import IndonesianTextNormalizer


# The defaults were chosen by ``python -m classifiers.tune`` on out-of-fold predictions over the
# train split only (stages 1-4, docs/classifier.md): C=64 and indicator weight 0.25 were best both
# on random folds and with whole destination corridors left out.
def build_pipeline(
    C: float = 64.0,
    word_ngrams: tuple[int, int] = (1, 2),
    char_ngrams: tuple[int, int] = (2, 4),
    min_df: int = 2,
    flag_weight: float = 0.25,
    calibration_folds: int = 5,
    calibration: str = "sigmoid",
) -> Pipeline:
    """Return an unfitted pipeline; ``fit(texts, labels)`` then ``predict_proba(texts)``."""
    features = FeatureUnion(
        [
            # Analyzers that read the normalizer's space-separated tokens, with per-word caching.
            ("words", CachedTfidfVectorizer(analyzer=WordNgrams(*word_ngrams), min_df=min_df, sublinear_tf=True)),
            ("chars", CachedTfidfVectorizer(analyzer=CharNgrams(*char_ngrams), min_df=min_df, sublinear_tf=True,
                                             max_features=60000)),
            ("red_flags", RedFlagFeatures(weight=flag_weight)),
        ]
    )  # fmt: skip
    classifier = CalibratedClassifierCV(
        LogisticRegression(C=C, class_weight="balanced", max_iter=5000),
        method=calibration,
        cv=calibration_folds,
        ensemble=False,  # one model fit on all data + one calibrator: explainable, fast to score
    )
    return Pipeline(
        [
            ("normalize", IndonesianTextNormalizer()),
            ("features", features),
            ("classifier", classifier),
        ]
    )


# The defaults of ``build_pipeline``, by name (what training records in a model card).
DEFAULT_PARAMS: dict[str, object] = {
    name: parameter.default for name, parameter in signature(build_pipeline).parameters.items()
}
