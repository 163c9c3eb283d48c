"""The source registry: where to look for ads, validated entry by entry.

The registry is a YAML file (default ``crawler/sources.yaml``, or ``PATROLI_SOURCES``) checked against
``crawler/sources.schema.json``. A bad entry is reported with file, line and reason and skipped;
every valid entry still runs. Strings may use ``${VAR}`` or ``${VAR:-default}`` from the environment
(the demo sources use ``${PATROLI_DEMO_URL}``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from patroli.config import lookup
from patroli.config.table import PATROLI_SOURCES

DEFAULT_REGISTRY = Path(__file__).parent / "sources.yaml"
SCHEMA_PATH = Path(__file__).parent / "sources.schema.json"
DEFAULT_SCHEDULE = "0 2 * * *"  # nightly, 02:00
_VAR_RE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")


class RegistryError(ValueError):
    """The registry file as a whole cannot be read."""


@dataclass(frozen=True, slots=True)
class SourceProblem:
    path: Path
    line: int
    name: str
    reason: str

    def __str__(self) -> str:
        who = f"source {self.name!r}: " if self.name else ""
        return f"{self.path}:{self.line}: {who}{self.reason}"


@dataclass(frozen=True, slots=True)
class SourceConfig:
    name: str
    kind: str
    start_urls: tuple[str, ...] = ()
    base_url: str = "https://t.me"
    channels: tuple[str, ...] = ()
    search_urls: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    follow: str = ""
    selectors: dict[str, str] = field(default_factory=dict)
    max_pages: int | None = None
    max_age_days: int | None = None
    schedule: str = DEFAULT_SCHEDULE
    enabled: bool = True
    description: str = ""
    robots_txt: dict[str, Any] = field(default_factory=dict)
    politeness: dict[str, Any] = field(default_factory=dict)
    api: dict[str, Any] = field(
        default_factory=dict
    )  # a JSON search API map (crawler/structured.py)
    embedded: dict[str, Any] = field(default_factory=dict)  # an embedded app-state map
    template: bool = False  # a ready entry for a real platform, to copy and enable
    terms: str = ""  # what the platform's terms of use and robots.txt say (docs/sources.md)
    allowed_hosts: tuple[str, ...] = ()
    private_network: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)
    line: int = 0

    def scrapy_settings(self) -> dict[str, Any]:
        """Per-source Scrapy settings from the politeness and robots.txt overrides."""
        settings: dict[str, Any] = {}
        if "download_delay" in self.politeness:
            settings["DOWNLOAD_DELAY"] = self.politeness["download_delay"]
        if "concurrency" in self.politeness:
            settings["CONCURRENT_REQUESTS_PER_DOMAIN"] = self.politeness["concurrency"]
        if "autothrottle" in self.politeness:
            settings["AUTOTHROTTLE_ENABLED"] = self.politeness["autothrottle"]
        if self.robots_txt and not self.robots_txt.get("obey", True):
            settings["ROBOTSTXT_OBEY"] = False
        return settings


@dataclass(slots=True)
class Registry:
    path: Path
    sources: list[SourceConfig]
    problems: list[SourceProblem]

    def get(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        bad = [p for p in self.problems if p.name == name]
        if bad:
            raise KeyError(f"source {name!r} is invalid: {bad[0]}")
        known = ", ".join(s.name for s in self.sources) or "none"
        raise KeyError(f"no source named {name!r} in {self.path} (known: {known})")

    @property
    def enabled(self) -> list[SourceConfig]:
        return [s for s in self.sources if s.enabled]


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def _expand(value: Any, missing: list[str]) -> Any:
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            value = lookup(name)
            if value is not None:
                return value
            if default is not None:
                return default
            missing.append(name)
            return match.group(0)

        return _VAR_RE.sub(substitute, value)
    if isinstance(value, list):
        return [_expand(v, missing) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, missing) for k, v in value.items()}
    return value


def _line_of(node: yaml.Node, path: list[Any]) -> int:
    """1-based line of the YAML node at ``path`` inside ``node`` (as deep as the path resolves)."""
    current = node
    for key in path:
        if isinstance(current, yaml.MappingNode):
            for k, v in current.value:
                if k.value == key:
                    current = v
                    break
            else:
                break
        elif (
            isinstance(current, yaml.SequenceNode)
            and isinstance(key, int)
            and key < len(current.value)
        ):
            current = current.value[key]
        else:
            break
    return current.start_mark.line + 1


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path)
    message = error.message
    if error.validator == "additionalProperties":
        message = message.replace("Additional properties are not allowed", "unknown field(s)")
    return f"{where}: {message}" if where else message


def load_registry(path: Path | str | None = None) -> Registry:
    path = Path(path or PATROLI_SOURCES.from_env() or DEFAULT_REGISTRY)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read the source registry ({exc.strerror})") from exc
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise RegistryError(
            f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list) or root is None:
        raise RegistryError(f"{path}: expected a mapping with a 'sources:' list")
    sources_node = next(v for k, v in root.value if k.value == "sources")
    validator = jsonschema.Draft202012Validator(
        {**_schema()["$defs"]["source"], "$defs": _schema()["$defs"]}
    )
    sources: list[SourceConfig] = []
    problems: list[SourceProblem] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(data["sources"]):
        entry_node = sources_node.value[index]
        line = entry_node.start_mark.line + 1
        name = entry.get("name", "") if isinstance(entry, dict) else ""
        missing: list[str] = []
        expanded = _expand(entry, missing)
        if missing:
            problems.append(
                SourceProblem(
                    path, line, name, f"environment variable(s) not set: {', '.join(missing)}"
                )
            )
            continue
        errors = sorted(validator.iter_errors(expanded), key=lambda e: list(e.absolute_path))
        if errors:
            for error in errors[:3]:
                where = _line_of(entry_node, list(error.absolute_path))
                problems.append(SourceProblem(path, where, str(name), _describe(error)))
            continue
        if name in seen:
            problems.append(
                SourceProblem(
                    path, line, name, f"duplicate name (first defined on line {seen[name]})"
                )
            )
            continue
        seen[name] = line
        if expanded.get("follow"):
            try:
                re.compile(expanded["follow"])
            except re.error as exc:
                problems.append(
                    SourceProblem(
                        path,
                        _line_of(entry_node, ["follow"]),
                        name,
                        f"follow: bad regular expression ({exc})",
                    )
                )
                continue
        sources.append(
            SourceConfig(
                name=name,
                kind=expanded["kind"],
                start_urls=tuple(expanded.get("start_urls", ())),
                base_url=expanded.get("base_url", "https://t.me").rstrip("/"),
                channels=tuple(expanded.get("channels", ())),
                search_urls=tuple(expanded.get("search_urls", ())),
                keywords=tuple(expanded.get("keywords", ())),
                follow=expanded.get("follow", ""),
                selectors=dict(expanded.get("selectors", {})),
                max_pages=expanded.get("max_pages"),
                max_age_days=expanded.get("max_age_days"),
                schedule=expanded.get("schedule", DEFAULT_SCHEDULE),
                enabled=expanded.get("enabled", True),
                description=expanded.get("description", ""),
                robots_txt=dict(expanded.get("robots_txt", {})),
                politeness=dict(expanded.get("politeness", {})),
                api=dict(expanded.get("api", {})),
                embedded=dict(expanded.get("embedded", {})),
                template=expanded.get("template", False),
                terms=expanded.get("terms", ""),
                allowed_hosts=tuple(expanded.get("allowed_hosts", ())),
                private_network=dict(expanded.get("private_network", {})),
                budget=dict(expanded.get("budget", {})),
                line=line,
            )
        )
    return Registry(path=path, sources=sources, problems=problems)
