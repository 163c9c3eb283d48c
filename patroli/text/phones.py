"""Phone numbers in ad text, obfuscated or not, as E.164; and the numbers behind WhatsApp links.

Investigators link recruiters across sites by their numbers, and recruiters write them so that
filters miss them ("08l2 555one 2345", spaced digits, keycap emoji): matching runs on
``numbers.digit_view``. Numbers without a country code are read as Indonesian (``DEFAULT_REGION``),
here and in the store's ``phone:`` filter.
"""

from __future__ import annotations

import re

import phonenumbers

from patroli.text.money import currency_pattern, spellings_of
from patroli.text.numbers import digit_view

DEFAULT_REGION = "ID"

# WhatsApp click-to-chat links carry the number in international form.
_WHATSAPP_RE = re.compile(
    r"(?:wa\.me/|api\.whatsapp\.com/send/?\?phone=|whatsapp\.com/send/?\?phone=)\+?([0-9]{8,15})",
    re.IGNORECASE,
)
# A run of digits that may be a phone number: an optional +country code, an optional (area code),
# then digits with short separators between them ("0812-5551-2345", "0 8 1 2 - 5 5 5 1 - …").
_PHONE_CANDIDATE_RE = re.compile(
    r"(?<![\w.,])(?:\+\s?\d{1,3}[\s\-.]?)?(?:\(\d{1,4}\)\s?)?\d(?:[\s\-.()]{0,3}\d){6,}"
)
_GROUP_SPLIT_RE = re.compile(r"[\s\-.()]+")
_THOUSANDS_RE = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
_CURRENCY_BEFORE_RE = re.compile(currency_pattern() + r"\s*$", re.IGNORECASE)
_CURRENCY_WINDOW = max(map(len, spellings_of())) + 3  # the longest spelling, its dot and spaces


def _to_e164(number: phonenumbers.PhoneNumber) -> str | None:
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse_digits(digits: str, region: str) -> str | None:
    try:
        return _to_e164(phonenumbers.parse(digits, region))
    except phonenumbers.NumberParseException:
        return None


def _looks_like_money(text: str, start: int, raw: str) -> bool:
    """ "Rp 1.500.000" is a price, even where a short number like it would be a valid phone."""
    return bool(_THOUSANDS_RE.fullmatch(raw.strip())) or bool(
        _CURRENCY_BEFORE_RE.search(text[max(0, start - _CURRENCY_WINDOW) : start])
    )


def _numbers_in(candidate: str, region: str) -> list[str]:
    """Valid numbers in a digit run; a run can hold two numbers written one after the other."""
    groups = [g for g in _GROUP_SPLIT_RE.split(candidate.strip()) if g]
    found: list[str] = []
    current: list[str] = []
    for group in groups:
        # Only a group that can open a number ("0813", "+62", "628…") may end the one before it.
        starts_new = len(group) >= 3 and group.startswith(("0", "+", "62"))
        if current and starts_new and (number := _parse_digits("".join(current), region)):
            found.append(number)
            current = []
        current.append(group)
    # "0812-5551-2345 2 orang": a short group after well-formed ones is a count, not digits.
    count_after = (
        len(current) >= 3 and len(current[-1]) <= 2 and min(len(g) for g in current[:-1]) >= 3
    )
    if count_after and (number := _parse_digits("".join(current[:-1]), region)):
        return [*found, number]
    while current:
        if number := _parse_digits("".join(current), region):
            found.append(number)
            break
        current.pop()  # a trailing count or price glued to the number ("0812-5551-2345 2 orang")
    return found


def extract_phones(text: str, region: str = DEFAULT_REGION) -> list[str]:
    """Return the distinct valid phone numbers in ``text`` as E.164 strings, in order of appearance."""
    view = digit_view(text)
    found: dict[str, None] = {}
    for match in _PHONE_CANDIDATE_RE.finditer(view):
        if _looks_like_money(view, match.start(), match.group(0)):
            continue
        for number in _numbers_in(match.group(0), region):
            found[number] = None
    for number in _WHATSAPP_RE.findall(view):
        if e164 := _parse_digits("+" + number, region):
            found[e164] = None
    return list(found)


def extract_whatsapp(text: str, region: str = DEFAULT_REGION) -> list[str]:
    """Return the E.164 numbers behind WhatsApp click-to-chat links."""
    found: dict[str, None] = {}
    for number in _WHATSAPP_RE.findall(text):
        if e164 := _parse_digits("+" + number, region):
            found[e164] = None
    return list(found)
