"""What template clustering compares: an ad's text, normalised, cut into shingles; and the parts in
which two versions of one template differ.

Recruiters repost one template with another number, amount, date or emoji. The normalisation here
keeps every one of those (digits, phone numbers, emoji and other non-ASCII text stay in what is
compared): a clusterer that strips them would also lose the very numbers that link recruiters, and
near-duplicates still fall together because a changed number moves only the few shingles around it.
It only folds what never carries meaning: Unicode compatibility forms, case, and runs of spaces.

The shingle kind and size were chosen by measurement against the demo data's ground truth
(``bench/cluster_shingles.py``; docs/networks.md has the table): word 3-grams.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from difflib import SequenceMatcher

SHINGLE_KIND = "word"  # "word" n-grams or "char" k-grams
SHINGLE_SIZE = 3
# Texts longer than this are compared on their first part only (hostile input is bounded; a template
# shows itself in its first few thousand characters).
MAX_CHARS = 20_000

_SPACES_RE = re.compile(r"\s+")
# A token is a run of word characters (letters of any script, digits) or one other visible character
# (punctuation, an emoji): "wa.me/628…" keeps its digits, "🇰🇭" its two regional indicators.
_TOKEN_RE = re.compile(r"\w+|[^\w\s]")


def normalize_for_template(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed; digits, contacts and non-ASCII text kept."""
    folded = unicodedata.normalize("NFKC", text[:MAX_CHARS]).casefold()
    return _SPACES_RE.sub(" ", folded).strip()


def tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(normalize_for_template(text))


def shingles(text: str, kind: str = SHINGLE_KIND, size: int = SHINGLE_SIZE) -> set[str]:
    """The set of word n-grams or character k-grams of the normalised text (never empty for a
    non-empty text: a text shorter than one shingle is one shingle)."""
    if kind == "char":
        normalized = normalize_for_template(text)
        if not normalized:
            return set()
        return {normalized[i : i + size] for i in range(max(1, len(normalized) - size + 1))}
    if kind != "word":
        raise ValueError(f"shingle kind must be 'word' or 'char', not {kind!r}")
    words = tokens(text)
    if not words:
        return set()
    return {" ".join(words[i : i + size]) for i in range(max(1, len(words) - size + 1))}


def template_text(title: str | None, text: str | None) -> str:
    """The part of an ad that makes its template: title and body together."""
    return f"{title or ''}\n{text or ''}".strip()


def template_parts(texts: Sequence[str], limit: int = 4000) -> list[tuple[str, bool]]:
    """The template of several versions of one text, as (fragment, varies) pairs: the tokens of the
    first version, each run marked ``varies`` where some other version differs there.

    Pure and bounded: at most ``limit`` tokens of each version and 20 versions are compared."""
    if not texts:
        return []
    base = _TOKEN_SPLIT_RE.findall(texts[0])[:limit]
    varies = [False] * len(base)
    for other in texts[1:20]:
        theirs = _TOKEN_SPLIT_RE.findall(other)[:limit]
        matcher = SequenceMatcher(
            None, [t.casefold() for t in base], [t.casefold() for t in theirs], autojunk=False
        )
        for tag, i1, i2, _, _ in matcher.get_opcodes():
            if tag != "equal":
                for i in range(i1, i2):
                    varies[i] = True
    for i in range(len(base)):
        # Spaces and punctuation between two varying tokens vary with them ("0812-5551-2345" is one
        # run); a space at the edge of a run does not.
        inner = base[i].isspace() or not base[i].isalnum()
        if inner and 0 < i < len(base) - 1:
            varies[i] = (
                varies[i - 1] and varies[i + 1]
                if base[i].isspace()
                else varies[i] or (varies[i - 1] and varies[i + 1])
            )
        elif base[i].isspace():
            varies[i] = False
    parts: list[tuple[str, bool]] = []
    for token, flag in zip(base, varies, strict=True):
        if parts and parts[-1][1] == flag:
            parts[-1] = (parts[-1][0] + token, flag)
        else:
            parts.append((token, flag))
    return parts


# Like _TOKEN_RE, but keeps the spaces (as tokens) so that the template reads as the text did.
_TOKEN_SPLIT_RE = re.compile(r"\w+|\s+|[^\w\s]")
