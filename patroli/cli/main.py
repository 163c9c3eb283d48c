"""``patroli``: the command-line entry point. Commands are thin shells over the library packages.

User values (ids, queries, names, crawled text) are printed as plain text: the consoles interpret no
Rich markup and no emoji codes, and terminal control characters are removed (``safe``), so that
``patroli review '[/]'`` or a crawled title cannot break or steer the output. Styled words are
``rich.text.Text`` objects. No traceback reaches a user: an error the commands do not handle
themselves is reported in one line by the command group.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.text import Text

from patroli import logs
from patroli.config import Setting, SettingError, check_environment
from patroli.config.table import PATROLI_STORE_URL
from patroli.storage import Store, StoreError, StoreUnavailable, open_store

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger(__name__)

console = Console(markup=False, emoji=False, highlight=False)
err_console = Console(stderr=True, markup=False, emoji=False, highlight=False)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

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


def safe(text: Any) -> str:
    """A value fit to print: terminal control characters (escape sequences, C1 controls) become
    spaces; the consoles interpret no markup, so brackets stay brackets."""
    return _CONTROL_RE.sub(" ", str(text if text is not None else ""))


def styled(style: str, text: str) -> Text:
    return Text(text, style=style)


def fail(message: str, hint: str = "", code: int = EXIT_FAILED_INPUT) -> None:
    """Print an error that says what went wrong and what to do, then exit."""
    err_console.print(Text.assemble(styled("bold red", "error:"), " ", safe(message)))
    if hint:
        err_console.print(Text.assemble(styled("dim", "hint:"), " ", safe(hint)))
    sys.exit(code)


NO_STORE_HINT = (
    "check --store (or PATROLI_STORE); `patroli demo --no-serve` or `patroli crawl` fill a store"
)


def open_store_or_fail(
    store_url: str,
    hint: str = NO_STORE_HINT,
    code: int = EXIT_FAILED_INPUT,
    *,
    create: bool = False,
) -> Store:
    """Open the store for a command; when it cannot be opened, say why and what to do, then exit.

    Only commands that fill a store pass ``create=True``: the others never make a file or a
    directory (a mistyped --store is an error, not a new empty store)."""
    try:
        return open_store(store_url, create=create)
    except StoreUnavailable as exc:
        fail(str(exc), hint, code)
        raise  # unreachable: fail() exits


UNEXPECTED = "unexpected error"


class PatroliGroup(click.Group):
    """The command group: a bad setting, an unreachable store, an unreadable file or any error a
    command did not handle is a one-line message and an exit status, never a traceback (the
    traceback of an unexpected error goes to the debug log)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except SettingError as exc:
            fail(str(exc), "fix the environment (docs/settings.md lists every setting)")
        except StoreError as exc:
            fail(str(exc), NO_STORE_HINT, EXIT_FAILED)
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            fail(f"{exc.strerror or exc}{where}", code=EXIT_FAILED)
        except Exception as exc:
            logger.debug("unexpected error", exc_info=True)
            fail(
                f"{UNEXPECTED} ({type(exc).__name__}): {exc}"[:2000],
                "please report it with the command you ran",
                EXIT_FAILED,
            )


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
