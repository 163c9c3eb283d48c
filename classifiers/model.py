"""The risk model's shape, defined once: ``build_pipeline(**params)``.

text -> normalize -> [word TF-IDF | char TF-IDF | red-flag indicators] -> StackedRiskClassifier:
genre (ad, report, other) and risk = max(calibrated text model, monotone indicator scorecard),
raised to the threshold when two strong red flags fire (``classifiers.stacked``).
"""

from __future__ import annotations

from inspect import signature

from sklearn.pipeline import FeatureUnion, Pipeline

from classifiers.features import CachedTfidfVectorizer, CharNgrams, RedFlagFeatures, WordNgrams
from classifiers.indicators import INDICATORS
from classifiers.stacked import StackedRiskClassifier
from classifiers.textnorm import IndonesianTextNormalizer


# The text model's defaults were chosen by ``python -m classifiers.tune`` on out-of-fold predictions
# over the train split only (stages 1-4, docs/classifier.md): C=64 was best both on random folds and
# with whole destination corridors left out. The indicator columns feed the genre model (at
# ``flag_weight``) and the scorecard (as 0/1), no longer the text model.
def build_pipeline(
    C: float = 64.0,
    word_ngrams: tuple[int, int] = (1, 2),
    char_ngrams: tuple[int, int] = (2, 4),
    min_df: int = 2,
    flag_weight: float = 0.25,
    calibration_folds: int = 5,
    card_C: float = 1.0,
    genre_C: float = 8.0,
    card: bool = True,
    floor: bool = True,
    flags_in_text: bool = False,
) -> Pipeline:
    """Return an unfitted pipeline; ``fit(texts, labels)`` then ``predict_proba(texts)``."""
    features = FeatureUnion(
        [
            # Analyzers that read the normalizer's space-separated tokens, with per-word caching.
            (
                "words",
                CachedTfidfVectorizer(
                    analyzer=WordNgrams(*word_ngrams), min_df=min_df, sublinear_tf=True
                ),
            ),
            (
                "chars",
                CachedTfidfVectorizer(
                    analyzer=CharNgrams(*char_ngrams),
                    min_df=min_df,
                    sublinear_tf=True,
                    max_features=60000,
                ),
            ),
            ("red_flags", RedFlagFeatures(weight=flag_weight)),
        ]
    )
    classifier = StackedRiskClassifier(
        flag_codes=tuple(i.code for i in INDICATORS),
        directions=tuple(i.direction for i in INDICATORS),
        C=C,
        card_C=card_C,
        genre_C=genre_C,
        calibration_folds=calibration_folds,
        card=card,
        floor=floor,
        flags_in_text=flags_in_text,
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
