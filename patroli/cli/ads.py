"""Investigation commands over the store: ``search``, ``show``, ``review``."""

from __future__ import annotations

import getpass
import json
import re
import sys
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from patroli.cli.main import cli, console, fail, open_store_or_fail, store_option
from patroli.storage import AdNotFound, AdStore, ReviewConflict, ReviewStore, SavedSearchStore
from patroli.storage.query import QuerySyntaxError
from patroli.storage.schema import DECISIONS

HIT_FIELDS = ("id", "url", "title", "risk", "flagged", "status", "source", "posted_at", "first_seen",
              "last_seen", "countries", "phones", "telegram", "reasons", "highlight")  # fmt: skip
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x1b]")


def safe(text: Any) -> str:
    """Crawled text is hostile: strip terminal control sequences and Rich markup before printing."""
    return escape(_CONTROL_RE.sub(" ", str(text if text is not None else "")))


def hit_json(record: dict[str, Any]) -> dict[str, Any]:
    hit = {"id": record["ad_id"], **{k: record.get(k) for k in HIT_FIELDS if k != "id"}}
    if hit.get("highlight"):
        hit["highlight"] = hit["highlight"].replace("\x02", "[").replace("\x03", "]")
    else:
        hit.pop("highlight", None)
    return hit


@cli.command()
@click.argument("query", default="")
@store_option
@click.option("--json", "as_json", is_flag=True, help='Print {"total": N, "hits": [...]} as JSON.')
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--offset", default=0, type=click.IntRange(0))
@click.option(
    "--sort",
    type=click.Choice(["relevance", "risk", "date", "uncertainty"]),
    default="relevance",
    show_default=True,
)
def search(query: str, store_url: str, as_json: bool, limit: int, offset: int, sort: str) -> None:
    """Search ads. QUERY takes words, "phrases" and filters:

    \b
    phone:0812-5551-2345  handle:@name  email:x@y  country:KH  source:NAME  kind:feed
    status:new|confirmed|dismissed|escalated  flagged:true  risk>=0.8  posted>=2026-11-01
    seen>=DATE  first>=DATE  -word (exclude)
    """
    store: AdStore = open_store_or_fail(store_url)
    with store:
        try:
            result = store.search(query, limit=limit, offset=offset, sort=sort)  # type: ignore[arg-type]
        except (QuerySyntaxError, ValueError) as exc:
            fail(str(exc), "see `patroli search --help` for the query syntax")
            return
    if as_json:
        sys.stdout.write(json.dumps({"total": result.total, "hits": [hit_json(r) for r in result.hits]},
                                    ensure_ascii=False, default=str) + "\n")  # fmt: skip
        return
    table = Table(title=f"{result.total} ad(s)", title_justify="left", show_lines=False)
    for column in ("id", "risk", "status", "source", "title"):
        table.add_column(column, overflow="fold")
    for record in result.hits:
        risk = record.get("risk")
        colour = "red" if record.get("flagged") else "white"
        table.add_row(record["ad_id"], f"[{colour}]{risk:.2f}[/]" if risk is not None else "-",
                      record.get("status") or "", safe(record.get("source")), safe(record.get("title"))[:90])  # fmt: skip
    console.print(table)


@cli.command()
@click.argument("ad_id")
@store_option
@click.option("--json", "as_json", is_flag=True)
@click.option("--evidence", is_flag=True, help="Include the raw HTML snapshots.")
def show(ad_id: str, store_url: str, as_json: bool, evidence: bool) -> None:
    """Show one ad: text, risk and reasons, contacts, sightings, decisions."""
    with open_store_or_fail(store_url) as store:
        try:
            record = store.get_ad(ad_id, with_evidence=evidence)
        except AdNotFound:
            fail(f"no ad with id {ad_id}", "`patroli search` lists ids")
            return
        history = store.review_history(ad_id)
    if as_json:
        sys.stdout.write(
            json.dumps({**record, "reviews": history}, ensure_ascii=False, default=str) + "\n"
        )
        return
    risk = record.get("risk")
    console.print(f"[b]{safe(record.get('title'))}[/]", highlight=False)
    console.print(f"{safe(record.get('url'))}  ({safe(record.get('source'))})", highlight=False)
    console.print(f"risk {risk:.2f} {'[red]FLAGGED[/]' if record.get('flagged') else ''}  model {safe(record.get('model_version'))}"
                  if risk is not None else "risk: not scored", highlight=False)  # fmt: skip
    for reason in record.get("reasons") or []:
        console.print(f"  • {safe(reason)}", highlight=False)
    console.print(f"\n{safe(record.get('text'))}\n", highlight=False)
    for label, key in (("phones", "phones"), ("WhatsApp", "whatsapp"), ("Telegram", "telegram"), ("e-mail", "emails"),
                       ("countries", "countries"), ("bank accounts", "bank_accounts"),
                       ("agencies named", "agency_names"), ("licences claimed", "licence_numbers")):  # fmt: skip
        if record.get(key):
            console.print(f"{label}: {safe(', '.join(record[key]))}", highlight=False)
    console.print(f"posted {record.get('posted_at') or '-'} · first seen {record.get('first_seen')} · "
                  f"last seen {record.get('last_seen')}" + (f" · gone {record['gone_at']}" if record.get("gone_at") else ""),
                  highlight=False)  # fmt: skip
    for label, key in (("cluster", "cluster_id"), ("network", "network_id"), ("agency", "agency_id"),
                       ("province", "province")):  # fmt: skip
        if record.get(key):
            console.print(f"{label}: {safe(record[key])}", highlight=False)
    console.print(
        f"status: {record.get('status')} (version {record.get('version')})", highlight=False
    )
    for review in history:
        console.print(f"  {review['at']} {safe(review['reviewer'])}: {review['previous_status']} → {review['decision']}"
                      + (f" — {safe(review['note'])}" if review.get("note") else ""), highlight=False)  # fmt: skip


@cli.command()
@click.argument("ad_id")
@click.option("--decision", required=True, type=click.Choice(DECISIONS))
@click.option("--note", default="", help="Why (kept in the review history).")
@click.option("--reviewer", default=lambda: getpass.getuser(), show_default="current user")
@click.option(
    "--expect-version", type=int, help="Fail if someone else reviewed the ad since this version."
)
@store_option
def review(
    ad_id: str, decision: str, note: str, reviewer: str, expect_version: int | None, store_url: str
) -> None:
    """Record an analyst's decision on an ad (confirmed illegal, dismissed, escalated)."""
    store: ReviewStore = open_store_or_fail(store_url)
    with store:
        try:
            record = store.review(
                ad_id, decision, reviewer=reviewer, note=note, expected_version=expect_version
            )
        except AdNotFound:
            fail(f"no ad with id {ad_id}", "`patroli search` lists ids")
            return
        except ReviewConflict as exc:
            fail(str(exc), f"`patroli show {ad_id}` shows the current decision")
            return
    console.print(
        f"{ad_id}: {record['status']} by {safe(reviewer)} (version {record['version']})",
        highlight=False,
    )


@cli.group()
def searches() -> None:
    """Saved searches: new ads that match one, after each patrol, are alerted to its channel."""


@searches.command("add")
@click.argument("name")
@click.argument("query")
@click.option("--owner", default=lambda: getpass.getuser(), show_default="current user")
@click.option(
    "--channel", required=True, help="Alert channel (a name in the alerts configuration)."
)
@store_option
def searches_add(name: str, query: str, owner: str, channel: str, store_url: str) -> None:
    """Save QUERY as NAME; matching new ads are sent to CHANNEL after each run."""
    from patroli.storage.query import parse_query

    try:
        parse_query(query)
    except QuerySyntaxError as exc:
        fail(str(exc), "see `patroli search --help` for the query syntax")
    store: SavedSearchStore = open_store_or_fail(store_url)
    with store:
        saved = store.save_search(owner, name, query, channel)
    console.print(f"saved search {saved['id']}: {safe(name)} → {safe(channel)}", highlight=False)


@searches.command("list")
@store_option
def searches_list(store_url: str) -> None:
    """List saved searches."""
    store: SavedSearchStore = open_store_or_fail(store_url)
    with store:
        saved = store.list_saved_searches()
    table = Table()
    for column in ("id", "owner", "name", "query", "channel"):
        table.add_column(column)
    for row in saved:
        table.add_row(
            row["id"],
            safe(row["owner"]),
            safe(row["name"]),
            safe(row["query"]),
            safe(row["channel"]),
        )
    console.print(table)


@searches.command("remove")
@click.argument("search_id")
@store_option
def searches_remove(search_id: str, store_url: str) -> None:
    """Delete a saved search."""
    store: SavedSearchStore = open_store_or_fail(store_url)
    with store:
        store.delete_saved_search(search_id)
    console.print(f"removed {search_id}", highlight=False)
