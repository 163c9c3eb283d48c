"""The ``patroli`` command line; each module registers the commands for one area."""

from __future__ import annotations

from cli import ads, index, models, patrol
from cli.main import cli, main

__all__ = ["ads", "cli", "index", "main", "models", "patrol"]
