"""Normalize Indonesian ad text before features see it: case, slang, numbers, money, contacts.

Recruiters write "gj 15jt/bln, brgkt cpt, japri 08xx"; the agency down the road writes "gaji Rp
15.000.000 per bulan". Mapping both to the same tokens lets a small corpus generalize. The output
is lower-case text with placeholder tokens (``tok_phone``, ``tok_money_usd``, ``tok_url``...).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from sklearn.base import BaseEstimator, TransformerMixin

from crawler.extract import digit_view

# Slang and abbreviations seen in job posts (platforms.md: gj = gaji, brgkt = berangkat, ...).
SLANG = {
    "gj": "gaji", "gji": "gaji", "gajih": "gaji", "salary": "gaji",
    "brgkt": "berangkat", "brangkat": "berangkat", "berangkt": "berangkat", "brkt": "berangkat",
    "japri": "japri", "pc": "japri", "pm": "japri", "dm": "japri", "inbox": "japri", "ib": "japri",
    "loker": "lowongan", "lowker": "lowongan", "lowongan": "lowongan", "vacancy": "lowongan",
    "ln": "luar_negeri", "luar negeri": "luar_negeri", "luarnegeri": "luar_negeri", "overseas": "luar_negeri",
    "yg": "yang", "yang": "yang", "dgn": "dengan", "dg": "dengan", "utk": "untuk", "untk": "untuk",
    "tdk": "tidak", "gk": "tidak", "ga": "tidak", "gak": "tidak", "nggak": "tidak", "ngga": "tidak", "enggak": "tidak", "g": "tidak",
    "bs": "bisa", "bisa": "bisa", "sy": "saya", "aq": "saya", "sdh": "sudah", "udh": "sudah", "udah": "sudah",
    "blm": "belum", "krn": "karena", "karna": "karena", "jg": "juga", "sm": "sama", "dr": "dari",
    "bln": "bulan", "thn": "tahun", "th": "tahun", "hr": "hari", "mgg": "minggu",
    "cwe": "wanita", "cewe": "wanita", "cewek": "wanita", "perempuan": "wanita", "female": "wanita",
    "cwo": "pria", "cowo": "pria", "cowok": "pria", "laki": "pria", "male": "pria",
    "tkw": "tki", "tki": "tki", "pmi": "pmi", "cpmi": "pmi",
    "art": "prt", "prt": "prt", "pembantu": "prt", "housemaid": "prt", "maid": "prt", "plrt": "prt",
    "babysitter": "pengasuh", "nanny": "pengasuh", "caregiver": "perawat_lansia",
    "pt": "pt", "cv": "cv", "min": "minimal", "min.": "minimal", "maks": "maksimal", "max": "maksimal",
    "free": "gratis", "gratiss": "gratis", "grtis": "gratis", "cpt": "cepat", "cepet": "cepat",
    "tiket": "tiket", "ticket": "tiket", "mess": "mess", "messnya": "mess",
    "dll": "dan_lain_lain", "dsb": "dan_lain_lain", "tsb": "tersebut", "sgr": "segera", "asap": "segera",
    "ijazah": "ijazah", "ijasah": "ijazah", "pengalaman": "pengalaman", "experience": "pengalaman",
    "paspor": "paspor", "pasport": "paspor", "passport": "paspor", "pasport.": "paspor",
    "visa": "visa", "umroh": "umrah", "umrah": "umrah", "ziaroh": "ziarah",
    "potgaj": "potong_gaji", "potgaji": "potong_gaji",
}  # fmt: skip
_MULTIWORD = {
    "potong gaji": "potong_gaji", "potongan gaji": "potong_gaji", "dipotong gaji": "potong_gaji",
    "dana talangan": "dana_talangan", "uang saku": "uang_saku", "uang fit": "uang_saku", "pocket money": "uang_saku",
    "visa kunjungan": "visa_kunjungan", "visa turis": "visa_kunjungan", "visa wisata": "visa_kunjungan",
    "visa ziarah": "visa_kunjungan", "visa umrah": "visa_kunjungan", "visa umroh": "visa_kunjungan",
    "visit visa": "visa_kunjungan", "tourist visa": "visa_kunjungan", "visa waiver": "visa_kunjungan",
    "bebas visa": "visa_kunjungan", "visa on arrival": "visa_kunjungan", "voa": "visa_kunjungan",
    "visa kerja": "visa_kerja", "work visa": "visa_kerja", "work permit": "visa_kerja", "izin kerja": "visa_kerja",
    "calling visa": "visa_kerja",
    "tanpa pengalaman": "tanpa_pengalaman", "tidak perlu pengalaman": "tanpa_pengalaman", "no experience": "tanpa_pengalaman",
    "tanpa ijazah": "tanpa_ijazah", "tanpa tes": "tanpa_tes", "tanpa test": "tanpa_tes", "usia bebas": "usia_bebas",
    "tanpa kontrak": "tanpa_kontrak", "luar negeri": "luar_negeri", "arab saudi": "arab_saudi",
    "timur tengah": "timur_tengah", "hong kong": "hong_kong", "korea selatan": "korea",
    "uni emirat arab": "uea", "customer service": "customer_service", "job order": "job_order",
    "g to g": "g2g", "g-to-g": "g2g", "government to government": "g2g",
}  # fmt: skip
# Upper-case abbreviations that only mean a place in capitals; resolved before lower-casing.
_UPPER = {"KSA": "arab_saudi", "UEA": "uea", "UAE": "uea", "HK": "hong_kong", "KL": "kuala lumpur",
          "KH": "kamboja", "TW": "taiwan", "LN": "luar_negeri", "PP": "phnom penh"}  # fmt: skip

_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b(?:wa\.me|t\.me|bit\.ly|s\.id)/\S*", re.IGNORECASE)
_EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")
_HANDLE_RE = re.compile(r"(?<![\w@])@[A-Za-z]\w{3,31}")
# Phones start with 0, 62 or +: money such as "15.000.000" must not become a phone token.
_PHONE_RE = re.compile(r"(?<![\d.,])(?:\+\s?\d{1,3}|0|62)[\d\s\-.()]{7,}\d(?!\d)")
# Amounts: a number, maybe a currency before it, maybe a multiplier and/or currency after it.
# Found number-first (one cheap scan) instead of with one regex trying every currency everywhere.
_NUMBER_RE = re.compile(r"(?<![a-z0-9_])\d+(?:[.,]\d+)*")
_CURRENCY_BEFORE_RE = re.compile(
    r"(rp\.?|idr|usd|us\$|\$|sar|sr|riyal|rm|myr|ringgit|nt\$|ntd|twd|¥|yen|₩|won|aed|dirham|"
    r"qar|hkd|sgd|€|eur|euro|£|gbp|aud|dolar|dollar)\s?$"
)
_AFTER_NUMBER_RE = re.compile(
    r"\s?(?P<mult>jt|juta|jeti|rb|ribu|k)?\b\s?(?P<cur2>usd|sar|riyal|rm|ringgit|ntd|yen|won|aed|"
    r"dirham|dolar|dollar|euro|\$)?(?![a-z])"
)
_CURRENCY_TOKEN = {
    "rp": "idr", "rp.": "idr", "idr": "idr", "usd": "usd", "us$": "usd", "$": "usd", "dolar": "usd",
    "dollar": "usd", "sar": "sar", "sr": "sar", "riyal": "sar", "rm": "myr", "myr": "myr",
    "ringgit": "myr", "nt$": "twd", "ntd": "twd", "twd": "twd", "¥": "jpy", "yen": "jpy", "₩": "krw",
    "won": "krw", "aed": "aed", "dirham": "aed", "qar": "qar", "hkd": "hkd", "sgd": "sgd", "€": "eur",
    "eur": "eur", "euro": "eur", "£": "gbp", "gbp": "gbp", "aud": "aud",
}  # fmt: skip
_FLAG_RE = re.compile("([\U0001f1e6-\U0001f1ff])([\U0001f1e6-\U0001f1ff])")
_WORD_RE = re.compile(r"[a-z0-9_]+")
_MULTI_RE = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(_MULTIWORD, key=len, reverse=True)) + r")\b"
)
_UPPER_RE = re.compile(r"\b(" + "|".join(_UPPER) + r")\b")
_REPEAT_RE = re.compile(r"([a-z])\1{2,}")  # "gratisss" -> "gratis"


def _money_token(cur: str, number: str, mult: str) -> str:
    if cur:
        return f" tok_money_{_CURRENCY_TOKEN.get(cur, 'other')} "
    if mult in {"jt", "juta", "jeti", "rb", "ribu"}:
        return " tok_money_idr "
    if mult == "k":
        return " tok_money_k "
    # Small numbers carry meaning (ages, "2 minggu", "3 bulan"); big ones are amounts or ids.
    return f" {number} " if number.isdigit() and len(number) <= 2 else " tok_num "


def _replace_numbers(text: str) -> str:
    """Turn every number into a money, number or small-number token (text is lower case)."""
    out: list[str] = []
    last = 0
    for match in _NUMBER_RE.finditer(text):
        start, end = match.span()
        if start < last:
            continue
        before = _CURRENCY_BEFORE_RE.search(text[max(last, start - 8) : start])
        after = _AFTER_NUMBER_RE.match(text, end)
        mult = (after.group("mult") or "") if after else ""
        if (
            not mult
            and not (after and after.group("cur2"))
            and end < len(text)
            and text[end].isalpha()
        ):
            continue  # part of a word ("sip2mi", "5g"), not a number
        cur = (before.group(1) if before else "") or ((after.group("cur2") or "") if after else "")
        begin = start - len(before.group(0)) if before else start
        stop = after.end() if after and (mult or after.group("cur2")) else end
        out.append(text[last:begin])
        out.append(_money_token(cur, match.group(0), mult))
        last = stop
    out.append(text[last:])
    return "".join(out)


def normalize_text(text: str) -> str:
    """Return the normalized form of one ad's text (pure function; see the module docstring)."""
    text = digit_view(unicodedata.normalize("NFKC", text or ""))
    text = _FLAG_RE.sub(
        lambda m: " flag_" + "".join(chr(ord(c) - 0x1F1E6 + ord("a")) for c in m.groups()) + " ",
        text,
    )
    text = _URL_RE.sub(
        lambda m: (
            " tok_wa "
            if "wa.me" in m.group(0).lower() or "whatsapp" in m.group(0).lower()
            else (" tok_tme " if "t.me" in m.group(0).lower() else " tok_url ")
        ),
        text,
    )
    text = _EMAIL_RE.sub(
        lambda m: (
            " tok_email_free "
            if re.search(r"@(gmail|yahoo|hotmail|outlook|ymail)\.", m.group(0), re.IGNORECASE)
            else " tok_email "
        ),
        text,
    )
    text = _HANDLE_RE.sub(" tok_handle ", text)
    text = _PHONE_RE.sub(" tok_phone ", text)
    text = _UPPER_RE.sub(lambda m: " " + _UPPER[m.group(1)] + " ", text)
    text = text.lower()
    text = _replace_numbers(text)
    text = _REPEAT_RE.sub(r"\1", text)
    text = _MULTI_RE.sub(lambda m: _MULTIWORD[m.group(1)], text)
    words = [SLANG.get(w, w) for w in _WORD_RE.findall(text)]
    return " ".join(words)


class IndonesianTextNormalizer(TransformerMixin, BaseEstimator):
    """scikit-learn step wrapping :func:`normalize_text`; stateless, so ``fit`` learns nothing."""

    def fit(self, X: Iterable[str], y: object = None) -> IndonesianTextNormalizer:
        return self

    def transform(self, X: Iterable[str]) -> list[str]:
        return [normalize_text(x) for x in X]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags
