"""Case commands: ``patroli case create|list|show|add|remove|note|route|set|export|verify`` and the
takedown workflow ``patroli takedown export|list|status|recheck|report``."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table

from patroli.cases.bundle import export_case
from patroli.cases.items import resolve
from patroli.cases.takedown import clock, export_requests, monthly_counts, recheck
from patroli.cases.verify import verify_bundle
from patroli.cli.ads import safe
from patroli.cli.evidence import evidence_dir_option
from patroli.cli.main import (
    EXIT_FAILED,
    cli,
    console,
    fail,
    open_store_or_fail,
    setting_option,
    store_option,
)
from patroli.config.table import (
    PATROLI_CHROMIUM,
    PATROLI_RECHECK_TIMEOUT,
    PATROLI_TAKEDOWN_AGENCY,
    PATROLI_USER_AGENT,
)
from patroli.evidence.render import RendererUnavailable
from patroli.storage import CaseStore, NotFound, Store
from patroli.storage.schema import CASE_ITEM_KINDS, CASE_STATUSES, ROUTING_KINDS, TAKEDOWN_STATUSES

actor_option = click.option(
    "--by", "actor", default="cli", show_default=True, help="Who does it (audited)."
)


def _case_store(store_url: str) -> Store:
    return open_store_or_fail(store_url)


@cli.group()
def case() -> None:
    """Cases: ads, identifiers, clusters and networks gathered for a referral."""


@case.command("create")
@click.argument("title")
@click.option("--description", default="")
@click.option("--assignee", default="")
@click.option("--province", default="", help="One of Indonesia's 38 provinces.")
@actor_option
@store_option
def create(
    title: str, description: str, assignee: str, province: str, actor: str, store_url: str
) -> None:
    """Open a case; prints its id."""
    store: CaseStore = _case_store(store_url)
    with store:
        try:
            made = store.create_case(
                {
                    "title": title,
                    "description": description,
                    "assignee": assignee,
                    "province": province,
                },
                actor=actor,
            )
        except ValueError as exc:
            fail(str(exc))
            return
    sys.stdout.write(made["id"] + "\n")


@case.command("list")
@click.option("--status", type=click.Choice(CASE_STATUSES), default=None)
@click.option("--json", "as_json", is_flag=True)
@store_option
def list_cases(status: str | None, as_json: bool, store_url: str) -> None:
    """Cases, most recently changed first."""
    store: CaseStore = _case_store(store_url)
    with store:
        cases = store.list_cases(status=status or "")
    if as_json:
        sys.stdout.write(json.dumps(cases, ensure_ascii=False, default=str) + "\n")
        return
    table = Table(title=f"{len(cases)} case(s)", title_justify="left")
    for column in ("id", "status", "assignee", "province", "updated", "title"):
        table.add_column(column, overflow="fold")
    for c in cases:
        table.add_row(
            c["id"],
            c["status"],
            safe(c["assignee"]),
            safe(c["province"]),
            str(c["updated_at"])[:16],
            safe(c["title"]),
        )
    console.print(table)


@case.command("show")
@click.argument("case_id")
@store_option
def show(case_id: str, store_url: str) -> None:
    """One case with its items, notes and routing, and the ads its items stand for now (``ads``:
    ad id -> the items that brought it; ``unresolved``: items that stand for no ad now), as JSON."""
    store = _case_store(store_url)
    with store:
        try:
            found = store.get_case(case_id)
        except NotFound as exc:
            fail(str(exc), "`patroli case list` lists ids")
            return
        resolution = resolve(store, found["items"])
    found["ads"] = {ad_id: resolution.via[ad_id] for ad_id in resolution.ad_ids}
    found["unresolved"] = [{"item": item, "why": why} for item, why in resolution.unresolved]
    sys.stdout.write(json.dumps(found, ensure_ascii=False, indent=1, default=str) + "\n")


@case.command("add")
@click.argument("case_id")
@click.argument("kind", type=click.Choice(CASE_ITEM_KINDS))
@click.argument("values", nargs=-1, required=True)
@click.option("--note", default="")
@actor_option
@store_option
def add(
    case_id: str, kind: str, values: tuple[str, ...], note: str, actor: str, store_url: str
) -> None:
    """Add items: `add CASE ad AD_ID...`, `add CASE identifier phone:0812-5551-2345`,
    `add CASE network NETWORK_ID`."""
    store: CaseStore = _case_store(store_url)
    with store:
        for value in values:
            try:
                item = store.add_case_item(case_id, kind, value, actor=actor, note=note)
            except (ValueError, NotFound) as exc:
                fail(str(exc))
                return
            console.print(f"{item['kind']} {safe(item['value'])} ({item['id']})", highlight=False)


@case.command("remove")
@click.argument("case_id")
@click.argument("item_id")
@actor_option
@store_option
def remove(case_id: str, item_id: str, actor: str, store_url: str) -> None:
    """Remove an item (its id is in `patroli case show`)."""
    store: CaseStore = _case_store(store_url)
    with store:
        try:
            store.remove_case_item(case_id, item_id, actor=actor)
        except NotFound as exc:
            fail(str(exc))


@case.command("note")
@click.argument("case_id")
@click.argument("text")
@actor_option
@store_option
def note(case_id: str, text: str, actor: str, store_url: str) -> None:
    """Add a note to a case."""
    store: CaseStore = _case_store(store_url)
    with store:
        try:
            store.add_case_note(case_id, text, actor=actor)
        except (ValueError, NotFound) as exc:
            fail(str(exc))


@case.command("set")
@click.argument("case_id")
@click.option("--title")
@click.option("--description")
@click.option("--status", type=click.Choice(CASE_STATUSES))
@click.option("--assignee")
@click.option("--province")
@actor_option
@store_option
def set_fields(case_id: str, actor: str, store_url: str, **fields: str | None) -> None:
    """Change a case's title, description, status, assignee or province."""
    changes = {k: v for k, v in fields.items() if v is not None}
    store: CaseStore = _case_store(store_url)
    with store:
        try:
            store.update_case(case_id, changes, actor=actor)
        except (ValueError, NotFound) as exc:
            fail(str(exc))


@case.command("route")
@click.argument("case_id")
@click.argument("kind", type=click.Choice(ROUTING_KINDS))
@click.argument("to")
@click.option("--reference", default="", help="Letter or report number.")
@actor_option
@store_option
def route(case_id: str, kind: str, to: str, reference: str, actor: str, store_url: str) -> None:
    """Record where a case was sent: takedown (Komdigi), police (cyber/PPA unit), bp3mi."""
    store: CaseStore = _case_store(store_url)
    with store:
        try:
            current = store.get_case(case_id)
            entry = {
                "kind": kind,
                "to": to,
                "reference": reference,
                "by": actor,
                "at": datetime.now(UTC).isoformat(),
            }
            store.update_case(case_id, {"routing": [*current["routing"], entry]}, actor=actor)
        except (ValueError, NotFound) as exc:
            fail(str(exc))


@case.command("export")
@click.argument("case_id")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="A new folder, or a file ending in .zip.",
)
@evidence_dir_option
@actor_option
@store_option
def export(case_id: str, output: str, evidence_dir: str, actor: str, store_url: str) -> None:
    """Export a case bundle: WARC records, ads and decisions, audit trail, rendered pages, capture
    records, the report (HTML and PDF), SHA256SUMS and a README."""
    store: Store = _case_store(store_url)
    with store:
        try:
            result = export_case(
                store,
                case_id,
                Path(output),
                evidence_dir=Path(evidence_dir),
                chromium=PATROLI_CHROMIUM.from_env(),
                actor=actor,
            )
        except NotFound as exc:
            fail(str(exc), "`patroli case list` lists ids")
            return
        except FileExistsError as exc:
            fail(str(exc))
            return
    console.print(
        f"{result.path}: {result.ads} ad(s), {result.files} file(s); SHA-256 of SHA256SUMS "
        f"{result.sums_sha256}",
        highlight=False,
    )
    for problem in result.problems:
        console.print(f"note: {safe(problem)}", highlight=False)


@case.command("verify")
@click.argument("bundle", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True)
def verify(bundle: str, as_json: bool) -> None:
    """Check a case bundle offline: every file's SHA-256, nothing added, every WARC record's
    digests. Names each file that fails and exits 4."""
    try:
        result = verify_bundle(Path(bundle))
    except (ValueError, OSError) as exc:
        fail(str(exc), code=EXIT_FAILED)
        return
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "ok": result.ok,
                    "files": result.files,
                    "warc_records": result.warc_records,
                    "failed": result.failed,
                }
            )
            + "\n"
        )
    else:
        console.print(
            f"{result.files} file(s), {result.warc_records} WARC record(s) checked", highlight=False
        )
        for name, problems in result.failed.items():
            for problem in problems:
                console.print(f"FAILED {safe(name)}: {safe(problem)}", highlight=False)
        if result.ok:
            console.print("the bundle is intact")
    if not result.ok:
        sys.exit(EXIT_FAILED)


# --- takedowns -----------------------------------------------------------------------------------


@cli.group()
def takedown() -> None:
    """Takedown requests to the communications ministry (SAMAN batches, aduankonten reports)."""


@takedown.command("export")
@click.argument("channel", type=click.Choice(["saman", "aduankonten"]))
@click.argument("ad_ids", nargs=-1)
@click.option("--case", "case_id", default="", help="Take the confirmed ads of this case.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False))
@click.option(
    "--letter", "letter_number", default="", help="The requesting agency's letter number (SAMAN)."
)
@setting_option("--agency", setting=PATROLI_TAKEDOWN_AGENCY, help="The requesting agency.")
@click.option(
    "--urgent", is_flag=True, help="Urgent: the platform's 4-hour clock instead of 24 hours."
)
@click.option(
    "--no-record", is_flag=True, help="Write the files without tracking them as submitted."
)
@evidence_dir_option
@actor_option
@store_option
def export_takedown(
    channel: str,
    ad_ids: tuple[str, ...],
    case_id: str,
    output: str,
    letter_number: str,
    agency: str,
    urgent: bool,
    no_record: bool,
    evidence_dir: str,
    actor: str,
    store_url: str,
) -> None:
    """Write a SAMAN batch or aduankonten reports from confirmed ads (by id, or a case's), and
    track each as submitted."""
    store: Store = _case_store(store_url)
    with store:
        ids = list(ad_ids)
        if case_id:
            from patroli.cases.items import resolve

            try:
                ids += resolve(store, store.get_case(case_id)["items"]).ad_ids
            except NotFound as exc:
                fail(str(exc))
                return
        if not ids:
            fail("name ads or a --case", "`patroli search status:confirmed` lists confirmed ads")
        try:
            batch = export_requests(
                store,
                ids,
                channel,
                Path(output),
                evidence_dir=Path(evidence_dir),
                chromium=PATROLI_CHROMIUM.from_env(),
                actor=actor,
                agency=agency,
                letter_number=letter_number,
                case_id=case_id,
                urgent=urgent,
                record=not no_record,
            )
        except (ValueError, FileExistsError, RendererUnavailable) as exc:
            fail(str(exc))
            return
    console.print(f"{output}: {len(batch.items)} item(s) ({batch.batch_id})", highlight=False)
    for refused in batch.refused:
        console.print(f"left out {safe(refused)}", highlight=False)


@takedown.command("list")
@click.option("--status", type=click.Choice(TAKEDOWN_STATUSES), default=None)
@click.option("--json", "as_json", is_flag=True)
@store_option
def list_takedowns(status: str | None, as_json: bool, store_url: str) -> None:
    """Takedown requests with their clocks (4 h urgent / 24 h)."""
    store: CaseStore = _case_store(store_url)
    with store:
        requests = [{**r, "clock": clock(r)} for r in store.list_takedowns(status=status or "")]
    if as_json:
        sys.stdout.write(json.dumps(requests, ensure_ascii=False, default=str) + "\n")
        return
    table = Table(title=f"{len(requests)} request(s)", title_justify="left")
    for column in ("id", "channel", "platform", "status", "hours", "due", "url"):
        table.add_column(column, overflow="fold")
    for r in requests:
        overdue = " overdue" if r["clock"]["overdue"] else ""
        table.add_row(
            r["id"],
            r["channel"],
            safe(r["platform"]),
            r["status"] + overdue,
            str(r["clock"]["hours"]),
            r["clock"]["due_at_wib"],
            safe(r["url"]),
        )
    console.print(table)


@takedown.command("status")
@click.argument("request_id")
@click.argument("status", type=click.Choice(TAKEDOWN_STATUSES))
@click.option("--reason", default="", help='The platform\'s answer, e.g. "tautan tidak valid".')
@actor_option
@store_option
def set_status(request_id: str, status: str, reason: str, actor: str, store_url: str) -> None:
    """Record the answer to a request (removed, refused with a reason, live)."""
    store: CaseStore = _case_store(store_url)
    with store:
        try:
            store.update_takedown(request_id, {"status": status, "reason": reason}, actor=actor)
        except (ValueError, NotFound) as exc:
            fail(str(exc))


@takedown.command("recheck")
@setting_option("--timeout", setting=PATROLI_RECHECK_TIMEOUT, type=float, help="Seconds per URL.")
@click.option("--json", "as_json", is_flag=True)
@store_option
def recheck_command(timeout: float, as_json: bool, store_url: str) -> None:
    """Ask each open request's URL again: 404/410 moves it to removed, 2xx to still live."""
    store: CaseStore = _case_store(store_url)
    with store:
        checked = recheck(store, timeout=timeout, user_agent=PATROLI_USER_AGENT.from_env())
    if as_json:
        sys.stdout.write(json.dumps(checked, ensure_ascii=False, default=str) + "\n")
        return
    for r in checked:
        last = r["checks"][-1] if r["checks"] else {}
        console.print(
            f"{r['id']} {safe(r['url'])}: {last.get('http_status')} → {r['status']}"
            + (" (overdue)" if r["clock"]["overdue"] else ""),
            highlight=False,
        )


@takedown.command("report")
@click.option(
    "--month",
    default=lambda: datetime.now(UTC).strftime("%Y-%m"),
    help="YYYY-MM (default: this month).",
)
@click.option("--json", "as_json", is_flag=True)
@store_option
def report(month: str, as_json: bool, store_url: str) -> None:
    """Per platform: ads found (flagged), requests submitted, removed — for one month."""
    store: Store = _case_store(store_url)
    with store:
        try:
            counts = monthly_counts(store, month)
        except ValueError:
            fail(f"--month {month}: write YYYY-MM")
            return
    if as_json:
        sys.stdout.write(json.dumps({"month": month, "platforms": counts}) + "\n")
        return
    table = Table(title=f"Takedown {month}", title_justify="left")
    for column in ("platform", "found", "submitted", "removed"):
        table.add_column(column)
    for platform, row in counts.items():
        table.add_row(safe(platform), str(row["found"]), str(row["submitted"]), str(row["removed"]))
    console.print(table)
