"""``docs/settings.md``, written from the table: one section per group, one heading per setting."""

from __future__ import annotations

import textwrap
from typing import Any

from patroli.config.setting import Computed, Setting
from patroli.config.table import GROUPS, SETTINGS

WIDTH = 100
INTRO = """\
Every `PATROLI_*` setting is defined once, with its type, default and help, in
`patroli/config/table.py`; this page is generated from it (`python -m patroli.config --markdown >
docs/settings.md`, checked by `tests/test_docs.py`). A setting marked *Scrapy setting* is part of
`crawler/settings.py` (Scrapy's settings module) and can be overridden per crawl with `patroli crawl
-s NAME=VALUE` or `scrapy crawl … -s NAME=VALUE`; a setting with an environment variable is read from
it (an empty variable counts as unset), and the `patroli` command line overrides it. A value that does
not parse stops the command with a message naming the variable and what it expects; nothing falls
back silently. Scrapy's own settings (politeness, retries, pipelines) are in `crawler/settings.py`;
per-source overrides live in the source registry (`docs/sources.md`)."""


def _default(setting: Setting[Any]) -> str:
    if setting.default_doc:
        return setting.default_doc
    if isinstance(setting.default, Computed):
        return setting.default.doc
    if setting.default == "":
        return "empty"
    return f"`{setting.kind.show(setting.default)}`"


def _facts(setting: Setting[Any]) -> str:
    facts = [f"Default {_default(setting)}", setting.kind.expected]
    if setting.env:
        facts.append(f"environment `{setting.env}`")
    if setting.scrapy:
        facts.append("Scrapy setting")
    return "*" + " · ".join(facts) + "*"


def _paragraph(text: str) -> str:
    return textwrap.fill(text, WIDTH, break_long_words=False, break_on_hyphens=False)


def render() -> str:
    lines = ["# Settings", "", INTRO]
    for group in GROUPS:
        members = [s for s in SETTINGS if s.group == group.title]
        lines += ["", f"## {group.title}"]
        if group.intro:
            lines += ["", _paragraph(group.intro)]
        for setting in members:
            lines += [
                "",
                f"### {setting.name}",
                _paragraph(_facts(setting)),
                "",
                _paragraph(setting.help),
            ]
    return "\n".join(lines) + "\n"
