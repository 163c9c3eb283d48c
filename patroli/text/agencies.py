"""Placement agencies in ad text: the company names (``PT …``) and the licence numbers ads print.

A P3MI must be a PT (a limited company), so only ``PT`` names are read. Names are compared by their
``agency_key`` (capitals, no "PT", no punctuation): "PT. Sinar Jaya Abadi" and "PT SINAR JAYA ABADI"
are one agency. Licence numbers are read after the words ads use for them (SIP3MI, SIUP P3MI, izin
P3MI, no. izin…) and kept in capitals without spaces, as the register is matched on them.
Whether a name or a number is in the register is ``patroli.agencies``' question, not this module's.
"""

from __future__ import annotations

import re
import unicodedata

# Words that end a company name when the ad runs on in capitals ("PT SINAR JAYA MEMBUKA LOWONGAN").
_NAME_STOP = frozenset(
    [
        "membuka",
        "menerima",
        "membutuhkan",
        "mencari",
        "merekrut",
        "lowongan",
        "loker",
        "kami",
        "resmi",
        "yang",
        "di",
        "ke",
        "dan",
        "untuk",
        "adalah",
        "berizin",
        "terdaftar",
        "cabang",
        "kantor",
        "pusat",
        "p3mi",
        "pptkis",
        "ppmi",
        "sip3mi",
        "siup",
        "izin",
        "no",
        "nomor",
        "alamat",
        "jl",
        "jalan",
        "telp",
        "telepon",
        "hp",
        "wa",
        "whatsapp",
        "email",
        "info",
        "hubungi",
        "penempatan",
        "dengan",
        "tbk",
        "sebagai",
        "bagian",
        "open",
        "hiring",
        "recruitment",
        "job",
        "vacancy",
        "agency",
    ]
)
_PT_RE = re.compile(r"\bPT\b\.?\s+")
_NAME_WORD_RE = re.compile(r"[A-Z0-9][\w&'’\-]*\.?")
_LICENCE_RE = re.compile(
    r"\b(?:sip3mi|sippmi|sip\s*p3mi|siup\s*-?\s*p(?:3mi|ptkis|pmi)|izin\s+(?:usaha\s+)?p(?:3mi|ptkis|pmi)"
    r"|no\.?\s*izin|nomor\s+izin|izin\s+no\.?|lisensi|licen[cs]e(?:\s+no\.?)?)"
    r"\s*(?:(?:nomor|number|no)\b\.?)?\s*[:.#]?\s*(?P<number>[A-Z0-9](?:[A-Z0-9./\-]|\s(?=\d)){2,40}[A-Z0-9])",
    re.IGNORECASE,
)


def agency_key(name: str) -> str:
    """The form names are compared in: NFKC, capitals, without "PT" and punctuation."""
    text = unicodedata.normalize("NFKC", name).upper()
    text = re.sub(r"[^\w\s&]", " ", text)
    words = [w for w in text.split() if w not in {"PT", "TBK", "PERSERO"}]
    return " ".join(words)


def extract_agency_names(text: str) -> list[str]:
    """Company names after "PT" (up to six words), as written, in order of appearance."""
    found: dict[str, str] = {}
    for match in _PT_RE.finditer(text):
        words: list[str] = []
        position = match.end()
        while len(words) < 6:
            word = _NAME_WORD_RE.match(text, position)
            if word is None:
                break
            token = word.group(0)
            if token.rstrip(".").lower() in _NAME_STOP:
                break
            words.append(token.rstrip("."))
            position = word.end()
            gap = re.match(r"[ \t]+", text[position:])
            if gap is None:
                break
            position += gap.end()
        if words:
            name = "PT " + " ".join(words)
            found.setdefault(agency_key(name), name)
    return [name for key, name in found.items() if key]


def normalize_licence(number: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", number)).upper().strip("./-")


def extract_licence_numbers(text: str) -> list[str]:
    """Licence numbers the ad claims (with at least two digits), normalised."""
    found: dict[str, None] = {}
    for match in _LICENCE_RE.finditer(text):
        number = normalize_licence(match.group("number"))
        if sum(c.isdigit() for c in number) >= 2:
            found[number] = None
    return list(found)
