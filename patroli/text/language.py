"""Which language an ad is written in, and whether the risk model may score it.

The model was trained on Indonesian, Malay and English (and their mixes); a Russian news post or a
Chinese report scored as if it were Indonesian gets a meaningless risk (a Russian war-news channel
had posts at 0.8-0.999). ``detect_language(text)`` names the language with py3langid (a maintained
fork of langid.py: a naive-Bayes model over byte n-grams, 97 languages, shipped inside the wheel),
and says whether it is ``supported``.

Two decisions, both measured on the real and hand-written corpora (docs/classifier.md, "Language
gate"):

- **A fast path.** py3langid walks every byte in Python (~140 µs for an average ad), as much as
  scoring itself. A Latin-script text with at least ``MIN_MARKERS`` distinct Indonesian or English
  function words is one the library calls Indonesian, Malay or English in every case measured, so
  it is not asked whether: it is asked only which (Indonesian or Malay, on the first
  ``CODE_SAMPLE`` characters and among those two), and only when a word that is Malay but not
  Indonesian occurs. Everything else — other scripts, few function words, short texts — goes to
  the full library.
- **When in doubt, score.** Calling an Indonesian ad "unsupported" hides it from analysts; scoring a
  foreign one wrongly costs a review. So short slangy Indonesian that the library mistakes for a
  neighbour (Javanese, Acehnese — languages of Indonesia, usually mixed with Indonesian — or
  Nigerian Pidgin, Bikol, "no language"), a text with too few letters to tell, and a Latin text
  with Indonesian/English function words stay supported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

SUPPORTED = frozenset({"id", "ms", "en"})
# What py3langid says of Indonesian it cannot place: languages of Indonesia that Indonesian posts
# mix in, and the codes it gives short, slangy or code-mixed Indonesian/English (measured).
CONFUSED_WITH_SUPPORTED = frozenset({"jv", "ace", "pcm", "bcl", "zxx", "fuv"})
SAMPLE = 400  # characters read by the full library: enough for a post's language, bounded cost
CODE_SAMPLE = 200  # characters read to tell Indonesian from Malay
MIN_MARKERS = 3  # distinct function words that make a Latin text Indonesian/Malay/English
MIN_LETTERS = 20  # fewer letters than this: too short to tell, scored
# Function words and job-ad words of Indonesian/Malay and of English that other languages written
# in Latin script rarely use ("di", "para", "a", "in", "to" are Italian, Spanish or Dutch words too).
ID_MARKERS = frozenset(
    [
        "yang",
        "dan",
        "dari",
        "untuk",
        "dengan",
        "kami",
        "kita",
        "anda",
        "ini",
        "itu",
        "ada",
        "bisa",
        "juga",
        "atau",
        "tidak",
        "sudah",
        "belum",
        "saja",
        "semua",
        "lagi",
        "akan",
        "mau",
        "jadi",
        "karena",
        "kalau",
        "buat",
        "oleh",
        "pada",
        "dalam",
        "tapi",
        "tetapi",
        "masih",
        "sangat",
        "lebih",
        "yg",
        "aja",
        "kalo",
        "nya",
        "dong",
        "deh",
        "kak",
        "utk",
        "dgn",
        "dr",
        "org",
        "tak",
        "perlu",
        "kat",
        "gaji",
        "kerja",
        "bekerja",
        "lowongan",
        "loker",
        "dibutuhkan",
        "butuh",
        "dicari",
        "syarat",
        "usia",
        "tahun",
        "thn",
        "berangkat",
        "tanpa",
        "pengalaman",
        "hubungi",
        "pekerja",
        "tenaga",
        "orang",
        "bulan",
        "hari",
        "biaya",
        "paspor",
        "tiket",
        "makan",
        "pt",
        "perusahaan",
        "kantor",
        "melakukan",
        "membuat",
        "dirahasiakan",
        "japri",
        "gratis",
        "pendaftaran",
        "minimal",
        "termasuk",
        "harga",
        "wanita",
        "pria",
        "baru",
        "bahasa",
        "laporan",
        "berangkat",
        "tok_money_idr",
    ]
)
EN_MARKERS = frozenset(
    [
        "the",
        "and",
        "with",
        "for",
        "you",
        "your",
        "our",
        "is",
        "are",
        "this",
        "that",
        "from",
        "we",
        "salary",
        "experience",
        "needed",
        "apply",
        "job",
        "jobs",
        "work",
        "contact",
        "office",
        "training",
        "customer",
        "flight",
    ]
)
# Malay words an Indonesian text does not use: worth asking the library which of the two it is.
MALAY_MARKERS = frozenset(
    ["kerana", "sahaja", "ialah", "mahu", "syarikat", "bahawa", "kerajaan", "jabatan"]
)
# A Latin-script text is called another language only when py3langid is this sure: on 30-120
# character Indonesian/English snippets its wrong guesses stayed below 0.89 (measured).
MIN_CONFIDENCE_LATIN = 0.9
_WORD = re.compile(r"[^\W\d_]+")
# Letters beyond Latin Extended-B (which covers Vietnamese, Indonesian, English and Malay).
_NON_LATIN = re.compile(r"[^\W\d_\u0000-\u024f]")


@dataclass(frozen=True, slots=True)
class Language:
    code: str  # ISO 639-1 (py3langid's label), or "und" when the text is too short to tell
    supported: bool  # the risk model scores it
    confidence: float  # py3langid's probability for ``code``; 1.0 on the fast path


@cache
def _identifier(languages: tuple[str, ...] | None = None) -> Any:
    """py3langid's model, loaded once per process (and per language subset)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if languages:
        identifier.set_languages(list(languages))
    return identifier


def detect_language(text: str, words: Iterable[str] | None = None) -> Language:
    """The language of ``text`` and whether the risk model scores it.

    ``words``: the text's lower-case words if the caller has them already (the risk model's
    normalizer does): a Latin-script text is then settled from them without reading it again."""
    if words is not None and not _NON_LATIN.search(text, 0, SAMPLE):
        settled = _settled_by_markers(words)
        if settled is not None:
            return settled
    sample = text[:SAMPLE]
    words = _WORD.findall(sample)
    letters = sum(map(len, words))
    if letters < MIN_LETTERS:
        return Language("und", True, 0.0)
    other = len(_NON_LATIN.findall(sample))
    latin_text = other * 2 < letters
    found = set(map(str.lower, words)) if other * 10 < letters else set()
    id_hits = len(found & ID_MARKERS)
    en_hits = len(found & EN_MARKERS)
    if id_hits + en_hits >= MIN_MARKERS:
        if en_hits > id_hits:
            return Language("en", True, 1.0)
        if found.isdisjoint(MALAY_MARKERS):
            return Language("id", True, 1.0)
        code, confidence = _identifier(("id", "ms")).classify(sample[:CODE_SAMPLE])
        return Language(str(code), True, float(confidence))
    code, confidence = _identifier().classify(sample)
    code = str(code)
    if code in SUPPORTED:
        return Language(code, True, float(confidence))
    doubtful = latin_text and confidence < MIN_CONFIDENCE_LATIN
    if code in CONFUSED_WITH_SUPPORTED or id_hits + en_hits >= 2 or doubtful:
        best, score = _identifier(("id", "ms", "en")).classify(sample)
        return Language(str(best), True, float(score))
    return Language(code, False, float(confidence))


_MARKERS = ID_MARKERS | EN_MARKERS | MALAY_MARKERS
_WORD_SAMPLE = 80  # words read on the fast path: about the first SAMPLE characters


def _settled_by_markers(words: Iterable[str]) -> Language | None:
    """Indonesian or English from the text's own words, or None: ask the library (too few
    markers, or a Malay-only word, which the library tells from Indonesian)."""
    head = words[:_WORD_SAMPLE] if isinstance(words, list) else list(words)[:_WORD_SAMPLE]
    found = _MARKERS.intersection(head)  # set operations in C: ~2 µs for an ad
    if len(found) < MIN_MARKERS or not MALAY_MARKERS.isdisjoint(found):
        return None
    en_hits = len(EN_MARKERS.intersection(found))
    return Language("en" if en_hits > len(found) - en_hits else "id", True, 1.0)


def unsupported_reason(code: str, language: str = "id") -> str:
    """The reason an analyst sees for an ad that was not scored."""
    if language == "id":
        return f"Bahasa {code} tidak didukung: tidak dinilai"
    return f"Language {code} not supported: not scored"
