"""What one setting is (name, type, default, help, where it comes from) and the one typed parser.

A value is read from the environment (``Setting.from_env``) or from Scrapy settings
(``Setting.from_settings``). Unset or empty means the default; anything else must parse as the
setting's kind, or ``SettingError`` names the variable, shows the value (never a secret's) and says
what is expected. There is no silent fall-back to the default.
"""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")


class SettingError(ValueError):
    """A setting has a value patroli cannot use; the message names it and says what is expected."""


class Kind(ABC, Generic[T]):
    """How a raw value (a string from the environment, or a Scrapy setting) becomes a ``T``."""

    @property
    @abstractmethod
    def expected(self) -> str:
        """What a valid value looks like, for error messages and the docs."""

    @abstractmethod
    def convert(self, raw: object) -> T:
        """The value of ``raw``; raise ``ValueError`` (or ``TypeError``) when it is not one."""

    def show(self, value: T) -> str:
        return str(value)


def _bounds(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum:g} to {maximum:g}"
    if minimum is not None:
        return f", at least {minimum:g}"
    if maximum is not None:
        return f", at most {maximum:g}"
    return ""


def _check_bounds(value: float, minimum: float | None, maximum: float | None) -> None:
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError("out of range")


@dataclass(frozen=True, slots=True)
class Int(Kind[int]):
    minimum: int | None = None
    maximum: int | None = None

    @property
    def expected(self) -> str:
        return "a whole number" + _bounds(self.minimum, self.maximum)

    def convert(self, raw: object) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise TypeError("not a whole number")
        value = int(raw)  # "2.5", "x" raise ValueError
        _check_bounds(value, self.minimum, self.maximum)
        return value


@dataclass(frozen=True, slots=True)
class Float(Kind[float]):
    minimum: float | None = None
    maximum: float | None = None

    @property
    def expected(self) -> str:
        return "a number" + _bounds(self.minimum, self.maximum)

    def convert(self, raw: object) -> float:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise TypeError("not a number")
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError("not finite")
        _check_bounds(value, self.minimum, self.maximum)
        return value


TRUE_WORDS = ("true", "1", "yes", "on")
FALSE_WORDS = ("false", "0", "no", "off")


@dataclass(frozen=True, slots=True)
class Bool(Kind[bool]):
    @property
    def expected(self) -> str:
        return "true or false (also 1/0, yes/no, on/off)"

    def convert(self, raw: object) -> bool:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower() if isinstance(raw, str | int) else ""
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError("not a boolean")

    def show(self, value: bool) -> str:
        return "true" if value else "false"


@dataclass(frozen=True, slots=True)
class Choice(Kind[str]):
    """One of a few words; matched regardless of case, returned as written in ``options``."""

    options: tuple[str, ...]

    @property
    def expected(self) -> str:
        return "one of " + ", ".join(self.options)

    def convert(self, raw: object) -> str:
        word = str(raw).strip().lower() if isinstance(raw, str) else None
        for option in self.options:
            if option.lower() == word:
                return option
        raise ValueError("not an option")


@dataclass(frozen=True, slots=True)
class Text(Kind[str]):
    """Free text or a file system path (``os.PathLike`` values are accepted from Scrapy settings)."""

    what: str = "text"

    @property
    def expected(self) -> str:
        return self.what

    def convert(self, raw: object) -> str:
        if isinstance(raw, str | os.PathLike):
            return os.fspath(raw)
        raise TypeError(f"not {self.what}")


@dataclass(frozen=True, slots=True)
class Url(Kind[str]):
    """A URL with one of ``schemes`` and something after ``scheme://`` (or a path with a suffix)."""

    schemes: tuple[str, ...]
    what: str  # what a valid value looks like, in words and examples
    path_suffixes: tuple[str, ...] = ()

    @property
    def expected(self) -> str:
        return self.what

    def convert(self, raw: object) -> str:
        if not isinstance(raw, str):
            raise TypeError("not a URL")
        value = raw.strip()
        scheme, sep, rest = value.partition("://")
        if sep and scheme.lower() in self.schemes and rest.strip("/"):
            return value
        if self.path_suffixes and value.lower().endswith(self.path_suffixes):
            return value
        raise ValueError("not a URL")


@dataclass(frozen=True, slots=True)
class Computed(Generic[T]):
    """A default that depends on the machine; ``doc`` says how it is chosen."""

    function: Callable[[], T]
    doc: str


class SupportsGet(Protocol):
    def get(self, name: str, default: Any = None, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class Setting(Generic[T]):
    """One ``PATROLI_*`` setting: defined once in ``patroli.config.table``."""

    name: str
    kind: Kind[T]
    default: T | Computed[T]
    help: str
    group: str
    env: str = ""  # the environment variable it is read from ("" if none)
    scrapy: bool = False  # a Scrapy setting of the same name (crawler/settings.py, `-s NAME=VALUE`)
    secret: bool = False  # never shown, not even in an error message
    default_doc: str = ""  # how the docs describe the default when its value alone says too little

    def default_value(self) -> T:
        return self.default.function() if isinstance(self.default, Computed) else self.default

    def parse(self, raw: object, source: str = "") -> T:
        """``raw`` as this setting's type; unset (None) or empty means the default."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return self.default_value()
        try:
            return self.kind.convert(raw)
        except (TypeError, ValueError):
            shown = "" if self.secret else f"={raw!r}"
            raise SettingError(
                f"{source or self.name}{shown} is not valid: expected {self.kind.expected}"
            ) from None

    def from_env(self, env: Mapping[str, str] | None = None) -> T:
        """The value in the environment (``os.environ`` unless ``env`` is given), else the default."""
        if not self.env:
            raise TypeError(f"{self.name} is not read from the environment")
        return self.parse((os.environ if env is None else env).get(self.env), self.env)

    def from_settings(self, settings: SupportsGet) -> T:
        """The value in Scrapy ``settings`` (or any mapping), else the default."""
        if not self.scrapy:
            raise TypeError(f"{self.name} is not a Scrapy setting")
        return self.parse(settings.get(self.name), self.name)
