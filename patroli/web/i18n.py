"""Translation catalogues (gettext .po files under patroli/web/translations/), read once at start-up.

Message ids are English; Indonesian is the default language. A message missing from a catalogue
falls back to its id, and ``tests/test_web_units.py`` fails on any such message.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from patroli.web.settings import LANGUAGES

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
Translator = Callable[..., str]


@cache
def catalogue(language: str) -> dict[str, str]:
    """msgid -> msgstr for one language (empty translations are left out)."""
    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        parsed = read_po(handle, locale=language)
    return {str(m.id): str(m.string) for m in parsed if m.id and m.string}


def translator(language: str) -> Translator:
    messages = catalogue(language if language in LANGUAGES else LANGUAGES[0])

    def gettext(message: str, **values: Any) -> str:
        text = messages.get(message, message)
        return text % values if values else text

    return gettext


def N_(message: str) -> str:
    """Mark a message for the catalogues; it is translated where it is shown."""
    return message
