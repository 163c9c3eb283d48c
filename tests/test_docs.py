"""Every setting and every command is documented (as datasette and sqlite-utils check theirs)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from click import Group
from click.testing import CliRunner

from patroli.cli import cli
from patroli.config import BY_ENV, SETTINGS
from patroli.config.markdown import render
from patroli.config.setting import Computed

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_DOC = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


PACKAGES = ("crawler", "pipelines", "classifiers", "patroli")
# Names an operator chooses in alerts.yaml (``password_env``, ``token_env``): examples, not settings.
EXAMPLE_NAMES = {"PATROLI_SMTP_PASSWORD", "PATROLI_TELEGRAM_TOKEN"}
SETTING_NAME = re.compile(r"PATROLI_[A-Z0-9_]*[A-Z0-9]")


def test_settings_doc_is_generated_from_the_table() -> None:
    assert render() == SETTINGS_DOC, (
        "docs/settings.md differs from the table: run "
        "`.venv/bin/python -m patroli.config --markdown > docs/settings.md`"
    )


def test_every_setting_of_the_table_is_documented_with_its_default_and_no_other() -> None:
    sections = dict(
        re.findall(
            r"^### (PATROLI_\w+)\n(.*?)(?=\n### |\n## |\Z)", SETTINGS_DOC, re.MULTILINE | re.DOTALL
        )
    )
    assert sorted(sections) == sorted(s.name for s in SETTINGS)
    for setting in SETTINGS:
        default = setting.default_value()
        if setting.default_doc or default == "" or isinstance(setting.default, Computed):
            continue  # described in words (e.g. "empty: crawler/sources.yaml"); the generator test covers it
        section = " ".join(sections[setting.name].split())
        assert f"*Default `{setting.kind.show(default)}`" in section, setting.name


def _code_files() -> list[Path]:
    found = [p for package in (*PACKAGES, "tests", "bench") for p in (ROOT / package).rglob("*.py")]
    found += [
        ROOT / "README.md",
        ROOT / "Makefile",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "deploy").iterdir(),
    ]
    found += [p for package in PACKAGES for p in (ROOT / package).rglob("*.yaml")]
    return [p for p in found if p.is_file()]


def test_every_setting_named_anywhere_is_in_the_table() -> None:
    """Code, docs, deployment files and the registry name only settings of the table."""
    names = {s.name for s in SETTINGS} | {s.env for s in SETTINGS if s.env}
    unknown = set()
    for path in _code_files():
        for token in SETTING_NAME.findall(path.read_text(encoding="utf-8")):
            # PATROLI_ENGINE_* and PATROLI_WEB_* name families of settings
            if token not in names | EXAMPLE_NAMES and not any(
                n.startswith(token + "_") for n in names
            ):
                unknown.add(f"{path.relative_to(ROOT)}: {token}")
    assert sorted(unknown) == []


def test_no_module_reads_a_setting_around_the_table() -> None:
    """The environment and PATROLI_* Scrapy settings are read through patroli.config only."""
    getters = {"get", "getint", "getfloat", "getbool", "getlist", "getdict", "getwithbase"}
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.is_relative_to(ROOT / "patroli" / "config"):
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            written = {
                id(n.value)
                for n in ast.walk(tree)
                if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store)
            }
            for node in ast.walk(tree):
                where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in ("environ", "getenv")
                    and id(node) not in written
                ):
                    found.append(f"{where}: os.{node.attr}")
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    first = node.args[0] if node.args else None
                    if (
                        node.func.attr in getters
                        and isinstance(first, ast.Constant)
                        and str(first.value).startswith("PATROLI_")
                    ):
                        found.append(f"{where}: .{node.func.attr}({first.value!r})")
                if isinstance(node, ast.keyword) and node.arg == "envvar":
                    found.append(f"{where}: envvar=")
    assert found == []


def test_registry_fallbacks_agree_with_the_table() -> None:
    """``${PATROLI_<NAME>:-default}`` in the shipped registry repeats the table's default exactly."""
    registry = (ROOT / "crawler" / "sources.yaml").read_text(encoding="utf-8")
    fallbacks = set(re.findall(r"\$\{(PATROLI_\w+):-([^}]*)\}", registry))
    assert fallbacks
    assert {(name, str(BY_ENV[name].default_value())) for name, _ in fallbacks} == fallbacks


def _commands(group: Group, prefix: str = "") -> list[tuple[str, object]]:
    found = []
    for name, command in group.commands.items():
        found.append((prefix + name, command))
        if isinstance(command, Group):
            found += _commands(command, prefix + name + " ")
    return found


def test_every_command_has_help_and_is_in_the_readme() -> None:
    runner = CliRunner()
    for name, command in _commands(cli):
        assert command.help, name  # type: ignore[attr-defined]
        result = runner.invoke(cli, [*name.split(), "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert f"patroli {name.split()[0]}" in README, name


def test_quick_start_has_exactly_two_commands() -> None:
    section = README.split("## Quick start", 1)[1].split("##", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    assert [line for line in block.splitlines() if line.strip()] == ["make run", "make test"]
