"""Money in ad text: the currency spellings, multipliers and pay periods, and the amounts they make.

Extraction (salary and fees), the model's normalizer (``tok_money_<iso>``), its foreign-pay indicator
and the web highlighter all read the tables below, so that an amount one of them counts as money is
money for all of them.

Decisions taken when three drifted lists became one (the union of the three):

- Spellings are lower case and written without a trailing dot: "Rp." is "rp" followed by a dot, and
  every matcher accepts a dot after any spelling ("Rp.15.000.000", "USD. 800").
- Short Latin spellings ("rm", "sr", "won", "real") count only as whole words: "form 2 lembar" is not
  2 ringgit, "2 srikandi" is not 2 riyal.
- "real" is how Indonesian workers say riyal; "won" and "yen" are both the word and the currency.
- Added beyond the three lists, because the seed corpus and the demo sites write them: NZD, CAD,
  THB, PHP, CNY (corridors the warnings name) and the plurals "dollars", "riyals", "euros". "php"
  is left out: in job ads it is the programming language ("PHP 5 tahun").
- "miliar"/"milyar" imply rupiah like "juta" ("modal 1 miliar"); "k" does not ("1.2k" is written with
  any currency). The unused multiplier "m" was dropped: "5 m" is metres as often as millions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from patroli.text.numbers import parse_number

# Spelling (lower case, as written next to an amount) -> ISO 4217 code.
CURRENCIES: dict[str, str] = {
    "rp": "IDR",
    "idr": "IDR",
    "rupiah": "IDR",
    "usd": "USD",
    "us$": "USD",
    "$": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "dolar": "USD",
    "sar": "SAR",
    "sr": "SAR",
    "riyal": "SAR",
    "riyals": "SAR",
    "real": "SAR",
    "rm": "MYR",
    "myr": "MYR",
    "ringgit": "MYR",
    "nt$": "TWD",
    "ntd": "TWD",
    "twd": "TWD",
    "¥": "JPY",
    "yen": "JPY",
    "jpy": "JPY",
    "₩": "KRW",
    "won": "KRW",
    "krw": "KRW",
    "aed": "AED",
    "dirham": "AED",
    "qar": "QAR",
    "kwd": "KWD",
    "omr": "OMR",
    "hkd": "HKD",
    "hk$": "HKD",
    "sgd": "SGD",
    "s$": "SGD",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "aud": "AUD",
    "a$": "AUD",
    "pln": "PLN",
    "zloty": "PLN",
    "nzd": "NZD",
    "nz$": "NZD",
    "cad": "CAD",
    "c$": "CAD",
    "thb": "THB",
    "baht": "THB",
    "peso": "PHP",
    "pesos": "PHP",
    "cny": "CNY",
    "rmb": "CNY",
    "yuan": "CNY",
}
HOME_CURRENCY = "IDR"
# Words after a number that scale it ("15 jt", "500rb", "1.2k").
MULTIPLIERS: dict[str, float] = {
    "jt": 1e6,
    "juta": 1e6,
    "jeti": 1e6,
    "rb": 1e3,
    "rbu": 1e3,
    "ribu": 1e3,
    "miliar": 1e9,
    "milyar": 1e9,
    "k": 1e3,
}
# Multipliers that are Indonesian words: an amount with one of them and no currency is in rupiah.
RUPIAH_MULTIPLIERS = frozenset(MULTIPLIERS) - {"k"}
# Pay periods after "/", "per", "tiap" or "se" ("/bln", "per month"), Indonesian and English.
PERIODS: dict[str, str] = {
    "bulan": "month",
    "bln": "month",
    "month": "month",
    "mo": "month",
    "jam": "hour",
    "hour": "hour",
    "hr": "hour",
    "hari": "day",
    "day": "day",
    "minggu": "week",
    "mgg": "week",
    "week": "week",
    "tahun": "year",
    "thn": "year",
    "th": "year",
    "year": "year",
}


def is_foreign(code: str) -> bool:
    return code != HOME_CURRENCY


def spellings_of(codes: Iterable[str] | None = None) -> list[str]:
    """Spellings of the currencies ``codes`` (all when None), longest first (for regex alternations)."""
    wanted = set(CURRENCIES.values() if codes is None else codes)
    return sorted((s for s, c in CURRENCIES.items() if c in wanted), key=len, reverse=True)


def currency_pattern(codes: Iterable[str] | None = None) -> str:
    """A regex that matches one written currency (of ``codes``; all when None) as a whole word,
    with its optional dot: ``Rp.``, ``USD``, ``€``, but not the ``rm`` of "form"."""
    alternatives = "|".join(re.escape(s) for s in spellings_of(codes))
    return rf"(?<![^\W\d_])(?:{alternatives})(?![^\W\d_])\.?"


def multiplier_pattern(words: Iterable[str] = MULTIPLIERS) -> str:
    """A regex that matches one multiplier word of ``words`` as a whole word."""
    return r"(?:" + "|".join(sorted(words, key=len, reverse=True)) + r")\b"


# --- amounts -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Money:
    amount: float
    currency: str  # ISO 4217
    period: str  # "month", "hour", "day", "week", "year" or ""
    start: int  # offset in the text, to judge what the amount is about
    end: int


_CUR = currency_pattern()
_NUM = r"\d+(?:[.,]\d+)*"
_MULT = multiplier_pattern()
_RANGE = r"\s?(?:-|–|s/d|sd|sampai|hingga|~)\s?"


def _period(group: str) -> str:
    words = "|".join(sorted(PERIODS, key=len, reverse=True))
    return rf"(?:\s*(?:/|per|tiap|se)\s*(?P<{group}>{words})\b)?"


_MONEY_RE = re.compile(
    rf"(?P<cur1>{_CUR})\s?(?P<num1>{_NUM})(?:\s?(?P<mult1>{_MULT}))?"
    rf"(?:{_RANGE}(?:{_CUR})?\s?(?P<num1b>{_NUM})(?:\s?(?P<mult1b>{_MULT}))?)?"
    + _period("period1")
    + rf"|(?P<num2>{_NUM})(?:\s?(?P<mult2>{_MULT}))?"
    rf"(?:{_RANGE}(?P<num2b>{_NUM})(?:\s?(?P<mult2b>{_MULT}))?)?"
    rf"\s?(?P<cur2>{_CUR})?" + _period("period2"),
    re.IGNORECASE,
)


def extract_money(text: str) -> list[Money]:
    """Return amounts that carry a currency or a multiplier ("jt"), lower bound of any range."""
    found: list[Money] = []
    for m in _MONEY_RE.finditer(text):
        cur = (m.group("cur1") or m.group("cur2") or "").lower().rstrip(".")
        num = m.group("num1") or m.group("num2")
        mult = (m.group("mult1") or m.group("mult2") or "").lower()
        if not cur and not mult:
            continue  # a bare number is an age, a count or a phone fragment, not money
        value = parse_number(num)
        if value is None:
            continue
        value *= MULTIPLIERS.get(mult, 1.0)
        currency = CURRENCIES.get(cur, HOME_CURRENCY if mult in RUPIAH_MULTIPLIERS else "")
        if not currency:
            continue
        if currency == HOME_CURRENCY and value < 1000:
            continue  # "Rp 5" is a typo or a fragment
        period = PERIODS.get((m.group("period1") or m.group("period2") or "").lower(), "")
        found.append(Money(value, currency, period, m.start(), m.end()))
    return found


# --- what an amount is for ------------------------------------------------------------------

_SALARY_CUE_RE = re.compile(
    r"\b(gaji|gj|gajih|salary|upah|income|penghasilan|pendapatan|take home|thp|bergaji|digaji|basic)\b",
    re.IGNORECASE,
)
_FEE_CUE_RE = re.compile(
    r"\b(biaya|bayar|dp|uang jaminan|jaminan|deposit|admin|administrasi|pendaftaran|daftar|"
    r"proses|talangan|potong gaji|potongan|fee|transfer|tf|setor|ongkos|modal|pelatihan|medical)\b",
    re.IGNORECASE,
)


def _nearest_cue_distance(
    cue_re: re.Pattern[str], text: str, money: Money, window: int = 60
) -> int | None:
    best: int | None = None
    lo = max(0, money.start - window)
    for cue in cue_re.finditer(text, lo, min(len(text), money.end + 25)):
        distance = money.start - cue.end() if cue.end() <= money.start else cue.start() - money.end
        distance = abs(distance)
        best = distance if best is None else min(best, distance)
    return best


def classify_money(text: str) -> tuple[Money | None, list[Money]]:
    """Split the amounts in ``text`` into the offered salary and the fees asked of the worker."""
    salary: Money | None = None
    salary_distance = 10**9
    fees: list[Money] = []
    for money in extract_money(text):
        to_salary = _nearest_cue_distance(_SALARY_CUE_RE, text, money)
        to_fee = _nearest_cue_distance(_FEE_CUE_RE, text, money)
        if to_fee is not None and (to_salary is None or to_fee < to_salary):
            fees.append(money)
        elif to_salary is not None and to_salary < salary_distance:
            salary, salary_distance = money, to_salary
        elif salary is None and money.period:
            salary = money
    return salary, fees
