"""Words too common to say anything about one ad: Indonesian and English function words, and the
forms of address and particles of chat ("kak", "dong").

The store's more-like-this search skips them when it picks an ad's distinctive words, and the
risk model never shows them as reasons (they still count in its score). One list for both: it was
two (20 words in the SQLite store, all of them among the model's 84).
"""

from __future__ import annotations

FUNCTION_WORDS = frozenset(
    [
        # Indonesian
        "yang",
        "dan",
        "di",
        "ke",
        "dari",
        "untuk",
        "dengan",
        "saya",
        "aku",
        "kami",
        "kita",
        "kamu",
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
        "sama",
        "pun",
        "oleh",
        "pada",
        "para",
        "per",
        "dalam",
        "tapi",
        "tetapi",
        "masih",
        "sangat",
        "lebih",
        # English
        "the",
        "a",
        "an",
        "and",
        "or",
        "to",
        "of",
        "in",
        "for",
        "with",
        "is",
        "are",
        "be",
        "you",
        "we",
        "i",
        "our",
        "your",
        "on",
        "at",
        "by",
        "from",
        "this",
        "that",
        "it",
        "as",
    ]
)
CHAT_WORDS = frozenset(
    [
        "ya",
        "yg",
        "aja",
        "kalo",
        "nya",
        "dong",
        "deh",
        "sih",
        "kak",
        "kakak",
        "bang",
        "mas",
        "mbak",
        "bu",
        "pak",
    ]
)
STOPWORDS = FUNCTION_WORDS | CHAT_WORDS
