"""NormalizeTextPipeline: HTML to text, Unicode, whitespace, size bounds, a title for untitled posts.

Settings: ``PATROLI_TEXT_MAX_CHARS`` (crawled text is hostile: a huge post must not cost unbounded
CPU downstream). Also sets ``content_hash``, which later steps use to skip unchanged ads.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Self

from scrapy.crawler import Crawler
from w3lib.html import remove_tags_with_content, replace_entities, replace_tags

from crawler.items import JobAd
from patroli.config.table import PATROLI_TEXT_MAX_CHARS

TITLE_MAX_CHARS = 160
_BLOCK_TAGS_RE = re.compile(
    r"<\s*(br|/p|/div|/li|/h[1-6]|/tr|/td|/th|/blockquote|p|li|div|h[1-6]|tr|blockquote)\b[^>]*>",
    re.IGNORECASE,
)
_TAG_RE = re.compile(r"<\s*/?\s*[A-Za-z][^>]*>")
_SOURCE_SPACE_RE = re.compile(r"[ \t\r\n]+")
# Invisible characters used to break up keywords and numbers; ZWJ (U+200D) stays, emoji need it.
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200e\u200f\u2060\ufeff\u00ad]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES_RE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment as a browser shows it: line breaks where the markup has
    them (``<br>``, blocks), source line breaks and runs of spaces as one space, and inline tags
    joined without a gap (``<b>TON</b>’s`` is "TON’s")."""
    if "<" not in markup and "&" not in markup:
        return markup
    if _TAG_RE.search(markup):
        markup = remove_tags_with_content(markup, which_ones=("script", "style", "template"))
        markup = _SOURCE_SPACE_RE.sub(" ", markup)
        markup = _BLOCK_TAGS_RE.sub("\n", markup)
        markup = replace_tags(markup, "")
    return replace_entities(markup)


def clean_text(text: str, max_chars: int) -> str:
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE_RE.sub("", text)
    text = _CONTROL_RE.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [_SPACES_RE.sub(" ", line).strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text[:max_chars]


def derive_title(text: str) -> str:
    first = next((line for line in text.split("\n") if line.strip()), "")
    return first if len(first) <= TITLE_MAX_CHARS else first[: TITLE_MAX_CHARS - 1].rstrip() + "…"


def content_hash(ad: JobAd) -> str:
    parts = [ad.title, ad.text, ad.salary_text, ad.location, ad.author]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


class NormalizeTextPipeline:
    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(max_chars=PATROLI_TEXT_MAX_CHARS.from_settings(crawler.settings))

    def process_item(self, item: JobAd) -> JobAd:
        item.text = clean_text(html_to_text(item.text), self.max_chars)
        item.title = clean_text(html_to_text(item.title), TITLE_MAX_CHARS * 2).replace("\n", " ")
        if not item.title:
            item.title = derive_title(item.text)
        item.author = clean_text(item.author, 200).replace("\n", " ")
        item.location = clean_text(item.location, 200).replace("\n", " ")
        item.salary_text = clean_text(item.salary_text, 200).replace("\n", " ")
        item.content_hash = content_hash(item)
        return item
