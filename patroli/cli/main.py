"""``patroli``: the command-line entry point. Commands are thin shells over the library packages."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console

from patroli.storage import DEFAULT_STORE_URL, Store, StoreUnavailable, open_store

F = TypeVar("F", bound=Callable[..., Any])

console = Console()
err_console = Console(stderr=True)

EXIT_OK, EXIT_FAILED_INPUT, EXIT_DEGRADED, EXIT_FAILED = 0, 1, 3, 4


def store_option(func: F) -> F:
    """The same ``--store`` on every command that reads or writes ads."""
    return click.option(
        "--store",
        "store_url",
        envvar="PATROLI_STORE",
        default=DEFAULT_STORE_URL,
        show_default=True,
        help=(
            "Store URL: sqlite:///path.db, or http(s)://host:port for Elasticsearch or "
            "OpenSearch. Env: PATROLI_STORE."
        ),
    )(func)


def fail(message: str, hint: str = "", code: int = EXIT_FAILED_INPUT) -> None:
    """Print an error that says what went wrong and what to do, then exit."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    if hint:
        err_console.print(f"[dim]hint:[/] {hint}", highlight=False)
    sys.exit(code)


NO_STORE_HINT = (
    "check --store (or PATROLI_STORE); `patroli demo --no-serve` or `patroli crawl` fill a store"
)


def open_store_or_fail(
    store_url: str, hint: str = NO_STORE_HINT, code: int = EXIT_FAILED_INPUT
) -> Store:
    """Open the store for a command; when it cannot be opened, say why and what to do, then exit."""
    try:
        return open_store(store_url)
    except StoreUnavailable as exc:
        fail(str(exc), hint, code)
        raise  # unreachable: fail() exits


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="patroli")
def cli() -> None:
    """patroli — cyber-patrol for illegal overseas job placement.

    Crawl job ads from Telegram channels, classifieds, job boards and feeds, score each ad's risk
    of illegal (non-procedural) placement with reasons, keep the evidence, and review them.
    """


def main() -> None:
    cli()  # the commands are registered by importing the cli package (patroli/cli/__init__.py)


if __name__ == "__main__":
    main()
