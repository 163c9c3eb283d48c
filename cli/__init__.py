"""The ``patroli`` command line; each module registers the commands for one area."""

from __future__ import annotations

from cli import ads, models, patrol, queue, web
from cli.main import cli, main

__all__ = ["ads", "cli", "main", "models", "patrol", "queue", "web"]
