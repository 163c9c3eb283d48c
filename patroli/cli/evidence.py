"""Evidence commands: ``patroli evidence verify|capture|prune`` and ``patroli hold``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from patroli.cli.main import (
    EXIT_FAILED,
    cli,
    console,
    fail,
    open_store_or_fail,
    safe,
    setting_option,
    store_option,
)
from patroli.config.table import (
    PATROLI_CHROMIUM,
    PATROLI_EVIDENCE_DIR,
    PATROLI_EVIDENCE_RETENTION_DAYS,
)
from patroli.evidence.archive import EvidenceError, check_file, read_record, warc_files
from patroli.evidence.capture import capture_pending
from patroli.evidence.retention import prune, pruned_files
from patroli.storage import AdNotFound, AdStore, EvidenceStore, Store

F = TypeVar("F", bound=Callable[..., Any])


def evidence_dir_option(func: F) -> F:
    return setting_option(
        "--evidence-dir",
        setting=PATROLI_EVIDENCE_DIR,
        type=click.Path(file_okay=False),
        help="The evidence directory (WARC files, captures).",
    )(func)


@cli.group()
def evidence() -> None:
    """The archive of pages as sent (WARC) and the capture records."""


@evidence.command("verify")
@evidence_dir_option
@click.option(
    "--ad",
    "ad_ids",
    multiple=True,
    help="Also check that this ad's versions point at records that match (repeatable).",
)
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def verify_evidence(
    evidence_dir: str, ad_ids: tuple[str, ...], store_url: str, as_json: bool
) -> None:
    """Re-read every WARC record and check its SHA-256 digests; name each file and record that
    fails. Exits 4 when anything fails."""
    base = Path(evidence_dir)
    files = warc_files(base)
    problems: list[str] = []
    records = 0
    for path in files:
        check = check_file(path, path.relative_to(base).as_posix())
        records += check.records
        problems += check.problems
    if ad_ids:
        gone = pruned_files(base)
        store: AdStore = open_store_or_fail(store_url)
        with store:
            for ad_id in ad_ids:
                try:
                    ad = store.get_ad(ad_id, with_evidence=True)
                except AdNotFound:
                    problems.append(f"ad {ad_id}: not in the store")
                    continue
                for version in ad.get("evidence") or []:
                    problems += _check_pointer(base, ad_id, version, gone)
    if as_json:
        sys.stdout.write(
            json.dumps({"files": len(files), "records": records, "problems": problems}) + "\n"
        )
    else:
        console.print(f"{len(files)} WARC file(s), {records} record(s) checked", highlight=False)
        for problem in problems:
            console.print(f"FAILED {safe(problem)}", highlight=False)
        if not problems:
            console.print("all digests match")
    if problems:
        sys.exit(EXIT_FAILED)


def _check_pointer(base: Path, ad_id: str, version: dict[str, Any], gone: set[str]) -> list[str]:
    file = version.get("warc_file")
    if not file:
        return []
    if file in gone:
        return [f"ad {ad_id}: {file} was deleted by retention (pruned.jsonl)"]
    try:
        record = read_record(base, file, int(version.get("warc_offset") or 0))
    except EvidenceError as exc:
        return [f"ad {ad_id}: {exc}"]
    found = []
    if record.record_id != version.get("warc_record_id"):
        found.append(f"ad {ad_id}: {file} @{version.get('warc_offset')} holds another record")
    if record.claimed_digest != version.get("warc_digest") or not record.digest_ok:
        found.append(
            f"ad {ad_id}: {file} @{version.get('warc_offset')} payload digest does not match"
        )
    return found


@evidence.command("capture")
@store_option
@evidence_dir_option
@click.option("--limit", default=500, show_default=True, type=click.IntRange(1, 100_000))
def capture(store_url: str, evidence_dir: str, limit: int) -> None:
    """Make the capture records flagged ads still lack (rendered offline from their WARC records)."""
    store: Store = open_store_or_fail(store_url)
    with store:
        report = capture_pending(
            store,
            Path(evidence_dir),
            PATROLI_CHROMIUM.from_env(),
            limit=limit,
            capturer="patroli evidence capture",
        )
    if report.unavailable:
        fail(
            report.unavailable,
            "install chromium (apt-get install chromium) or set PATROLI_CHROMIUM",
            EXIT_FAILED,
        )
    console.print(
        f"{report.captured} capture record(s) made, {report.failed} failed, "
        f"{report.pages_rendered} page(s) rendered in {report.seconds:.1f} s",
        highlight=False,
    )
    for problem in report.problems[:20]:
        console.print(safe(problem), highlight=False)


@evidence.command("prune")
@store_option
@evidence_dir_option
@setting_option(
    "--days",
    setting=PATROLI_EVIDENCE_RETENTION_DAYS,
    type=click.IntRange(0),
    help="Delete evidence files older than this many days (0: keep everything).",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
def prune_evidence(store_url: str, evidence_dir: str, days: int, dry_run: bool) -> None:
    """Apply the retention period; files of held ads and of ads in a case are kept."""
    store: Store = open_store_or_fail(store_url)
    with store:
        held = store.held_evidence()
        files = {h["warc_file"] for h in held}
        for ad_id in {h["ad_id"] for h in held}:
            captured = (store.get_ad(ad_id).get("capture") or {}).get("file")
            if captured:
                files.add(captured)
    report = prune(Path(evidence_dir), days, files, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    console.print(
        f"{verb} {len(report.deleted)} file(s) ({report.freed_bytes} bytes); kept "
        f"{len(report.kept_held)} old file(s) of held ads",
        highlight=False,
    )
    for name in report.deleted[:50]:
        console.print(f"  {name}", highlight=False)


@cli.command()
@click.argument("ad_id")
@click.option("--release", is_flag=True, help="Release the hold instead.")
@click.option("--reason", default="", help="Why (kept in the audit log).")
@click.option("--by", "actor", default="cli", show_default=True, help="Who holds it.")
@store_option
def hold(ad_id: str, release: bool, reason: str, actor: str, store_url: str) -> None:
    """Hold an ad for investigation: its evidence outlives the retention period."""
    store: EvidenceStore = open_store_or_fail(store_url)
    with store:
        try:
            ad = store.set_hold(ad_id, not release, actor=actor, reason=reason)
        except AdNotFound:
            fail(f"no ad with id {ad_id}", "`patroli search` lists ids")
            return
    console.print(f"{ad_id}: {'held' if ad.get('hold') else 'not held'}", highlight=False)
