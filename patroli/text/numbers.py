"""Numbers as ads write them: digit words, digit look-alikes, and Indonesian or English notation.

Recruiters spell phone numbers so that filters miss them ("0813 lima lima lima 7781", "08l2 555o1",
keycap emoji, fullwidth digits). ``digit_view`` undoes that for extraction; the model's normalizer
uses the same words and letters to notice that it has to.
"""

from __future__ import annotations

import re
import unicodedata

# Digit words, Indonesian and English ("kosong" is how Indonesians read a 0 in a phone number).
NUMBER_WORDS: dict[str, str] = {
    "nol": "0",
    "kosong": "0",
    "zero": "0",
    "satu": "1",
    "one": "1",
    "dua": "2",
    "two": "2",
    "tiga": "3",
    "three": "3",
    "empat": "4",
    "four": "4",
    "lima": "5",
    "five": "5",
    "enam": "6",
    "six": "6",
    "tujuh": "7",
    "seven": "7",
    "delapan": "8",
    "eight": "8",
    "sembilan": "9",
    "nine": "9",
}
# Letters that recruiters swap for digits; only read as digits where they touch a digit ("08l2").
CONFUSABLE_DIGITS: dict[str, str] = {"l": "1", "I": "1", "|": "1", "o": "0", "O": "0"}

_WORDS = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
# A number word counts only next to a digit: "0813 lima lima lima 7", never "sopir lima hari".
_NUMBER_WORD_RE = re.compile(
    rf"(?:(?<=[0-9])|(?<=[0-9][\s\-.]))({_WORDS})\b|\b({_WORDS})(?=[\s\-.]?[0-9])", re.IGNORECASE
)
_CONFUSABLE_RE = re.compile(
    rf"(?<=[0-9])[{re.escape(''.join(CONFUSABLE_DIGITS))}]+(?=[\s\-.]?[0-9])"
)
_CONFUSABLE_MAP = str.maketrans(CONFUSABLE_DIGITS)
_KEYCAP_RE = re.compile("([0-9])\ufe0f?\u20e3")


def digit_view(text: str) -> str:
    """Undo common digit obfuscation so that phone matching sees plain digits."""
    text = unicodedata.normalize("NFKC", text)  # fullwidth and mathematical digits -> ASCII
    text = _KEYCAP_RE.sub(r"\1", text)
    for _ in range(6):  # each pass converts the words next to digits; runs of words need more
        converted = _NUMBER_WORD_RE.sub(
            lambda m: NUMBER_WORDS[(m.group(1) or m.group(2)).lower()], text
        )
        if converted == text:
            break
        text = converted
    return _CONFUSABLE_RE.sub(lambda m: m.group(0).translate(_CONFUSABLE_MAP), text)


def parse_number(raw: str) -> float | None:
    """Parse "15.000.000", "1,200", "4,5", "1.5" the way Indonesian and English ads write them."""
    groups = re.split(r"[.,]", raw)
    if len(groups) == 1:
        return float(raw)
    seps = re.findall(r"[.,]", raw)
    if all(len(g) == 3 for g in groups[1:]) and (len(set(seps)) == 1 or len(groups) > 2):
        return float("".join(groups))  # thousands separators only
    if len(set(seps)) == 2:  # "1.200,50" or "1,200.50": the last one is the decimal mark
        whole, frac = raw[: raw.rfind(seps[-1])], raw[raw.rfind(seps[-1]) + 1 :]
        return float(re.sub(r"[.,]", "", whole) + "." + frac)
    if len(groups) == 2:
        return float(groups[0] + "." + groups[1])
    return None
