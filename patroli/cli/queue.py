"""``patroli queue``: the unreviewed ads to look at next, most informative or riskiest first."""

from __future__ import annotations

import json
import sys

import click
from rich.table import Table

from patroli.cli.ads import hit_json, safe
from patroli.cli.main import cli, console, fail, open_store_or_fail, store_option
from patroli.storage import AdStore
from patroli.storage.query import QuerySyntaxError

ORDERS = {"informative": "uncertainty", "risk": "risk"}


@cli.command()
@click.argument("query", default="")
@click.option(
    "--order",
    type=click.Choice(sorted(ORDERS)),
    default="informative",
    show_default=True,
    help="informative: risk closest to the model's threshold first (the decisions that teach the "
    "model most); risk: highest risk first.",
)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help='Print {"total": N, "hits": [...]} as JSON.')
@store_option
def queue(query: str, order: str, limit: int, as_json: bool, store_url: str) -> None:
    """List unreviewed ads (status new), optionally narrowed by QUERY (the `patroli search` syntax).

    Antrean tinjauan: iklan yang belum ditinjau, yang paling informatif (risiko paling dekat ke
    ambang model) atau yang paling berisiko lebih dulu.
    """
    store: AdStore = open_store_or_fail(store_url)
    with store:
        try:
            result = store.search(f"status:new {query}".strip(), limit=limit, sort=ORDERS[order])  # type: ignore[arg-type]
        except (QuerySyntaxError, ValueError) as exc:
            fail(str(exc), "see `patroli search --help` for the query syntax")
            return
    if as_json:
        hits = [{**hit_json(r), "risk_margin": r.get("risk_margin")} for r in result.hits]
        sys.stdout.write(
            json.dumps({"total": result.total, "hits": hits}, ensure_ascii=False, default=str)
            + "\n"
        )
        return
    title = "most informative first" if order == "informative" else "highest risk first"
    table = Table(title=f"{result.total} unreviewed ad(s), {title}", title_justify="left")
    for column in ("id", "risk", "margin", "source", "title"):
        table.add_column(column, overflow="fold")
    for record in result.hits:
        risk, margin = record.get("risk"), record.get("risk_margin")
        table.add_row(
            record["ad_id"],
            f"{risk:.2f}" if risk is not None else "-",
            f"{margin:+.2f}" if margin is not None else "-",
            safe(record.get("source")),
            safe(record.get("title"))[:80],
        )
    console.print(table)
