"""Pure functions that read entities out of ad text: phones, messenger contacts, places, money.

Investigators link recruiters across sites by phone numbers and handles, and recruiters obfuscate
them ("08l2 555one 2345", spaced digits, keycap emoji). Everything here is a pure function of the
text so that it can be tested on strings and reused outside the crawl (``patroli classify``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers

DEFAULT_REGION = "ID"

# --- phone numbers -------------------------------------------------------------------------

_NUMBER_WORDS = {
    "nol": "0", "kosong": "0", "zero": "0", "satu": "1", "one": "1", "dua": "2", "two": "2",
    "tiga": "3", "three": "3", "empat": "4", "four": "4", "lima": "5", "five": "5",
    "enam": "6", "six": "6", "tujuh": "7", "seven": "7", "delapan": "8", "eight": "8",
    "sembilan": "9", "nine": "9",
}  # fmt: skip
_NUMBER_WORD_RE = re.compile(
    r"(?:(?<=[0-9])|(?<=[0-9][\s\-.]))("
    + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
    + r")\b|\b("
    + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
    + r")(?=[\s\-.]?[0-9])",
    re.IGNORECASE,
)  # a number word counts only next to a digit: "0813 lima lima lima 7", never "sopir lima hari"
# Letters that recruiters swap for digits, only when they sit between digits ("08l2", "555o1").
_CONFUSABLE_RE = re.compile(r"(?<=[0-9])[lIoO|]+(?=[\s\-.]?[0-9])")
_CONFUSABLE_MAP = str.maketrans({"l": "1", "I": "1", "|": "1", "o": "0", "O": "0"})
_KEYCAP_RE = re.compile("([0-9])\ufe0f?\u20e3")
# A national mobile number (08…) or +62 8…, with any separators between the digits.
_ID_MOBILE_RE = re.compile(r"(?<![0-9])(?:\+\s?62|62|0)[\s\-.()]*8(?:[\s\-.()]*[0-9]){7,12}")
_WHATSAPP_RE = re.compile(
    r"(?:wa\.me/|api\.whatsapp\.com/send/?\?phone=|whatsapp\.com/send/?\?phone=)\+?([0-9]{8,15})",
    re.IGNORECASE,
)


def digit_view(text: str) -> str:
    """Undo common digit obfuscation so that phone matching sees plain digits."""
    text = unicodedata.normalize("NFKC", text)  # fullwidth and mathematical digits -> ASCII
    text = _KEYCAP_RE.sub(r"\1", text)
    for _ in range(6):  # each pass converts the words next to digits; runs of words need more
        converted = _NUMBER_WORD_RE.sub(
            lambda m: _NUMBER_WORDS[(m.group(1) or m.group(2)).lower()], text
        )
        if converted == text:
            break
        text = converted
    return _CONFUSABLE_RE.sub(lambda m: m.group(0).translate(_CONFUSABLE_MAP), text)


def _to_e164(number: phonenumbers.PhoneNumber) -> str | None:
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse_digits(digits: str, region: str) -> str | None:
    try:
        return _to_e164(phonenumbers.parse(digits, region))
    except phonenumbers.NumberParseException:
        return None


_THOUSANDS_RE = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
_CURRENCY_BEFORE_RE = re.compile(r"(?:rp|idr|usd|\$|rm|sar|ntd?|¥|€)\.?\s*$", re.IGNORECASE)


def _looks_like_money(text: str, start: int, raw: str) -> bool:
    """ "Rp 1.500.000" is a price, even where a short number like it would be a valid phone."""
    return bool(_THOUSANDS_RE.fullmatch(raw.strip())) or bool(
        _CURRENCY_BEFORE_RE.search(text[max(0, start - 5) : start])
    )


# A run of digits that may be a phone number: an optional +country code, an optional (area code),
# then digits with short separators between them ("0812-5551-2345", "0 8 1 2 - 5 5 5 1 - …").
_PHONE_CANDIDATE_RE = re.compile(
    r"(?<![\w.,])(?:\+\s?\d{1,3}[\s\-.]?)?(?:\(\d{1,4}\)\s?)?\d(?:[\s\-.()]{0,3}\d){6,}"
)
_GROUP_SPLIT_RE = re.compile(r"[\s\-.()]+")


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


# --- handles, e-mails, links ---------------------------------------------------------------

_TME_RE = re.compile(
    r"(?:https?://)?(?:t\.me|telegram\.me|telegram\.dog)/(?:s/)?([A-Za-z][A-Za-z0-9_]{3,31})\b"
)
_AT_HANDLE_RE = re.compile(r"(?<![\w.@/])@([A-Za-z][A-Za-z0-9_]{3,31})\b")
_EMAIL_RE = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,24}\b")
_URL_RE = re.compile(r"\bhttps?://[^\s<>\"'()\[\]{}]+", re.IGNORECASE)
_TME_RESERVED = {"joinchat", "addstickers", "share", "iv", "proxy", "socks", "setlanguage"}


def extract_telegram_handles(text: str) -> list[str]:
    """Return Telegram usernames from t.me links and @mentions, as lower-case ``@name``."""
    found: dict[str, None] = {}
    for name in _TME_RE.findall(text):
        if name.lower() not in _TME_RESERVED:
            found["@" + name.lower()] = None
    for name in _AT_HANDLE_RE.findall(text):
        found["@" + name.lower()] = None
    return list(found)


def extract_emails(text: str) -> list[str]:
    return list(dict.fromkeys(e.lower().rstrip(".") for e in _EMAIL_RE.findall(text)))


def extract_links(text: str) -> list[str]:
    return list(dict.fromkeys(u.rstrip(".,;:!?") for u in _URL_RE.findall(text)))


# --- destination countries -----------------------------------------------------------------

# Names an ad uses for a destination: Indonesian and English country names, common abbreviations,
# and the cities and border towns the warnings name (indicators.md §2). Matched as whole words.
_PLACES: dict[str, tuple[str, ...]] = {
    "KH": ("kamboja", "cambodia", "kampuchea", "phnom penh", "sihanoukville", "sihanouk", "bavet", "poipet", "siem reap"),
    "MM": ("myanmar", "burma", "myawaddy", "myawadi", "shwe kokko", "kk park", "yangon"),
    "LA": ("laos", "bokeo", "golden triangle", "segitiga emas", "vientiane"),
    "TH": ("thailand", "bangkok", "mae sot", "chiang rai", "chiangrai", "pattaya", "phuket"),
    "PH": ("filipina", "philippines", "manila", "cebu", "pasay", "pogo"),
    "VN": ("vietnam", "hanoi", "ho chi minh", "saigon"),
    "MY": ("malaysia", "kuala lumpur", "johor", "sabah", "sarawak", "penang", "selangor", "tawau", "kota kinabalu", "kuching"),
    "SG": ("singapura", "singapore"),
    "BN": ("brunei",),
    "SA": ("arab saudi", "saudi arabia", "saudi", "riyadh", "jeddah", "jeddah", "jedah", "mekah", "makkah", "mecca", "madinah", "dammam"),
    "AE": ("uni emirat arab", "emirat arab", "united arab emirates", "dubai", "abu dhabi", "abudhabi", "sharjah"),
    "QA": ("qatar", "doha"),
    "KW": ("kuwait",),
    "OM": ("oman", "muscat"),
    "BH": ("bahrain", "manama"),
    "JO": ("yordania", "jordan", "amman"),
    "EG": ("mesir", "egypt", "kairo", "cairo"),
    "TR": ("turki", "turkey", "turkiye", "türkiye", "istanbul", "ankara"),
    "IQ": ("irak", "iraq", "erbil", "baghdad"),
    "SY": ("suriah", "syria", "damaskus"),
    "LB": ("lebanon", "libanon", "beirut"),
    "LY": ("libya", "tripoli"),
    "DZ": ("aljazair", "algeria"),
    "MA": ("maroko", "morocco"),
    "YE": ("yaman", "yemen"),
    "JP": ("jepang", "japan", "tokyo", "osaka", "nagoya", "nihon"),
    "KR": ("korea selatan", "korsel", "south korea", "korea", "seoul", "busan", "hanguk"),
    "TW": ("taiwan", "taipei", "taichung", "kaohsiung"),
    "HK": ("hong kong", "hongkong"),
    "MO": ("macau", "makau"),
    "CN": ("tiongkok", "china", "rrt"),
    "DE": ("jerman", "germany", "deutschland", "berlin", "munchen"),
    "PL": ("polandia", "poland", "warsawa", "warsaw"),
    "PT": ("portugal", "lisbon", "lisboa"),
    "ES": ("spanyol", "spain", "madrid"),
    "GR": ("yunani", "greece"),
    "CZ": ("ceko", "czech", "czechia"),
    "NL": ("belanda", "netherlands"),
    "IT": ("italia", "italy"),
    "GB": ("inggris", "united kingdom", "britania raya", "london"),
    "RO": ("rumania", "romania"),
    "HU": ("hongaria", "hungary"),
    "AU": ("australia", "sydney", "melbourne", "perth"),
    "NZ": ("selandia baru", "new zealand"),
    "CA": ("kanada", "canada"),
    "US": ("amerika serikat", "united states", "amerika", "usa"),
    "FJ": ("fiji",),
    "MU": ("mauritius",),
    "PE": ("peru",),
}  # fmt: skip
# Abbreviations that are only places when written in capitals ("KL" is also slang for "kalau").
_UPPER_PLACES = {"KSA": "SA", "UEA": "AE", "UAE": "AE", "KL": "MY", "HK": "HK", "KH": "KH",
                 "TW": "TW", "JPN": "JP", "RRC": "CN", "PNG": ""}  # fmt: skip
# Names by first word, longest first, so that one scan over the words finds "arab saudi" and "saudi".
_PLACES_BY_FIRST_WORD: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _code, _names in _PLACES.items():
    for _name in _names:
        _words = tuple(_name.split())
        _PLACES_BY_FIRST_WORD.setdefault(_words[0], []).append((_words, _code))
for _candidates in _PLACES_BY_FIRST_WORD.values():
    _candidates.sort(key=lambda c: -len(c[0]))
_WORD_TOKEN_RE = re.compile(r"[^\W\d_]+")
_UPPER_RE = re.compile(r"\b(" + "|".join(k for k, v in _UPPER_PLACES.items() if v) + r")\b")
_FLAG_RE = re.compile("([\U0001f1e6-\U0001f1ff])([\U0001f1e6-\U0001f1ff])")


def extract_countries(text: str) -> list[str]:
    """Return ISO 3166-1 alpha-2 codes of the foreign places named in ``text`` (Indonesia excluded)."""
    hits: list[tuple[int, str]] = []
    words = [(m.start(), m.group(0).lower()) for m in _WORD_TOKEN_RE.finditer(text)]
    i = 0
    while i < len(words):
        for names, code in _PLACES_BY_FIRST_WORD.get(words[i][1], ()):
            if tuple(w for _, w in words[i : i + len(names)]) == names:
                hits.append((words[i][0], code))
                i += len(names) - 1
                break
        i += 1
    hits += [(m.start(), _UPPER_PLACES[m.group(1)]) for m in _UPPER_RE.finditer(text)]
    for m in _FLAG_RE.finditer(text):
        code = "".join(chr(ord(c) - 0x1F1E6 + ord("A")) for c in m.groups())
        hits.append((m.start(), code))
    return [c for c in dict.fromkeys(code for _, code in sorted(hits)) if c and c != "ID"]


# --- money ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Money:
    amount: float
    currency: str  # ISO 4217
    period: str  # "month", "hour", "day", "week", "year" or ""
    start: int  # offset in the text, to judge what the amount is about
    end: int


_CURRENCY_WORDS = {
    "rp": "IDR", "idr": "IDR", "rupiah": "IDR",
    "usd": "USD", "us$": "USD", "$": "USD", "dollar": "USD", "dolar": "USD",
    "sar": "SAR", "sr": "SAR", "riyal": "SAR", "real": "SAR",
    "rm": "MYR", "myr": "MYR", "ringgit": "MYR",
    "nt$": "TWD", "ntd": "TWD", "twd": "TWD",
    "¥": "JPY", "yen": "JPY", "jpy": "JPY",
    "₩": "KRW", "won": "KRW", "krw": "KRW",
    "aed": "AED", "dirham": "AED", "qar": "QAR", "kwd": "KWD", "omr": "OMR",
    "hkd": "HKD", "hk$": "HKD", "sgd": "SGD", "s$": "SGD", "€": "EUR", "eur": "EUR", "euro": "EUR",
    "£": "GBP", "gbp": "GBP", "aud": "AUD", "a$": "AUD", "pln": "PLN", "zloty": "PLN",
}  # fmt: skip
_MULTIPLIERS = {"jt": 1e6, "juta": 1e6, "jeti": 1e6, "rb": 1e3, "ribu": 1e3, "k": 1e3, "rbu": 1e3,
                "miliar": 1e9, "milyar": 1e9, "m": 1e6}  # fmt: skip
_CUR = "|".join(re.escape(c) for c in sorted(_CURRENCY_WORDS, key=len, reverse=True))
_NUM = r"\d+(?:[.,]\d+)*"
_MULT = r"(?:jt|juta|jeti|rb|rbu|ribu|k|miliar|milyar)\b"


def _period(group: str) -> str:
    return (
        rf"(?:\s*(?:/|per|tiap|se)\s*(?P<{group}>bulan|bln|month|mo|jam|hour|hr|hari|day|minggu|"
        r"week|tahun|thn|year)\b)?"
    )


_MONEY_RE = re.compile(
    rf"(?P<cur1>{_CUR})\s?(?P<num1>{_NUM})(?:\s?(?P<mult1>{_MULT}))?"
    rf"(?:\s?(?:-|–|s/d|sd|sampai|hingga|~)\s?(?:{_CUR})?\s?(?P<num1b>{_NUM})(?:\s?(?P<mult1b>{_MULT}))?)?"
    + _period("period1")
    + rf"|(?P<num2>{_NUM})(?:\s?(?P<mult2>{_MULT}))?"
    rf"(?:\s?(?:-|–|s/d|sd|sampai|hingga|~)\s?(?P<num2b>{_NUM})(?:\s?(?P<mult2b>{_MULT}))?)?"
    rf"\s?(?P<cur2>{_CUR})?" + _period("period2"),
    re.IGNORECASE,
)
_PERIODS = {"bulan": "month", "bln": "month", "month": "month", "mo": "month", "jam": "hour",
            "hour": "hour", "hr": "hour", "hari": "day", "day": "day", "minggu": "week",
            "week": "week", "tahun": "year", "thn": "year", "year": "year"}  # fmt: skip


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


def extract_money(text: str) -> list[Money]:
    """Return amounts that carry a currency or a multiplier ("jt"), lower bound of any range."""
    found: list[Money] = []
    for m in _MONEY_RE.finditer(text):
        cur = (m.group("cur1") or m.group("cur2") or "").lower()
        num = m.group("num1") or m.group("num2")
        mult = (m.group("mult1") or m.group("mult2") or "").lower()
        if not cur and not mult:
            continue  # a bare number is an age, a count or a phone fragment, not money
        value = parse_number(num)
        if value is None:
            continue
        value *= _MULTIPLIERS.get(mult, 1.0)
        currency = _CURRENCY_WORDS.get(
            cur, "IDR" if mult in {"jt", "juta", "jeti", "rb", "ribu", "rbu"} else ""
        )
        if not currency:
            continue
        if currency == "IDR" and value < 1000:
            continue  # "Rp 5" is a typo or a fragment
        period = _PERIODS.get((m.group("period1") or m.group("period2") or "").lower(), "")
        found.append(Money(value, currency, period, m.start(), m.end()))
    return found


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
