"""What ``patroli evidence prune`` may delete, and the log of what it did.

WARC files and capture screenshots older than ``PATROLI_EVIDENCE_RETENTION_DAYS`` go, except any
file that holds a version of an ad held for investigation or in a case, as an ad, through a
cluster or network the case holds, or as an ad carrying a contact or account the case holds (practice.md: takedowns are sometimes delayed for an
investigation, and archives must outlive them). A file is kept or deleted whole. Every deletion is appended to ``pruned.jsonl`` in the evidence directory,
so that ``patroli evidence verify`` can tell a pruned file from a lost one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from patroli.evidence.writer import INDEX_SUFFIX, warc_dir

PRUNE_LOG = "pruned.jsonl"


@dataclass(slots=True)
class PruneReport:
    deleted: list[str] = field(default_factory=list)
    kept_held: list[str] = field(default_factory=list)
    freed_bytes: int = 0


def pruned_files(evidence_dir: Path) -> set[str]:
    log = evidence_dir / PRUNE_LOG
    if not log.exists():
        return set()
    found = set()
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            found.add(json.loads(line)["file"])
        except (ValueError, KeyError):
            continue
    return found


def prune(
    evidence_dir: Path,
    days: int,
    held_files: Iterable[str],
    *,
    dry_run: bool = False,
    now: float | None = None,
) -> PruneReport:
    """Delete evidence files last written more than ``days`` ago, except ``held_files`` (paths
    relative to the evidence directory). ``days`` 0 deletes nothing."""
    report = PruneReport()
    if days <= 0:
        return report
    cutoff = (now if now is not None else time.time()) - days * 86400
    held = set(held_files)
    candidates = [
        *warc_dir(evidence_dir).rglob("*.warc.gz"),
        *(evidence_dir / "captures").rglob("*.png"),
    ]
    for path in sorted(candidates):
        relative = path.relative_to(evidence_dir).as_posix()
        if path.stat().st_mtime >= cutoff:
            continue
        if relative in held:
            report.kept_held.append(relative)
            continue
        report.freed_bytes += path.stat().st_size
        report.deleted.append(relative)
        if dry_run:
            continue
        path.unlink()
        index = path.with_name(path.name + INDEX_SUFFIX)
        if index.exists():
            index.unlink()
        with (evidence_dir / PRUNE_LOG).open("a", encoding="utf-8") as log:
            log.write(
                json.dumps({"file": relative, "at": datetime.now(UTC).isoformat(), "days": days})
                + "\n"
            )
    return report
