"""Destinations: the names ads use for foreign countries and their cities, and flag emoji.

Extraction turns them into ISO 3166-1 alpha-2 codes; the model's normalizer spells out the capital
abbreviations, and its indicators name the countries they are about by code (``names_of``), so that
a place is the same place for all of them.

Decisions taken when the lists of extraction and of the model became one (the union):

- The indicators' and the web highlighter's Middle-East and scam-hub names joined their countries
  here (Tunisia, Sudan, Palestine, Mauritania; "jeddha", "taif", "mekkah", "myawady"...).
- "PP" is not Phnom Penh: in Indonesian ads it is "pulang-pergi" (a return ticket, "tiket PP").
- "LN" (luar negeri, "abroad") is no place; the normalizer's slang table maps it.
- "PNG" is left out: it is an image file type far more often than Papua New Guinea.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Names an ad uses for a destination: Indonesian and English country names, common abbreviations,
# and the cities and border towns the warnings name (indicators.md §2). Lower case; matched as
# whole words.
PLACES: dict[str, tuple[str, ...]] = {
    "KH": (
        "kamboja",
        "cambodia",
        "kampuchea",
        "phnom penh",
        "sihanoukville",
        "sihanouk",
        "bavet",
        "poipet",
        "siem reap",
    ),
    "MM": ("myanmar", "burma", "myawaddy", "myawady", "myawadi", "shwe kokko", "kk park", "yangon"),
    "LA": ("laos", "bokeo", "golden triangle", "segitiga emas", "vientiane"),
    "TH": ("thailand", "bangkok", "mae sot", "chiang rai", "chiangrai", "pattaya", "phuket"),
    "PH": ("filipina", "philippines", "manila", "cebu", "pasay", "pogo"),
    "VN": ("vietnam", "hanoi", "ho chi minh", "saigon"),
    "MY": (
        "malaysia",
        "kuala lumpur",
        "johor",
        "sabah",
        "sarawak",
        "penang",
        "selangor",
        "tawau",
        "kota kinabalu",
        "kuching",
    ),
    "SG": ("singapura", "singapore"),
    "BN": ("brunei",),
    "SA": (
        "arab saudi",
        "saudi arabia",
        "saudi",
        "riyadh",
        "jeddah",
        "jedah",
        "jeddha",
        "mekah",
        "mekkah",
        "makkah",
        "mecca",
        "madinah",
        "dammam",
        "taif",
        "thaif",
    ),
    "AE": (
        "uni emirat arab",
        "emirat arab",
        "united arab emirates",
        "dubai",
        "abu dhabi",
        "abudhabi",
        "sharjah",
    ),
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
    "TN": ("tunisia",),
    "SD": ("sudan",),
    "PS": ("palestina", "palestine"),
    "MR": ("mauritania",),
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
}
HOME_COUNTRY = "ID"
# Abbreviations that are places only when written in capitals ("KL" is also slang for "kalau"),
# each with the name in PLACES it stands for.
CAPITAL_ABBREVIATIONS: dict[str, str] = {
    "KSA": "arab saudi",
    "UEA": "uni emirat arab",
    "UAE": "uni emirat arab",
    "KL": "kuala lumpur",
    "HK": "hong kong",
    "KH": "kamboja",
    "TW": "taiwan",
    "JPN": "jepang",
    "RRC": "tiongkok",
}

COUNTRY_OF_NAME: dict[str, str] = {name: code for code, names in PLACES.items() for name in names}
# A regional-indicator pair: one flag emoji ("🇰🇭" is K + H).
FLAG_RE = re.compile("([\U0001f1e6-\U0001f1ff])([\U0001f1e6-\U0001f1ff])")
_REGIONAL_A = 0x1F1E6


def names_of(codes: Iterable[str]) -> list[str]:
    """Every name of the countries ``codes``, in PLACES order."""
    return [name for code in codes for name in PLACES[code]]


def flag_code(match: re.Match[str]) -> str:
    """The ISO code of a ``FLAG_RE`` match ("🇰🇭" -> "KH")."""
    return "".join(chr(ord(c) - _REGIONAL_A + ord("A")) for c in match.groups())


def flag_of(code: str) -> str:
    """The flag emoji of an ISO code ("KH" -> "🇰🇭")."""
    return "".join(chr(_REGIONAL_A + ord(c) - ord("A")) for c in code.upper())


# Names by first word, longest first, so that one scan over the words finds "arab saudi" and "saudi".
_BY_FIRST_WORD: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _name, _code in COUNTRY_OF_NAME.items():
    _words = tuple(_name.split())
    _BY_FIRST_WORD.setdefault(_words[0], []).append((_words, _code))
for _candidates in _BY_FIRST_WORD.values():
    _candidates.sort(key=lambda c: -len(c[0]))
_WORD_TOKEN_RE = re.compile(r"[^\W\d_]+")
_CAPITALS_RE = re.compile(r"\b(" + "|".join(CAPITAL_ABBREVIATIONS) + r")\b")


def extract_countries(text: str) -> list[str]:
    """Return ISO 3166-1 alpha-2 codes of the foreign places named in ``text`` (Indonesia excluded)."""
    hits: list[tuple[int, str]] = []
    words = [(m.start(), m.group(0).lower()) for m in _WORD_TOKEN_RE.finditer(text)]
    i = 0
    while i < len(words):
        for names, code in _BY_FIRST_WORD.get(words[i][1], ()):
            if tuple(w for _, w in words[i : i + len(names)]) == names:
                hits.append((words[i][0], code))
                i += len(names) - 1
                break
        i += 1
    hits += [
        (m.start(), COUNTRY_OF_NAME[CAPITAL_ABBREVIATIONS[m.group(1)]])
        for m in _CAPITALS_RE.finditer(text)
    ]
    hits += [(m.start(), flag_code(m)) for m in FLAG_RE.finditer(text)]
    return [c for c in dict.fromkeys(code for _, code in sorted(hits)) if c != HOME_COUNTRY]
