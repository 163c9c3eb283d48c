"""patroli's settings: one table (``patroli.config.table``) and one typed parser (``Setting``).

This package sits at the bottom of the layers and imports nothing else of patroli. The environment
is read here and nowhere else: ``Setting.from_env`` for ``PATROLI_*`` settings, ``lookup`` for the
variables an operator's own files name (``${VAR}`` in the source registry, ``*_env`` in
``alerts.yaml``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from patroli.config.setting import Setting, SettingError
from patroli.config.table import BY_ENV, BY_NAME, GROUPS, SETTINGS


def scrapy_settings(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Scrapy settings of the table, each from its environment variable or its default."""
    return {s.name: s.from_env(env) if s.env else s.default_value() for s in SETTINGS if s.scrapy}


def check_environment(env: Mapping[str, str] | None = None) -> None:
    """Parse every ``PATROLI_*`` variable that is set; one ``SettingError`` lists all bad ones."""
    problems = []
    for setting in SETTINGS:
        if setting.env:
            try:
                setting.from_env(env)
            except SettingError as exc:
                problems.append(str(exc))
    if problems:
        raise SettingError("; ".join(problems))


def lookup(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The raw value of an environment variable an operator's file names (None when unset).

    A variable that is also a setting of the table must hold a valid value for it."""
    value = (os.environ if env is None else env).get(name)
    if value is not None and name in BY_ENV:
        BY_ENV[name].parse(value, name)
    return value


__all__ = [
    "BY_ENV",
    "BY_NAME",
    "GROUPS",
    "SETTINGS",
    "Setting",
    "SettingError",
    "check_environment",
    "lookup",
    "scrapy_settings",
]
