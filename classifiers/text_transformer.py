"""What the model's own transformers share: they read a 1-D sequence of texts, not a 2-D array.

scikit-learn learns that from an estimator's tags (``__sklearn_tags__``), and its checks and
meta-estimators read them; the normalizer and the red-flag features declare them here, once.
"""

from __future__ import annotations

from typing import ClassVar

from sklearn.base import TransformerMixin
from sklearn.utils import Tags


class TextTransformerMixin(TransformerMixin):
    """Mixin (before ``BaseEstimator``) for transformers of raw or normalized texts."""

    # True where ``fit`` learns nothing, so that ``transform`` works on an unfitted instance.
    stateless: ClassVar[bool] = False

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = not self.stateless
        return tags
