"""Networks and the agency register on the command line: ``patroli network ID``, ``patroli cluster
ID``, ``patroli networks list|rebuild|generic`` and ``patroli agencies import|imports|list|show``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from patroli.agencies.check import RegisterSnapshot, agency_id_of
from patroli.agencies.importer import RegisterFileError, load_mapping, read_register
from patroli.cli.ads import safe
from patroli.cli.main import cli, console, err_console, fail, open_store_or_fail, store_option
from patroli.config.table import PATROLI_NETWORK_ACTIVE_DAYS
from patroli.storage import AgencyRegister, NetworkStore
from patroli.storage.schema import REGISTER_KINDS


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=str) + "\n")


def _ad_rows(title: str, ads: list[dict[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("id", "risk", "status", "source", "cluster", "title"):
        table.add_column(column, overflow="fold")
    for ad in ads:
        risk = ad.get("risk")
        table.add_row(
            ad["ad_id"],
            f"{risk:.2f}" if risk is not None else "-",
            safe(ad.get("status")),
            safe(ad.get("source")),
            safe(ad.get("cluster_id")),
            safe(ad.get("title"))[:70],
        )
    return table


@cli.command()
@click.argument("network_id")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the network as JSON.")
def network(network_id: str, store_url: str, as_json: bool) -> None:
    """A recruiter network: its ads, identifiers (generic ones marked), clusters, sources,
    destinations, first/last seen, risk and decisions."""
    store: NetworkStore = open_store_or_fail(store_url)
    with store:
        try:
            found = store.get_network(network_id)
        except KeyError:
            fail(f"no network {network_id}", "`patroli networks list` lists the largest")
            return
    if as_json:
        _print_json(found)
        return
    console.print(
        f"{safe(network_id)}: {found['size']} ads, {len(found['clusters'])} clusters · sources "
        f"{safe(', '.join(f'{k} {v}' for k, v in found['sources'].items()))} · destinations "
        f"{safe(', '.join(found['destinations']) or '-')} · {safe(found['first_seen'])} → "
        f"{safe(found['last_seen'])} · risk max {found['risk']['max']} · decisions "
        f"{safe(', '.join(f'{k} {v}' for k, v in found['decisions'].items()))}",
        highlight=False,
    )
    table = Table(title="identifiers", title_justify="left")
    for column in ("kind", "value", "ads", "generic"):
        table.add_column(column)
    for ident in found["identifiers"]:
        table.add_row(
            ident["kind"],
            safe(ident["value"]),
            str(ident["ads"]),
            "yes" if ident["generic"] else "",
        )
    console.print(table)
    console.print(_ad_rows("ads", found["ads"]))


@cli.command()
@click.argument("cluster_id")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the cluster as JSON.")
def cluster(cluster_id: str, store_url: str, as_json: bool) -> None:
    """A template cluster: its members, sources, first/last seen, decision and the template with
    the parts that vary between versions in [brackets]."""
    store: NetworkStore = open_store_or_fail(store_url)
    with store:
        try:
            found = store.get_cluster(cluster_id)
        except KeyError:
            fail(f"no cluster {cluster_id}", "an ad's cluster is shown by `patroli show ID`")
            return
    if as_json:
        _print_json(found)
        return
    template = "".join(f"[{text}]" if varies else text for text, varies in found["template"])
    console.print(
        f"{safe(found['cluster_id'])}: {found['size']} ads · {safe(found['first_seen'])} → "
        f"{safe(found['last_seen'])} · decision {safe(found['decision'].get('decision') or '-')}",
        highlight=False,
    )
    console.print(safe(template), highlight=False)
    console.print(_ad_rows("members", found["members"]))


@cli.group()
def networks() -> None:
    """Recruiter networks: the largest active ones, generic identifiers, rebuilding links."""


@networks.command("list")
@store_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--days",
    default=None,
    type=click.IntRange(1, 36_500),
    help="Active within DAYS (default: PATROLI_NETWORK_ACTIVE_DAYS).",
)
@click.option("--json", "as_json", is_flag=True)
def networks_list(store_url: str, limit: int, days: int | None, as_json: bool) -> None:
    """The largest active networks (two ads or more, one seen within DAYS)."""
    store: NetworkStore = open_store_or_fail(store_url)
    with store:
        rows = store.largest_networks(
            limit=limit, active_days=days or PATROLI_NETWORK_ACTIVE_DAYS.from_env()
        )
    if as_json:
        _print_json(rows)
        return
    table = Table(title=f"{len(rows)} active network(s)", title_justify="left")
    for column in ("network", "ads", "sources", "flagged", "confirmed", "last seen"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["network_id"],
            str(row["ads"]),
            str(row["sources"]),
            str(row["flagged"]),
            str(row["confirmed"]),
            safe(row["last_seen"]),
        )
    console.print(table)


@networks.command("rebuild")
@store_option
def networks_rebuild(store_url: str) -> None:
    """Link every ad again (after an upgrade, with PATROLI_LINKING_ENABLED=false crawls, or to repair)."""
    store: NetworkStore = open_store_or_fail(store_url)
    with store:
        report = store.relink()
    console.print(", ".join(f"{k} {v}" for k, v in report.items()), highlight=False)


@networks.command("generic")
@store_option
@click.option("--json", "as_json", is_flag=True)
def networks_generic(store_url: str, as_json: bool) -> None:
    """Identifiers marked generic (seen across too many unrelated clusters to link ads)."""
    store: NetworkStore = open_store_or_fail(store_url)
    with store:
        rows = store.generic_identifiers()
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        console.print(
            f"{safe(row['kind'])} {safe(row['value'])}: {row['clusters']} clusters, marked {safe(row['marked_at'])}",
            highlight=False,
        )


@cli.group()
def agencies() -> None:
    """The licensed-agency (P3MI) register: import the ministry's lists, list and show agencies."""


@agencies.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@store_option
@click.option(
    "--kind",
    type=click.Choice(REGISTER_KINDS),
    default="licences",
    show_default=True,
    help="What the file lists: licences (the P3MI list), sanctions or job orders.",
)
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML/JSON file naming the columns: `field: header` (see docs/networks.md).",
)
@click.option("--source", default="", help="Where the file came from (default: its name).")
@click.option(
    "--published", default="", help="The date the ministry published the list (YYYY-MM-DD)."
)
def agencies_import(
    path: Path, store_url: str, kind: str, mapping: Path | None, source: str, published: str
) -> None:
    """Import a register FILE (CSV, XLSX, or an HTML list with its detail pages beside it).

    Every import is kept (source, time, parser version, SHA-256, rows); re-importing the same file
    changes nothing. Unreadable rows are listed as FILE:ROW: reason; the rest is imported."""
    try:
        result = read_register(
            path, kind, mapping=load_mapping(mapping), source=source, published_at=published
        )
    except (RegisterFileError, OSError) as exc:
        fail(str(exc), "patroli agencies import --help")
        return
    for problem in result.problems:
        err_console.print(f"skipped {safe(problem)}", highlight=False)
    store: AgencyRegister = open_store_or_fail(store_url, create=True)
    with store:
        record = store.record_register_import(result.meta, result.entries)
    if record.get("duplicate"):
        console.print(
            f"already imported as {record['import_id']} on {record['imported_at']}: nothing changed"
        )
        return
    console.print(
        f"imported {record['rows']} {kind} from {safe(record['source'])} as {record['import_id']} "
        f"(sha256 {record['sha256'][:12]}…)",
        highlight=False,
    )


@agencies.command("imports")
@store_option
@click.option("--json", "as_json", is_flag=True)
def agencies_imports(store_url: str, as_json: bool) -> None:
    """Every register import, newest first (the history is never overwritten)."""
    store: AgencyRegister = open_store_or_fail(store_url)
    with store:
        rows = store.register_imports()
    if as_json:
        _print_json(rows)
        return
    table = Table(title=f"{len(rows)} import(s)", title_justify="left")
    for column in ("import", "kind", "source", "imported", "published", "rows", "parser", "sha256"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            r["import_id"],
            r["kind"],
            safe(r["source"]),
            safe(r["imported_at"]),
            safe(r.get("published_at")),
            str(r["rows"]),
            safe(r["parser_version"]),
            safe(r["sha256"])[:16],
        )
    console.print(table)


@agencies.command("list")
@store_option
@click.option("--json", "as_json", is_flag=True)
def agencies_list(store_url: str, as_json: bool) -> None:
    """The agencies of the newest licence import, with their offices and expiry dates."""
    store: AgencyRegister = open_store_or_fail(store_url)
    with store:
        snapshot = RegisterSnapshot.from_store(store)
    if snapshot is None:
        fail("no register imported", "patroli agencies import FILE")
        return
    rows = [{**e, "agency_id": agency_id_of(e)} for e in snapshot.licences]
    if as_json:
        _print_json(rows)
        return
    table = Table(
        title=f"register {snapshot.import_record['source']} imported {snapshot.import_record['imported_at']}",
        title_justify="left",
    )
    for column in ("agency", "name", "office", "city", "licence", "valid until", "status"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            r["agency_id"],
            safe(r["name"]),
            r["office"],
            safe(r["city"]),
            safe(r["licence_number"]),
            safe(r["valid_until"]),
            safe(r["status"]),
        )
    console.print(table)
