"""Investigation commands beyond search: ``patroli related`` (same recruiter, similar text)."""

from __future__ import annotations

import json
import sys

import click
from rich.table import Table

from patroli.cli.ads import safe
from patroli.cli.main import cli, console, fail, open_store_or_fail, store_option
from patroli.storage import AdNotFound, AdStore


@cli.command()
@click.argument("ad_id")
@store_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True, help='Print [{"id", "via", ...}] as JSON.')
def related(ad_id: str, store_url: str, limit: int, as_json: bool) -> None:
    """Ads related to AD_ID: those sharing a phone, WhatsApp number, Telegram handle or e-mail
    (VIA names what they share), then ads showing the same flyer (VIA = flyer, anywhere: resized,
    recompressed, cropped, re-watermarked or mirrored copies), then ads with similar text
    (VIA = text)."""
    store: AdStore = open_store_or_fail(store_url)
    with store:
        try:
            found = store.related(ad_id, limit=limit)
        except AdNotFound:
            fail(f"no ad with id {ad_id}", "`patroli search` lists ids")
            return
    rows = [
        {
            "id": r["ad_id"],
            "via": r["via"],
            "risk": r.get("risk"),
            "status": r.get("status"),
            "source": r.get("source"),
            "title": r.get("title"),
            **({"flyer_distance": r["flyer_distance"]} if "flyer_distance" in r else {}),
        }
        for r in found
    ]
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"{len(rows)} related ad(s)", title_justify="left")
    for column in ("id", "via", "risk", "status", "source", "title"):
        table.add_column(column, overflow="fold")
    for row in rows:
        risk = row["risk"]
        table.add_row(
            row["id"],
            safe(", ".join(row["via"])),
            f"{risk:.2f}" if risk is not None else "-",
            safe(row["status"]),
            safe(row["source"]),
            safe(row["title"])[:80],
        )
    console.print(table)
