"""Render hostile ad text as safe HTML: escape first, then add ``<mark>`` tags of our own.

Two kinds of marks: the store's search highlights (``MARK_START``/``MARK_END`` control characters
in a hit's ``highlight``) and the cues of an ad's reasons — the words in the original text that
make an indicator or a risky term fire. Indicators run on normalized text
(``classifiers.textnorm``), so each has a cue pattern over raw text here; a term reason maps back
to its raw spellings through the normalizer's own slang and multi-word tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from markupsafe import Markup, escape

from classifiers.indicators import MORATORIUM_COUNTRIES, OVERSEAS, SCAM_HUB_COUNTRIES
from classifiers.scoring import reason_text
from classifiers.textnorm import MULTIWORD, SLANG  # the normalizer's tables, read-only
from patroli.storage.base import MARK_END, MARK_START
from patroli.text.contacts import FREE_MAIL_PROVIDERS
from patroli.text.money import (
    CURRENCIES,
    RUPIAH_MULTIPLIERS,
    currency_pattern,
    is_foreign,
    multiplier_pattern,
)
from patroli.text.places import CAPITAL_ABBREVIATIONS, COUNTRY_OF_NAME, flag_of, names_of

# Amounts, in the currencies and with the multipliers extraction and the model count as money.
_CURRENCY = currency_pattern()
_FOREIGN = currency_pattern({code for code in CURRENCIES.values() if is_foreign(code)})
_NUMBER = r"\d[\d.,]*"
_AMOUNT = (
    rf"(?:{_CURRENCY}\s?{_NUMBER}(?:\s?{multiplier_pattern()})?"
    rf"|{_NUMBER}\s?{multiplier_pattern(RUPIAH_MULTIPLIERS)}|{_NUMBER}\s?{_CURRENCY})"
)
_FOREIGN_AMOUNT = rf"(?:{_FOREIGN}\s?{_NUMBER}|{_NUMBER}\s?{_FOREIGN})"
# "tidak" and the slang the normalizer maps to it ("gak", "tdk", ...).
_NEG = "(?:" + "|".join(["tidak", *sorted(k for k, v in SLANG.items() if v == "tidak")]) + ")"


def _places(codes: tuple[str, ...]) -> str:
    """The names, capital abbreviations and flags of the countries ``codes``, as raw text."""
    words = sorted(names_of(codes), key=len, reverse=True)
    words += [a for a, name in CAPITAL_ABBREVIATIONS.items() if COUNTRY_OF_NAME[name] in codes]
    flags = [flag_of(code) for code in codes]
    return r"\b(?:" + "|".join(map(re.escape, words)) + r")\b|" + "|".join(flags)


# Raw-text cues per indicator code (case-insensitive). tests/test_web_units.py checks that
# every indicator has one and that they find a cue in the ads where the indicator fires.
INDICATOR_CUES: dict[str, str] = {
    "moratorium_domestic": _places(MORATORIUM_COUNTRIES)
    + r"|timur tengah|timteng|\bprt\b|\bplrt\b|\bart\b|pembantu|rumah tangga|majikan|pengasuh|babysitter|"
    r"nanny|housemaid|\bmaid\b|sopir pribadi|supir pribadi|driver pribadi|jaga (anak|bayi|lansia|orang tua|nenek|kakek)|"
    r"perawat lansia|caregiver|housekeeper|keluarga (arab|saudi|kaya|baik)",
    "scam_hub_office_job": _places(SCAM_HUB_COUNTRIES)
    + r"|mekong|\badmin\b|customer service|\bcs\b|operator|marketing online|telemarketing|"
    r"typist|data entry|\bit support|sales online|chat",
    "visit_visa_work": r"visa (kunjungan|turis|wisata|ziarah|ziaroh|umrah|umroh|on arrival|waiver)|visit visa|"
    r"tourist visa|bebas visa|\bvoa\b|paspor (pelancong|wisata)|visa (nanti|bisa) (di ?rubah|diubah|diganti)|"
    r"(diurus|urus|ganti) di ?sana|lewat (jalur )?(umrah|umroh|ziarah)|(berangkat|brgkt) (umrah|umroh|ziarah)",
    "worker_pays_fees": r"\b(biaya|bayar|dp|down payment|uang jaminan|jaminan|deposit|setor|transfer|tf|"
    r"admin|administrasi|pendaftaran|registrasi|ongkos|pelatihan)\b(?:\W+\w+){0,5}?\W+" + _AMOUNT,
    "salary_deduction": r"potong(an)? gaji|dipotong (dari )?gaji|potgaji?|dana talangan|talangan|"
    r"bayar (dari|pakai) gaji|dicicil (dari|lewat) gaji|ganti (dari|pakai) gaji|\butang|hutang|kasbon",
    "free_plus_cash": r"gratis+|grtis|\bfree\b|tanpa biaya|ditanggung|0 rupiah|nol rupiah|uang saku|"
    r"uang fit|pocket money|dikasih uang|dapat uang|sangu",
    "speed_promise": r"\b(cepat|cpt|cepet|kilat|langsung|segera|sgr|express|ekspres) (berangkat|brgkt|brangkat|"
    r"terbang|proses|kerja)|\b(berangkat|brgkt|brangkat) (cepat|cpt|cepet|segera|sgr|langsung|minggu depan|"
    r"bulan depan|secepatnya)|\b(\d+|dua|tiga|satu) (hari|minggu|mgg) (langsung )?(berangkat|brgkt|terbang|"
    r"kerja)|proses (cepat|cpt|kilat|singkat)",
    "waived_requirements": r"tanpa (pengalaman|ijazah|ijasah|tes|test|kontrak|skill|keahlian|bahasa|syarat|"
    r"eps|topik)|"
    + _NEG
    + r" (perlu|usah) (ijazah|ijasah|pengalaman|tes|test|bahasa|skill|paspor)|"
    r"usia bebas|syarat (mudah|ringan|gampang)|(cukup|hanya|modal) ktp|no experience|bisa mengetik",
    "messenger_only": r"\bjapri\b|\bpc\b|\bpm\b|\bdm\b|\binbox\b|\bib\b|whatsapp|\bwa\b|telegram|"
    r"wa\.me/\S*|t\.me/\S*|(?<![\w@])@[A-Za-z]\w{3,31}",
    "passport_retention": r"paspor (ditahan|disimpan|dipegang|diamankan|dititipkan|diserahkan|dibawa)|"
    r"(tahan|simpan|pegang|serahkan|titipkan) paspor",
    "minors": r"(usia|umur|minimal|min\.?) (14|15|16|17)\b|di ?bawah umur|belum 18|"
    r"tanpa (izin|ijin) (ortu|orang tua|suami|keluarga)|(ortu|orang tua) (tidak|gak|ga) perlu tahu",
    "no_contract": r"tanpa kontrak|kontrak (di ?sana|menyusul|belakangan|nanti)|(tidak|gak|ga) (ada|perlu) kontrak",
    "back_route": r"nunukan|tawau|entikong|jalur tikus|lewat darat|tekong|permit (menyusul|nyusul)|"
    r"masuk (kerja )?dulu|kerja dulu",
    "impersonation": r"bp2mi|kp2mi|bnp2tki|kemnaker|kemenaker|\bkbri\b|\bkjri\b|disnaker pusat|"
    r"pengaduan tki|kementerian|kode unik|undangan seleksi|biaya pendaftaran",
    "personal_data_request": r"(kirim|kirimkan|kirimin|send|siapkan foto) (foto |scan )?"
    r"(ktp|kk|paspor|data diri|biodata)",
    "high_pay_no_skill": _FOREIGN_AMOUNT,
    "licence_present": r"sip3mi|sip2mi|sippmi|siup p3mi|siup ppmi|siuppak|job order|p3mi resmi|"
    r"terdaftar (di|pada) (bp2mi|kp2mi|siskop2mi|kemnaker)|\b(no|nomor|izin)\W+(\w+\W+){0,2}\d[\d/.-]*",
    "official_channel": r"\bltsa\b|disnaker\w*|bp3mi|siskop2mi|g to g|g-to-g|\bg2g\b|eps[- ]?topik|\beps\b|"
    r"\btopik\b|im japan|ijepa|siapkerja|karirhub|bpjs|orientasi pra|\bopp\b|\bblk\b",
    "work_visa_contract": r"visa kerja|work visa|work permit|izin kerja|calling visa|"
    r"(perjanjian|kontrak) (kerja|penempatan)",
    "warning_context": r"waspada|hati[- ]hati|modus|hoaks|hoax|ciri[- ]ciri|penipuan|jangan (mudah )?tergiur|"
    r"mengimbau|imbau|korban|tppo|perdagangan orang|dipulangkan|repatriasi|ditangkap|tersangka|"
    r"polisi|polda|polres",
}
# Placeholder tokens of the normalizer, as raw text.
_TOKEN_CUES = {
    "tok_wa": r"wa\.me/\S*|whatsapp|\bwa\b",
    "tok_tme": r"t\.me/\S*|telegram",
    "tok_handle": r"(?<![\w@])@[A-Za-z]\w{3,31}",
    "tok_phone": r"(?<![\d.,])(?:\+\s?\d{1,3}|0|62)[\dOoIlxX\s\-.()]{7,}[\dxX]",
    "tok_email_free": r"\b[\w.+-]+@(" + "|".join(FREE_MAIL_PROVIDERS) + r")\.\w+",
    "tok_url": r"(?:https?://|www\.)\S+",
}
_MAX_TEXT = 100_000


@dataclass(frozen=True, slots=True)
class Cue:
    code: str
    pattern: re.Pattern[str]


def _term_pattern(term: str) -> str | None:
    """Raw spellings of one normalized term ("potong_gaji", "tiket", "tok_money_usd")."""
    words = []
    for token in term.split(" "):
        if token in _TOKEN_CUES:
            words.append(f"(?:{_TOKEN_CUES[token]})")
        elif token.startswith("tok_money_"):
            words.append(f"(?:{_AMOUNT})")
        elif token == "tok_num":  # noqa: S105 - a placeholder token, not a password
            words.append(r"\d[\d.,]*")
        elif token.startswith("flag_") and len(token) == 7:
            a, b = (chr(0x1F1E6 + ord(c) - ord("a")) for c in token[5:])
            words.append(re.escape(a + b))
        else:
            spellings = {token, token.replace("_", " ")}
            spellings |= {k for k, v in SLANG.items() if v == token}
            spellings |= {k for k, v in MULTIWORD.items() if v == token}
            alternatives = "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))
            words.append(rf"\b(?:{alternatives})\b")
    return r"\W+".join(words) if words else None


def _overseas_pattern() -> str:
    """Raw spellings of the classifier's own overseas terms (cities, countries, flags, "LN", ships)."""
    terms = sorted(OVERSEAS.words | {p.strip() for p in OVERSEAS.phrases})
    return "|".join(f"(?:{p})" for p in (_term_pattern(t) for t in terms) if p)


@cache
def cue_for(code: str) -> Cue | None:
    kind, _, value = code.partition(":")
    pattern: str | None = None
    if kind == "indicator" and value == "no_licence":
        # It fires on what is missing (no company, licence or address): mark where the ad sends people.
        pattern = _overseas_pattern()
    elif kind == "indicator":
        pattern = INDICATOR_CUES.get(value)
    elif kind == "term":
        parts = [p for p in (_term_pattern(t) for t in value.split("|")) if p]
        pattern = "|".join(f"(?:{p})" for p in parts) if parts else None
    if pattern is None:
        return None
    return Cue(code, re.compile(pattern, re.IGNORECASE))


def cue_spans(text: str, codes: Iterable[str]) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, code) spans of reason cues in ``text``, in order."""
    spans: list[tuple[int, int, str]] = []
    for code in codes:
        cue = cue_for(code)
        if cue is None:
            continue
        spans += [
            (m.start(), m.end(), code) for m in cue.pattern.finditer(text) if m.end() > m.start()
        ]
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    merged: list[tuple[int, int, str]] = []
    for span in spans:
        if merged and span[0] < merged[-1][1]:
            continue  # overlaps an earlier, longer cue
        merged.append(span)
    return merged


def _clean(text: str | None) -> str:
    return (text or "")[:_MAX_TEXT].replace(MARK_START, "").replace(MARK_END, "")


def render_with_cues(
    text: str | None, codes: Iterable[str], language: str
) -> tuple[Markup, set[str]]:
    """The ad text as HTML with each cue in ``<mark class="cue">``; also the codes that were found."""
    raw = _clean(text)
    codes = list(codes)
    index = {code: i for i, code in enumerate(codes)}
    out: list[str] = []
    found: set[str] = set()
    last = 0
    for start, end, code in cue_spans(raw, codes):
        label = reason_text(code, language)
        out.append(str(escape(raw[last:start])))
        out.append(
            f'<mark class="cue cue-{index[code] % 8}" title="{escape(label)}" data-reason="{index[code]}">'
            f"{escape(raw[start:end])}</mark>"
        )
        found.add(code)
        last = end
    out.append(str(escape(raw[last:])))
    return Markup("".join(out)), found  # noqa: S704 - every piece of text above went through escape()


def render_highlight(highlight: str | None) -> Markup:
    """A store highlight as HTML: escape the whole text, then turn the markers into tags."""
    escaped = str(escape((highlight or "")[:_MAX_TEXT]))
    opened = escaped.count(MARK_START)
    html = escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
    if opened > escaped.count(MARK_END):
        html += "</mark>" * (opened - escaped.count(MARK_END))
    return Markup(html)  # noqa: S704 - escaped first; only our own <mark> tags are added
