"""The ``patroli`` command line; each module registers the commands for one area."""

from __future__ import annotations

from patroli.cli import (
    ads,
    cases,
    evidence,
    index,
    investigate,
    models,
    networks,
    patrol,
    queue,
    web,
)
from patroli.cli.main import cli, main

__all__ = [
    "ads",
    "cases",
    "cli",
    "evidence",
    "index",
    "investigate",
    "main",
    "models",
    "networks",
    "patrol",
    "queue",
    "web",
]
