"""Investigation commands over the store: ``search``, ``show``, ``review``."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from patroli.cli.main import cli, console, fail, open_store_or_fail, safe, store_option, styled
from patroli.storage import AdNotFound, AdStore, ReviewConflict, ReviewStore, SavedSearchStore
from patroli.storage.query import QuerySyntaxError
from patroli.storage.schema import DECISIONS

HIT_FIELDS = (
    "id",
    "url",
    "title",
    "risk",
    "flagged",
    "status",
    "source",
    "posted_at",
    "first_seen",
    "last_seen",
    "countries",
    "phones",
    "telegram",
    "reasons",
    "highlight",
)


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
@click.option("--offset", default=0, type=click.IntRange(0, 1_000_000))
@click.option(
    "--sort",
    type=click.Choice(["relevance", "risk", "date", "uncertainty"]),
    default="relevance",
    show_default=True,
)
@click.option(
    "--image",
    "image_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Find the ads showing this image (the same flyer: resized, recompressed, cropped a "
    "little, re-watermarked or mirrored copies too) instead of searching QUERY.",
)
def search(
    query: str,
    store_url: str,
    as_json: bool,
    limit: int,
    offset: int,
    sort: str,
    image_file: Path | None,
) -> None:
    """Search ads. QUERY takes words, "phrases" and filters:

    \b
    phone:0812-5551-2345  handle:@name  email:x@y  country:KH  source:NAME  kind:feed
    status:new|confirmed|dismissed|escalated  flagged:true  risk>=0.8  posted>=2026-11-01
    seen>=DATE  first>=DATE  ocr:word (text read in images)  -word (exclude)
    """
    if image_file is not None:
        if query:
            fail("give QUERY or --image, not both", "`patroli search --image FILE` finds one flyer")
        _search_image(image_file, store_url, as_json, limit)
        return
    store: AdStore = open_store_or_fail(store_url)
    with store:
        try:
            result = store.search(query, limit=limit, offset=offset, sort=sort)  # type: ignore[arg-type]
        except (QuerySyntaxError, ValueError) as exc:
            fail(str(exc), "see `patroli search --help` for the query syntax")
            return
    if as_json:
        sys.stdout.write(
            json.dumps(
                {"total": result.total, "hits": [hit_json(r) for r in result.hits]},
                ensure_ascii=False,
                default=str,
            )
            + "\n"
        )
        return
    table = Table(title=f"{result.total} ad(s)", title_justify="left", show_lines=False)
    for column in ("id", "risk", "status", "source", "title"):
        table.add_column(column, overflow="fold")
    for record in result.hits:
        risk = record.get("risk")
        colour = "red" if record.get("flagged") else "white"
        table.add_row(
            safe(record["ad_id"]),
            styled(colour, f"{risk:.2f}") if risk is not None else "-",
            record.get("status") or "",
            safe(record.get("source")),
            safe(record.get("title"))[:90],
        )
    console.print(table)


def _search_image(image_file: Path, store_url: str, as_json: bool, limit: int) -> None:
    from patroli.config.table import PATROLI_IMAGES_MAX_BYTES, PATROLI_IMAGES_MAX_PIXELS
    from patroli.images.decode import ImageRefused
    from patroli.images.inspect import probe_image

    max_bytes = PATROLI_IMAGES_MAX_BYTES.from_env()
    if image_file.stat().st_size > max_bytes:
        fail(f"{image_file}: larger than {max_bytes} bytes (PATROLI_IMAGES_MAX_BYTES)")
    try:
        probe = probe_image(
            image_file.read_bytes(),
            max_bytes=max_bytes,
            max_pixels=PATROLI_IMAGES_MAX_PIXELS.from_env(),
        )
    except ImageRefused as exc:
        hints = {
            "low_information": "a blank, tiny or one-colour image matches nothing",
            "svg": "only JPEG, PNG, WebP and GIF images are read",
        }
        fail(f"{image_file}: cannot look this image up ({exc})", hints.get(exc.reason, ""))
        return
    store: AdStore = open_store_or_fail(store_url)
    with store:
        found = store.same_flyer([probe], limit=limit)
    if as_json:
        hits = [{**hit_json(r), "flyer_distance": r["flyer_distance"]} for r in found]
        sys.stdout.write(
            json.dumps({"total": len(found), "hits": hits}, ensure_ascii=False, default=str) + "\n"
        )
        return
    table = Table(title=f"{len(found)} ad(s) with this flyer", title_justify="left")
    for column in ("id", "distance", "risk", "status", "source", "title"):
        table.add_column(column, overflow="fold")
    for record in found:
        risk = record.get("risk")
        table.add_row(
            record["ad_id"],
            "/".join(map(str, record["flyer_distance"])),
            f"{risk:.2f}" if risk is not None else "-",
            record.get("status") or "",
            safe(record.get("source")),
            safe(record.get("title"))[:80],
        )
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
    console.print(styled("bold", safe(record.get("title"))))
    console.print(f"{safe(record.get('url'))}  ({safe(record.get('source'))})", highlight=False)
    console.print(
        Text.assemble(
            f"risk {risk:.2f} ",
            styled("red", "FLAGGED") if record.get("flagged") else "",
            f"  model {safe(record.get('model_version'))}",
        )
        if risk is not None
        else "risk: not scored"
    )
    for reason in record.get("reasons") or []:
        console.print(f"  • {safe(reason)}", highlight=False)
    console.print(f"\n{safe(record.get('text'))}\n", highlight=False)
    if record.get("image_text"):
        console.print(f"text in images:\n{safe(record['image_text'])}\n", highlight=False)
    for image in record.get("images") or []:
        state = (
            f"refused: {image['refused']}"
            if image.get("refused")
            else (
                f"{image.get('width')}x{image.get('height')} sha256 {str(image.get('sha256'))[:12]}"
                + (
                    ""
                    if image.get("linkable")
                    else f" (no flyer links: {image.get('low_information')})"
                )
            )
        )
        console.print(f"image {safe(image.get('url'))}: {safe(state)}", highlight=False)
    for label, key in (
        ("phones", "phones"),
        ("WhatsApp", "whatsapp"),
        ("Telegram", "telegram"),
        ("e-mail", "emails"),
        ("countries", "countries"),
        ("bank accounts", "bank_accounts"),
        ("agencies named", "agency_names"),
        ("licences claimed", "licence_numbers"),
    ):
        if record.get(key):
            console.print(f"{label}: {safe(', '.join(record[key]))}", highlight=False)
    console.print(
        f"posted {record.get('posted_at') or '-'} · first seen {record.get('first_seen')} · "
        f"last seen {record.get('last_seen')}"
        + (f" · gone {record['gone_at']}" if record.get("gone_at") else ""),
        highlight=False,
    )
    for label, key in (
        ("cluster", "cluster_id"),
        ("network", "network_id"),
        ("agency", "agency_id"),
        ("province", "province"),
    ):
        if record.get(key):
            console.print(f"{label}: {safe(record[key])}", highlight=False)
    console.print(
        f"status: {record.get('status')} (version {record.get('version')})", highlight=False
    )
    for review in history:
        console.print(
            f"  {review['at']} {safe(review['reviewer'])}: {review['previous_status']} → {review['decision']}"
            + (f" — {safe(review['note'])}" if review.get("note") else ""),
            highlight=False,
        )


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
        f"{safe(ad_id)}: {record['status']} by {safe(reviewer)} (version {record['version']})",
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
    store: SavedSearchStore = open_store_or_fail(store_url, create=True)
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
            safe(row["id"]),
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
    console.print(f"removed {safe(search_id)}", highlight=False)
