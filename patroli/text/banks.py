"""Bank accounts in ad text: the "transfer biaya ke rekening BRI …" of fee scams.

An account number is read only next to a bank's name or a word for "account" (``rek``, ``rekening``,
``no. rek``), so that a phone number or a price is never taken for one. Accounts are kept as
``BANK:DIGITS`` (``BRI:002101555123504``), the bank's short name in capitals, the number without
separators, and are linked across ads like phone numbers (the public check for them is cekrekening).
"""

from __future__ import annotations

import re

from patroli.text.numbers import digit_view

# Short name -> the ways ads write the bank (lower case). Digital wallets (DANA, OVO, GoPay) are
# phone numbers, which extraction reads already.
BANKS: dict[str, tuple[str, ...]] = {
    "BRI": ("bri", "bank rakyat indonesia", "britama"),
    "BNI": ("bni", "bank negara indonesia"),
    "BCA": ("bca", "bank central asia"),
    "MANDIRI": ("mandiri", "bank mandiri"),
    "BSI": ("bsi", "bank syariah indonesia"),
    "BTN": ("btn",),
    "CIMB": ("cimb", "cimb niaga"),
    "DANAMON": ("danamon",),
    "PERMATA": ("permata",),
    "BJB": ("bjb",),
    "JAGO": ("bank jago",),
    "SEABANK": ("seabank",),
}
BANK_OF_NAME = {name: code for code, names in BANKS.items() for name in names}
_NAMES = "|".join(sorted((re.escape(n) for n in BANK_OF_NAME), key=len, reverse=True))
_ACCOUNT_WORDS = r"(?:no\.?\s*)?(?:rek(?:ening)?\.?|acc(?:ount)?\.?|norek)"
# "<account word>? <bank> <separator>? <number>" or "<bank> <account word> <number>", the number a
# run of 8 to 16 digits with single spaces, dots or dashes between groups.
_ACCOUNT_RE = re.compile(
    rf"(?:{_ACCOUNT_WORDS}\s*)?\b(?P<bank>{_NAMES})\b\s*(?:{_ACCOUNT_WORDS})?\s*[:.\-]?\s*"
    r"(?:(?:no|nomor|nomer)\.?\s*)?(?P<number>\d(?:[ .\-]?\d){7,19})(?!\d)",
    re.IGNORECASE,
)
_PHONE_START = ("08", "628", "+62")


def extract_bank_accounts(text: str) -> list[str]:
    """Distinct ``BANK:DIGITS`` accounts named in ``text``, in order of appearance."""
    found: dict[str, None] = {}
    for match in _ACCOUNT_RE.finditer(digit_view(text)):
        digits = re.sub(r"\D", "", match.group("number"))
        if not 8 <= len(digits) <= 16 or digits.startswith(_PHONE_START):
            continue  # a phone number written after the bank's name ("BRI a.n. … 0812…")
        found[f"{BANK_OF_NAME[match.group('bank').lower()]}:{digits}"] = None
    return list(found)


def normalize_bank_account(value: str) -> str:
    """``bca:8720-555-123`` -> ``BCA:8720555123``; raise ``ValueError`` for anything else."""
    bank, _, number = value.partition(":")
    code = BANK_OF_NAME.get(bank.strip().lower(), bank.strip().upper())
    digits = re.sub(r"[\s.\-]", "", number)
    if code not in BANKS or not digits.isdigit() or not 8 <= len(digits) <= 16:
        raise ValueError(f"bank:{value} must be BANK:NUMBER, e.g. bank:BRI:002101555123504")
    return f"{code}:{digits}"
