"""Normalize Indonesian ad text before features see it: case, slang, numbers, money, contacts.

Recruiters write "gj 15jt/bln, brgkt cpt, japri 08xx"; the agency down the road writes "gaji Rp
15.000.000 per bulan". Mapping both to the same tokens lets a small corpus generalize. The output
is lower-case, space-separated tokens of ``[a-z0-9_]`` with placeholders (``tok_phone``,
``tok_money_usd``, ``tok_url``...) and joined phrases (``visa_kunjungan``, ``potong_gaji``).

Steps, in order: Unicode NFKC; obfuscated digits undone (``patroli.text.numbers.digit_view``, only when
a number word or a look-alike letter touches a digit); flag emoji; links, e-mails, @handles, phone
numbers; upper-case place abbreviations (``KSA``, ``HK``); lower case; money and numbers
(``Rp15.000.000``, ``1.200 USD``, ``15jt``, ``17th`` = ``17 th``); then per token: repeated letters
multi-word phrases joined, repeated letters collapsed (``gratisss``), slang mapped.

The vocabulary (currency spellings and multipliers, digit words and look-alikes, place abbreviations,
flags, free-mail providers, bare link hosts) is ``patroli.text``'s, shared with extraction and the web
highlighter; the slang and phrase tables below are the model's own.

Speed matters (the crawl scores every ad): every whole-text regex pass is skipped unless a cheap
test says it can match, and the per-word work is cached per distinct word (bounded).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Iterable
from itertools import compress, count

from sklearn.base import BaseEstimator

from classifiers.text_transformer import TextTransformerMixin
from patroli.text.contacts import BARE_LINK_HOSTS, FREE_MAIL_PROVIDERS
from patroli.text.money import CURRENCIES, MULTIPLIERS, PERIODS, RUPIAH_MULTIPLIERS
from patroli.text.numbers import CONFUSABLE_DIGITS, NUMBER_WORDS, digit_view
from patroli.text.places import CAPITAL_ABBREVIATIONS, FLAG_RE, flag_code

# Slang and abbreviations seen in job posts (platforms.md: gj = gaji, brgkt = berangkat, ...).
SLANG = {
    "gj": "gaji",
    "gji": "gaji",
    "gajih": "gaji",
    "salary": "gaji",
    "brgkt": "berangkat",
    "brangkat": "berangkat",
    "berangkt": "berangkat",
    "brkt": "berangkat",
    "pc": "japri",
    "pm": "japri",
    "dm": "japri",
    "inbox": "japri",
    "ib": "japri",
    "loker": "lowongan",
    "lowker": "lowongan",
    "vacancy": "lowongan",
    "ln": "luar_negeri",
    "luarnegeri": "luar_negeri",
    "overseas": "luar_negeri",
    "yg": "yang",
    "dgn": "dengan",
    "dg": "dengan",
    "utk": "untuk",
    "untk": "untuk",
    "tdk": "tidak",
    "gk": "tidak",
    "ga": "tidak",
    "gak": "tidak",
    "nggak": "tidak",
    "ngga": "tidak",
    "enggak": "tidak",
    "g": "tidak",
    "bs": "bisa",
    "sy": "saya",
    "aq": "saya",
    "sdh": "sudah",
    "udh": "sudah",
    "udah": "sudah",
    "blm": "belum",
    "krn": "karena",
    "karna": "karena",
    "jg": "juga",
    "sm": "sama",
    "dr": "dari",
    "bln": "bulan",
    "thn": "tahun",
    "th": "tahun",
    "hr": "hari",
    "mgg": "minggu",
    "cwe": "wanita",
    "cewe": "wanita",
    "cewek": "wanita",
    "perempuan": "wanita",
    "female": "wanita",
    "cwo": "pria",
    "cowo": "pria",
    "cowok": "pria",
    "laki": "pria",
    "male": "pria",
    "tkw": "tki",
    "cpmi": "pmi",
    "art": "prt",
    "pembantu": "prt",
    "housemaid": "prt",
    "maid": "prt",
    "plrt": "prt",
    "babysitter": "pengasuh",
    "nanny": "pengasuh",
    "caregiver": "perawat_lansia",
    "min": "minimal",
    "maks": "maksimal",
    "max": "maksimal",
    "free": "gratis",
    "grtis": "gratis",
    "cpt": "cepat",
    "cepet": "cepat",
    "ticket": "tiket",
    "messnya": "mess",
    "dll": "dan_lain_lain",
    "dsb": "dan_lain_lain",
    "tsb": "tersebut",
    "sgr": "segera",
    "asap": "segera",
    "ijasah": "ijazah",
    "experience": "pengalaman",
    "pasport": "paspor",
    "passport": "paspor",
    "umroh": "umrah",
    "ziaroh": "ziarah",
    "potgaj": "potong_gaji",
    "potgaji": "potong_gaji",
    "voa": "visa_kunjungan",
}
# Phrases joined into one token (matched on the word sequence, whatever punctuation is between).
MULTIWORD = {
    "potong gaji": "potong_gaji",
    "potongan gaji": "potong_gaji",
    "dipotong gaji": "potong_gaji",
    "dana talangan": "dana_talangan",
    "uang saku": "uang_saku",
    "uang fit": "uang_saku",
    "pocket money": "uang_saku",
    "visa kunjungan": "visa_kunjungan",
    "visa turis": "visa_kunjungan",
    "visa wisata": "visa_kunjungan",
    "visa ziarah": "visa_kunjungan",
    "visa umrah": "visa_kunjungan",
    "visa umroh": "visa_kunjungan",
    "visit visa": "visa_kunjungan",
    "tourist visa": "visa_kunjungan",
    "visa waiver": "visa_kunjungan",
    "bebas visa": "visa_kunjungan",
    "visa on arrival": "visa_kunjungan",
    "visa kerja": "visa_kerja",
    "work visa": "visa_kerja",
    "work permit": "visa_kerja",
    "izin kerja": "visa_kerja",
    "calling visa": "visa_kerja",
    "tanpa pengalaman": "tanpa_pengalaman",
    "tidak perlu pengalaman": "tanpa_pengalaman",
    "no experience": "tanpa_pengalaman",
    "tanpa ijazah": "tanpa_ijazah",
    "tanpa tes": "tanpa_tes",
    "tanpa test": "tanpa_tes",
    "usia bebas": "usia_bebas",
    "tanpa kontrak": "tanpa_kontrak",
    "luar negeri": "luar_negeri",
    "arab saudi": "arab_saudi",
    "timur tengah": "timur_tengah",
    "hong kong": "hong_kong",
    "korea selatan": "korea",
    "uni emirat arab": "uea",
    "customer service": "customer_service",
    "job order": "job_order",
    "g to g": "g2g",
    "government to government": "g2g",
    "di bawah umur": "dibawah_umur",
    "dibawah umur": "dibawah_umur",
    "orang tua": "ortu",
}
# Every currency spelling -> the ISO code in its placeholder ("rm" -> "myr": ``tok_money_myr``).
_CURRENCY_TOKEN = {spelling: code.lower() for spelling, code in CURRENCIES.items()}
# Letters glued to a number that are a unit, not part of a word ("17th", "3bln", "2x"): split off.
_UNITS = frozenset(PERIODS) | {"org", "orang", "x", "kali", "an", "tahunan", "bulanan"}

_FLAG_CHAR_RE = re.compile("[\U0001f1e6-\U0001f1ff]")
_URL_HINTS = ("http", "www.", *BARE_LINK_HOSTS)
_URL_RE = re.compile(
    r"(?:https?://|www\.)\S+|\b(?:" + "|".join(map(re.escape, BARE_LINK_HOSTS)) + r")/\S*",
    re.IGNORECASE,
)
_EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")
_FREE_MAIL_RE = re.compile(r"@(" + "|".join(FREE_MAIL_PROVIDERS) + r")\.", re.IGNORECASE)
_HANDLE_RE = re.compile(r"(?<![\w@])@[A-Za-z]\w{3,31}")
# Phones start with +, 0 or 62; the look-behind (no digit, dot or comma before) is checked in code,
# which lets the regex engine skip quickly to the next "+", "0" or "6".
_PHONE_RE = re.compile(r"(?:\+\s?\d{1,3}|0|62)[\d\s\-.()]{7,}\d(?!\d)")
_THOUSANDS_RE = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
# Capital abbreviations of places ("KSA", "HK") are spelled out before lower-casing; the phrases
# above then join the names ("arab saudi" -> "arab_saudi"). Boundaries checked in code, as above.
_UPPER_RE = re.compile("|".join(sorted(CAPITAL_ABBREVIATIONS, key=len, reverse=True)))
# Currency symbols outside ASCII become their ISO code, which is also a spelling ("€" -> "eur").
_SYMBOLS = {s: f" {code.lower()} " for s, code in CURRENCIES.items() if not s.isascii()}
# Raw tokens: runs of [a-z0-9_.,$]; every other byte (and, after an ASCII "replace" encoding, every
# non-ASCII character) separates them. A byte table does this in C, far faster than a regex.
_SEPARATE = bytes(
    c if (97 <= c <= 122 or 48 <= c <= 57 or c in b"_.,$") else 32 for c in range(256)
)
_WORD_RE = re.compile(r"[a-z0-9_]+")
_REPEAT_RE = re.compile(r"([a-z])\1{2,}")  # "gratisss" -> "gratis"
_CURRENCIES = "|".join(re.escape(c) for c in sorted(_CURRENCY_TOKEN, key=len, reverse=True))
# One raw token that is an amount or a number: currency? number multiplier? currency? unit?
_MULTIPLIERS = "|".join(sorted(MULTIPLIERS, key=len, reverse=True))
_AMOUNT_RE = re.compile(
    rf"(?:(?P<cur>{_CURRENCIES})\.?)?(?P<num>[0-9]+(?:[.,][0-9]+)*)(?P<mult>{_MULTIPLIERS})?"
    rf"(?P<cur2>{_CURRENCIES})?(?P<unit>[a-z]+)?[.,]*"
)
_BARE_NUMBER_RE = re.compile(r"[0-9]+(?:[.,][0-9]+)*[.,]*")
_CONFUSABLE = "[" + re.escape("".join(sorted({c.lower() for c in CONFUSABLE_DIGITS}))) + "]"
_CONFUSABLE_RE = re.compile(f"[0-9]{_CONFUSABLE}|{_CONFUSABLE}[0-9]")
_NUMBER_WORD_GLUED_RE = re.compile(
    rf"[0-9](?:{'|'.join(NUMBER_WORDS)})|(?:{'|'.join(NUMBER_WORDS)})[0-9]"
)

_CACHE_LIMIT = 200_000
_NUMBER_WORD_SET = frozenset(NUMBER_WORDS)
_MONEY_WORDS = frozenset(
    w + end
    for w in (*_CURRENCY_TOKEN, *RUPIAH_MULTIPLIERS, "k")
    for end in ("", ".", ",", ".,", "..")
)
# Raw tokens whose digits look obfuscated ("08l2", "0813lima"); filled as the cache meets them.
_obfuscated: set[str] = set()


def _money_token(cur: str, number: str, mult: str) -> str:
    if cur:
        return f"tok_money_{_CURRENCY_TOKEN.get(cur, 'other')}"
    if mult in RUPIAH_MULTIPLIERS:
        return "tok_money_idr"
    if mult == "k":
        return "tok_money_k"
    # Small numbers carry meaning (ages, "2 minggu", "3 bulan"); big ones are amounts or ids.
    return number if len(number) <= 2 and number.isdigit() else "tok_num"


def _word(word: str) -> str:
    collapsed = _REPEAT_RE.sub(r"\1", word) if len(word) > 2 else word
    return SLANG.get(collapsed, collapsed)


def _normalize_token(raw: str) -> str:
    """Normalize one raw token (lower case, ``[a-z0-9_.,$]``): "" when nothing is left."""
    if raw.isalpha():
        return _word(raw)
    amount = _AMOUNT_RE.fullmatch(raw)
    if amount and (amount.group("unit") is None or amount.group("unit") in _UNITS):
        if amount.group("unit") and (amount.group("mult") or amount.group("cur2")):
            amount = None
    else:
        amount = None
    if amount is not None:
        cur = amount.group("cur") or amount.group("cur2") or ""
        token = _money_token(cur, amount.group("num"), amount.group("mult") or "")
        unit = amount.group("unit")
        return f"{token} {_word(unit)}" if unit else token
    if _CONFUSABLE_RE.search(raw) or _NUMBER_WORD_GLUED_RE.search(raw):
        _obfuscated.add(raw)
    return " ".join(_word(w) for w in _WORD_RE.findall(raw))


class _TokenCache(dict[str, str]):
    """raw token -> normalized token(s), computed on first use; bounded."""

    def __missing__(self, raw: str) -> str:
        if len(self) >= _CACHE_LIMIT:
            self.clear()  # a crawl of millions of ads meets endless new tokens
            _obfuscated.clear()
        token = self[raw] = _normalize_token(raw)
        return token


_token = _TokenCache().__getitem__

# Phrases are matched on normalized words, so their own words go through the same mapping.
# first word -> second word -> [(all words, joined token)], longest phrase first
_PHRASES: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = {}
for _phrase, _joined in sorted(MULTIWORD.items(), key=lambda kv: -len(kv[0].split())):
    _words = tuple(" ".join(_word(w) for w in _WORD_RE.findall(_phrase)).split())
    _PHRASES.setdefault(_words[0], {}).setdefault(_words[1], []).append((_words, _joined))


def _positions(words: list[str], wanted: Container[str]) -> list[int]:
    """Indices of the words in ``wanted`` (C-level iterators: no Python loop over every word)."""
    return list(compress(count(), map(wanted.__contains__, words)))


def _join_money(raw: list[str], out: list[str]) -> None:
    """A currency or multiplier written apart from its number: "usd 1.200", "15 jt", "1.200 usd"."""
    size = len(raw)
    for i in _positions(raw, _MONEY_WORDS):
        word = raw[i].rstrip(".,")
        if word in RUPIAH_MULTIPLIERS or word == "k":
            if i and out[i - 1] and _BARE_NUMBER_RE.fullmatch(raw[i - 1]):
                out[i - 1], out[i] = _money_token("", "", word), ""
            continue
        if i + 1 < size and out[i + 1] and _BARE_NUMBER_RE.fullmatch(raw[i + 1]):
            following = raw[i + 2].rstrip(".,") if i + 2 < size else ""
            out[i], out[i + 1] = _money_token(word, "", ""), ""
            if following in RUPIAH_MULTIPLIERS:
                out[i + 2] = ""
        elif i and out[i - 1] and _BARE_NUMBER_RE.fullmatch(raw[i - 1]):
            out[i - 1], out[i] = _money_token(word, "", ""), ""


def _touches_number_word(raw: list[str]) -> bool:
    """A number word next to a number token: "0813 lima lima lima 7781" (obfuscated phone)."""
    size = len(raw)
    for i in _positions(raw, _NUMBER_WORD_SET):
        for j in (i - 1, i + 1):
            if 0 <= j < size and raw[j][:1].isdigit():
                return True
    return False


def _join_phrases(words: list[str]) -> list[str]:
    out: list[str] = []
    last = 0
    size = len(words)
    for i in _positions(words, _PHRASES.keys()):
        if i < last or i + 1 == size:
            continue  # inside a phrase joined already, or the last word
        for phrase, joined in _PHRASES[words[i]].get(words[i + 1], ()):
            k = len(phrase)
            if k == 2 or tuple(words[i : i + k]) == phrase:
                out += words[last:i]
                out.append(joined)
                last = i + k
                break
    if not last:
        return words
    out += words[last:]
    return out


def _replace_phones(text: str) -> str:
    out: list[str] = []
    last = pos = 0
    while True:
        match = _PHONE_RE.search(text, pos)
        if match is None:
            break
        start = match.start()
        if (start and text[start - 1] in "0123456789.,") or _THOUSANDS_RE.fullmatch(match.group(0)):
            pos = start + 1  # inside a number or an amount ("625.000.000"), not a phone
            continue
        out.append(text[last:start])
        out.append(" tok_phone ")
        last = pos = match.end()
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def _upper_place(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    if (start and (text[start - 1].isalnum() or text[start - 1] == "_")) or (
        end < len(text) and (text[end].isalnum() or text[end] == "_")
    ):
        return match.group(0)
    return " " + CAPITAL_ABBREVIATIONS[match.group(0)] + " "


def _url_token(match: re.Match[str]) -> str:
    url = match.group(0).lower()
    if "wa.me" in url or "whatsapp" in url:
        return " tok_wa "
    return " tok_tme " if "t.me" in url else " tok_url "


# Official accounts of the bodies that place or protect migrant workers: "@kemnaker" in a notice is
# a source, not "contact me by DM" (an official handle does not fire ``messenger_only``).
_OFFICIAL_HANDLE_RE = re.compile(
    r"@(kemnaker|kemenaker|bp2mi|kp2mi|bnp2tki|kemlu|disnaker|bp3mi|imigrasi|divhumaspolri|"
    r"humaspolri|safetravelkemlu|kbri|kjri|kdei)",
    re.IGNORECASE,
)


def _handle_token(match: re.Match[str]) -> str:
    return " tok_handle_official " if _OFFICIAL_HANDLE_RE.match(match.group(0)) else " tok_handle "


def _flag(match: re.Match[str]) -> str:
    return f" flag_{flag_code(match).lower()} "


def _normalize(text: str) -> tuple[str, bool]:
    """(normalized text, whether digits look obfuscated) for NFKC text."""
    if not text.isascii():
        if _FLAG_CHAR_RE.search(text):
            text = FLAG_RE.sub(_flag, text)
        for symbol, name in _SYMBOLS.items():
            if symbol in text:
                text = text.replace(symbol, name)
    lowered = text.lower()
    if any(hint in lowered for hint in _URL_HINTS):
        text = _URL_RE.sub(_url_token, text)
    if "@" in text:
        text = _EMAIL_RE.sub(
            lambda m: " tok_email_free " if _FREE_MAIL_RE.search(m.group(0)) else " tok_email ",
            text,
        )
        text = _HANDLE_RE.sub(_handle_token, text)
    text = _UPPER_RE.sub(_upper_place, _replace_phones(text)).lower()
    raw = text.encode("ascii", "replace").translate(_SEPARATE).decode("ascii").split()
    out = list(map(_token, raw))
    if not _MONEY_WORDS.isdisjoint(raw):
        _join_money(raw, out)
    obfuscated = (not _NUMBER_WORD_SET.isdisjoint(raw) and _touches_number_word(raw)) or (
        bool(_obfuscated) and not _obfuscated.isdisjoint(raw)
    )
    words = " ".join(filter(None, out)).split()
    if not _PHRASES.keys().isdisjoint(words):
        words = _join_phrases(words)
    return " ".join(words), obfuscated


def normalize_text(text: str) -> str:
    """Return the normalized form of one ad's text (pure function; see the module docstring)."""
    text = text or ""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    if "\u20e3" in text:
        text = digit_view(text)  # keycap digits
    normalized, obfuscated = _normalize(text)
    if obfuscated:
        # "0813 lima lima lima 7781", "08l2": undo the obfuscation, then normalize again.
        normalized, _ = _normalize(digit_view(text))
    return normalized


class IndonesianTextNormalizer(TextTransformerMixin, BaseEstimator):
    """scikit-learn step wrapping :func:`normalize_text`; stateless, so ``fit`` learns nothing."""

    stateless = True

    def fit(self, X: Iterable[str], y: object = None) -> IndonesianTextNormalizer:
        return self

    def transform(self, X: Iterable[str]) -> list[str]:
        return [normalize_text(x) for x in X]
