"""Find the messages the app translates, to check the catalogues (tests/test_web_units.py).

``python -m patroli.web.catalog_check`` prints messages missing from a catalogue as .po entries to add.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from patroli.web.i18n import TRANSLATIONS, catalogue
from patroli.web.settings import LANGUAGES

HERE = Path(__file__).resolve().parent
_TEMPLATE_CALL = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*[,)]""")


def template_messages() -> set[str]:
    found: set[str] = set()
    for path in (HERE / "templates").glob("*.html"):
        for match in _TEMPLATE_CALL.finditer(path.read_text(encoding="utf-8")):
            raw = match.group(1) if match.group(1) is not None else match.group(2)
            found.add(raw.replace('\\"', '"').replace("\\'", "'"))
    return found


def python_messages() -> set[str]:
    """String literals passed to ``_``/``N_`` calls (``ctx._("...")``, ``N_("...")``) in patroli/web/."""
    found: set[str] = set()
    for path in HERE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            first = node.args[0]
            if (
                name in ("_", "N_")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                found.add(first.value)
    return found


def all_messages() -> set[str]:
    return template_messages() | python_messages()


def missing(language: str) -> list[str]:
    known = catalogue(language)
    return sorted(m for m in all_messages() if m not in known)


def _po_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


if __name__ == "__main__":
    for language in LANGUAGES:
        gaps = missing(language)
        sys.stdout.write(f"# {language}: {len(gaps)} missing in {TRANSLATIONS / language}\n")
        for message in gaps:
            sys.stdout.write(f'msgid {_po_string(message)}\nmsgstr ""\n\n')
