"""Search-engine index commands: ``patroli index status`` and ``patroli index migrate``."""

from __future__ import annotations

import json
import sys

import click
from rich.table import Table

from patroli.cli.main import (
    EXIT_FAILED,
    cli,
    console,
    err_console,
    fail,
    open_store_or_fail,
    store_option,
)
from patroli.storage import StoreError, StoreHandle
from patroli.storage.engine import EngineStore


def _engine(store_url: str) -> EngineStore:
    store: StoreHandle = open_store_or_fail(
        store_url, "check the URL and PATROLI_ENGINE_* credentials", EXIT_FAILED
    )
    if not isinstance(store, EngineStore):
        store.close()
        fail(
            f"{store_url} is not a search engine: SQLite applies its schema when opened",
            "pass --store http(s)://host:port (Elasticsearch or OpenSearch)",
        )
    return store  # type: ignore[return-value]


@cli.group()
def index() -> None:
    """Manage the search-engine indices (Elasticsearch / OpenSearch)."""


@index.command()
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(store_url: str, as_json: bool) -> None:
    """Show each alias, the index version behind it, its size and whether its schema is current."""
    with _engine(store_url) as store:
        rows = store.index_status()
        family, version = store.client.info.family, store.client.info.version
    if as_json:
        sys.stdout.write(json.dumps({"engine": family, "version": version, "indices": rows}) + "\n")
        return
    table = Table(title=f"{family} {version}", title_justify="left")
    for column in ("alias", "index", "docs", "analyzer", "schema"):
        table.add_column(column)
    for row in rows:
        schema = (
            "-" if row["index"] is None else ("current" if row["up_to_date"] else "run migrate")
        )
        table.add_row(row["alias"], row["index"] or "(not created yet)", str(row.get("docs", "-")),
                      str(row.get("analyzer") or "-"), schema)  # fmt: skip
    console.print(table)


@index.command()
@store_option
@click.option("--force", is_flag=True, help="Move to a new index version even if nothing changed.")
@click.option("--delete-old", is_flag=True, help="Delete the previous index versions afterwards.")
def migrate(store_url: str, force: bool, delete_old: bool) -> None:
    """Create or update the index templates and move each index whose mapping changed to a new
    version (copy, then an atomic alias swap): readers and writers keep working throughout, and
    reviews made meanwhile are carried over."""
    with _engine(store_url) as store:
        try:
            report = store.migrate(
                force=force, delete_old=delete_old, progress=lambda m: err_console.print(m, highlight=False)
            )  # fmt: skip
        except StoreError as exc:
            fail(
                f"migration stopped: {exc}", "the alias still points at the old index", EXIT_FAILED
            )
            return
    for row in report:
        detail = (f"{row['from']} -> {row['index']} ({row['copied']} documents, {row['seconds']}s, "
                  f"old index {row['old_index']})" if row["action"] == "migrated" else row["index"])  # fmt: skip
        console.print(f"{row['kind']}: {row['action']} {detail}", highlight=False)
