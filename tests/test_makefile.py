"""The Makefile keeps its promises: `make run` and `make test-fast` need only Python and make (they
never call apt-get, sudo or Maven); `make test` installs the system packages the suite needs."""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers.cli import ROOT

SYSTEM_TOOLS = ("apt-get", "sudo", "mvn", "useradd")


def planned(target: str) -> str:
    """The commands ``make target`` would run (``make -n``: printed, none executed)."""
    result = subprocess.run(
        ["make", "-n", "-C", str(ROOT), target], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("target", ["run", "test-fast", "setup"])
def test_python_only_targets_install_no_system_package(target: str) -> None:
    commands = planned(target)
    assert not [tool for tool in SYSTEM_TOOLS if tool in commands], commands


def test_make_test_installs_the_system_packages_and_the_engines_then_runs_everything() -> None:
    commands = planned("test")
    assert "apt-get install" in commands
    assert "chromium" in commands
    assert "tesseract-ocr-ind" in commands
    assert "redis-server" in commands
    assert "openjdk-17-jdk-headless" in commands
    assert "prometheus" in commands  # promtool checks deploy/prometheus
    pytest_lines = [line for line in commands.splitlines() if "bin/pytest" in line]
    assert pytest_lines == [".venv/bin/pytest --junitxml=reports/junit.xml"]  # no -m: everything


def test_make_test_fast_leaves_out_exactly_the_slow_groups() -> None:
    pytest_lines = [line for line in planned("test-fast").splitlines() if "bin/pytest" in line]
    assert pytest_lines == [
        '.venv/bin/pytest -m "not engines and not browser and not promtool and not slow and not redis"'
    ]
