"""Character error rate: how far OCR output is from the known text (edit distance / length).

Texts are compared after the normalization an investigator's search would not care about: case,
and runs of whitespace. Used by the OCR measurements (bench/ocr_quality.py) and their tests.
"""

from __future__ import annotations

import re

_WHITESPACE = re.compile(r"\s+")


def normalized(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip().lower()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions), two rows of memory."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def character_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = normalized(reference), normalized(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return edit_distance(ref, hyp) / len(ref)
