"""Search-engine index commands: ``patroli index status``, ``patroli index migrate`` and
``patroli index dashboards export|import``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.table import Table

from patroli.cli.main import (
    EXIT_FAILED,
    cli,
    console,
    err_console,
    fail,
    open_store_or_fail,
    setting_option,
    store_option,
)
from patroli.config.table import PATROLI_INDEX_PREFIX
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
        table.add_row(
            row["alias"],
            row["index"] or "(not created yet)",
            str(row.get("docs", "-")),
            str(row.get("analyzer") or "-"),
            schema,
        )
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
                force=force,
                delete_old=delete_old,
                progress=lambda m: err_console.print(m, highlight=False),
            )
        except StoreError as exc:
            fail(
                f"migration stopped: {exc}", "the alias still points at the old index", EXIT_FAILED
            )
            return
    for row in report:
        detail = (
            f"{row['from']} -> {row['index']} ({row['copied']} documents, {row['seconds']}s, "
            f"old index {row['old_index']})"
            if row["action"] == "migrated"
            else row["index"]
        )
        console.print(f"{row['kind']}: {row['action']} {detail}", highlight=False)


@index.group()
def dashboards() -> None:
    """Kibana / OpenSearch Dashboards saved objects over the aliases (docs/operations.md)."""


@dashboards.command("export")
@setting_option("--prefix", setting=PATROLI_INDEX_PREFIX, help="Index prefix of the aliases.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the NDJSON here (default: standard output).",
)
def dashboards_export(prefix: str, output: str | None) -> None:
    """Write the saved objects (index patterns, visualizations, dashboards) as NDJSON."""
    from patroli.storage.engine.dashboards import export_ndjson

    text = export_ndjson(prefix)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        console.print(f"{text.count(chr(10))} saved objects written to {output}", highlight=False)
    else:
        sys.stdout.write(text)


@dashboards.command("import")
@click.argument("url")
@click.option(
    "--flavour",
    type=click.Choice(["kibana", "opensearch-dashboards"]),
    required=True,
    help="Which tool URL is (they differ in the import call's XSRF header).",
)
@setting_option("--prefix", setting=PATROLI_INDEX_PREFIX, help="Index prefix of the aliases.")
def dashboards_import(url: str, flavour: str, prefix: str) -> None:
    """Import the saved objects into Kibana or OpenSearch Dashboards at URL (overwriting earlier
    imports). Authenticates like the store: PATROLI_ENGINE_API_KEY, else PATROLI_ENGINE_USERNAME and
    PATROLI_ENGINE_PASSWORD."""
    import base64
    import urllib.error

    from patroli.config.table import (
        PATROLI_ENGINE_API_KEY,
        PATROLI_ENGINE_PASSWORD,
        PATROLI_ENGINE_USERNAME,
    )
    from patroli.storage.engine.dashboards import export_ndjson, import_ndjson

    headers = {}
    if api_key := PATROLI_ENGINE_API_KEY.from_env():
        headers["Authorization"] = f"ApiKey {api_key}"
    elif user := PATROLI_ENGINE_USERNAME.from_env():
        pair = f"{user}:{PATROLI_ENGINE_PASSWORD.from_env()}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    try:
        answer = import_ndjson(url, export_ndjson(prefix), flavour, headers=headers)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        fail(f"import into {url} failed: {exc}", "check the URL, the flavour and the credentials")
        return
    if not answer.get("success"):
        fail(f"{flavour} refused some objects: {json.dumps(answer.get('errors'))[:2000]}")
    console.print(
        f"{answer.get('successCount')} saved objects imported into {url}", highlight=False
    )
