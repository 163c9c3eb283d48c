"""``patroli``: the command-line entry point. Commands are thin shells over the library packages."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console

from patroli import logs
from patroli.config import Setting, SettingError, check_environment
from patroli.config.table import PATROLI_STORE_URL
from patroli.storage import Store, StoreUnavailable, open_store

F = TypeVar("F", bound=Callable[..., Any])

console = Console()
err_console = Console(stderr=True)

EXIT_OK, EXIT_FAILED_INPUT, EXIT_DEGRADED, EXIT_FAILED = 0, 1, 3, 4


def setting_option(*decls: str, setting: Setting[Any], help: str, **attrs: Any) -> Callable[[F], F]:
    """A ``click.option`` whose default is ``setting``: its environment variable, else the table's.

    The environment goes through the table's parser, so a bad value is an error naming it."""
    default = setting.default_value()
    return click.option(
        *decls,
        default=setting.from_env,
        show_default=str(default) if default != "" else False,
        help=f"{help} Env: {setting.env}.",
        **attrs,
    )


def store_option(func: F) -> F:
    """The same ``--store`` on every command that reads or writes ads."""
    return setting_option(
        "--store",
        "store_url",
        setting=PATROLI_STORE_URL,
        help="Store URL: sqlite:///path.db, or http(s)://host:port for Elasticsearch or OpenSearch.",
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


class PatroliGroup(click.Group):
    """The command group: a bad setting, wherever it is read, is an error message, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SettingError as exc:
            fail(str(exc), "fix the environment (docs/settings.md lists every setting)")


@click.group(
    cls=PatroliGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="patroli")
def cli() -> None:
    """patroli — cyber-patrol for illegal overseas job placement.

    Crawl job ads from Telegram channels, classifieds, job boards and feeds, score each ad's risk
    of illegal (non-procedural) placement with reasons, keep the evidence, and review them.
    """
    check_environment()  # every PATROLI_* variable that is set, before any command starts
    logs.install_redaction()  # no phone, e-mail, password, token or cookie in any log line


def main() -> None:
    cli()  # the commands are registered by importing the cli package (patroli/cli/__init__.py)


if __name__ == "__main__":
    main()
