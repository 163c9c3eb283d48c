"""Every setting and every command is documented (as datasette and sqlite-utils check theirs)."""

from __future__ import annotations

import re
from pathlib import Path

from click import Group
from click.testing import CliRunner

import crawler.settings
from patroli.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_DOC = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_patroli_setting_is_documented() -> None:
    names = [n for n in vars(crawler.settings) if n.startswith("PATROLI_")]
    assert names
    missing = [n for n in names if f"### {n}" not in SETTINGS_DOC]
    assert missing == []


def test_every_environment_variable_read_by_the_code_is_documented() -> None:
    code = "\n".join(p.read_text(encoding="utf-8") for d in ("cli", "crawler", "pipelines", "classifiers", "storage")
                     for p in (ROOT / d).rglob("*.py"))  # fmt: skip
    read = set(re.findall(r"""environ(?:\.get)?\(\s*["'](PATROLI_\w+)""", code)) | set(
        re.findall(r'envvar="(PATROLI_\w+)"', code)
    )
    documented = set(re.findall(r"PATROLI_\w+", SETTINGS_DOC))
    assert read - documented == set()


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
