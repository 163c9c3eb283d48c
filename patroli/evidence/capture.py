"""The capture record made when an ad is first flagged: a screenshot of its page as captured.

The page is rendered offline from its archived WARC record (``render``), never fetched again; the
screenshot is stored content-addressed under ``captures/YYYY/MM/<sha256>.png`` (several ads of
one Telegram page share one), with a JSON sidecar, and the record goes on the ad: capture time in
WIB and UTC, the screenshot's SHA-256, the tool and its version, the chromium that rendered it,
the WARC record it came from and which resources were served from the archive or refused.

This is a capture record, the good practice patrol teams follow before a referral: it is not a
forensic acquisition (that is the police laboratory's procedure; docs/evidence.md). It runs after
a patrol's crawls end, never during them (``run_after_patrol``), and ``patroli evidence capture``
catches up on ads left without one (a crawl started by Scrapyd, chromium missing at the time).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

from patroli.evidence.archive import EvidenceError, StoredRecord, read_record
from patroli.evidence.render import OfflineRenderer, RendererUnavailable
from patroli.storage import AdStore, EvidenceStore, Record

logger = logging.getLogger(__name__)

WIB = timezone(timedelta(hours=7), "WIB")
KIND = "capture record (not a forensic acquisition)"


class CaptureStore(AdStore, EvidenceStore, Protocol):
    """What capturing needs of a store: the ads and their evidence, the capture queue."""


@dataclass(slots=True)
class CaptureReport:
    captured: int = 0
    failed: int = 0
    pages_rendered: int = 0
    seconds: float = 0.0
    unavailable: str = ""
    problems: list[str] = field(default_factory=list)


def wib(moment: datetime) -> str:
    return moment.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S WIB")


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def latest_pointer(ad: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The newest kept version of the ad that points at a WARC record (else the newest one)."""
    versions = ad.get("evidence") or []
    archived = [v for v in versions if v.get("warc_file")]
    if archived:
        return archived[-1]
    return versions[-1] if versions else None


def _snapshot_record(ad: Mapping[str, Any], version_: Mapping[str, Any]) -> StoredRecord:
    """A stand-in record for an ad kept before WARC writing: its stored HTML snapshot."""
    html = str(version_.get("html") or "").encode("utf-8")
    return StoredRecord(
        file="",
        offset=0,
        rec_type="snapshot",
        record_id="",
        uri=str(version_.get("url") or ad.get("url") or "about:blank"),
        date="",
        status=200,
        headers=[("Content-Type", "text/html; charset=utf-8")],
        raw_payload=html,
        payload=html,
        claimed_digest="",
        digest_ok=True,
    )


def store_png(evidence_dir: Path, png: bytes, moment: datetime) -> tuple[str, str]:
    """(relative path, sha256) of the screenshot, written once per content."""
    digest = hashlib.sha256(png).hexdigest()
    relative = Path("captures") / f"{moment:%Y}" / f"{moment:%m}" / f"{digest}.png"
    path = evidence_dir / relative
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".png.part")
        temporary.write_bytes(png)
        temporary.replace(path)
    return str(relative), digest


def capture_record(
    ad: Mapping[str, Any],
    source: Mapping[str, Any],
    record: StoredRecord,
    file: str,
    digest: str,
    rendered: Any,
    renderer: str,
    moment: datetime,
    capturer: str,
) -> Record:
    return {
        "kind": KIND,
        "ad_id": ad["ad_id"],
        "captured_at": moment.astimezone(UTC).isoformat(),
        "captured_at_utc": utc(moment),
        "captured_at_wib": wib(moment),
        "file": file,
        "sha256": digest,
        "bytes": len(rendered.png),
        "tool": "patroli",
        "tool_version": version("patroli"),
        "renderer": renderer,
        "playwright": version("playwright"),
        "capturer": capturer,
        "page_url": record.uri,
        "page_archived_at": record.date or source.get("crawled_at"),
        "content_hash": source.get("content_hash"),
        "warc_file": source.get("warc_file"),
        "warc_offset": source.get("warc_offset"),
        "warc_record_id": source.get("warc_record_id"),
        "warc_digest": source.get("warc_digest"),
        "from": "WARC record"
        if source.get("warc_file")
        else "stored HTML snapshot (no WARC record)",
        "resources_served": len(rendered.served),
        "resources_refused": rendered.blocked,
    }


def source_record(
    evidence_dir: Path, ad: Mapping[str, Any], source: Mapping[str, Any]
) -> StoredRecord:
    """The archived response a version points at (its stored snapshot when it has none)."""
    if source.get("warc_file"):
        return read_record(evidence_dir, str(source["warc_file"]), int(source["warc_offset"]))
    return _snapshot_record(ad, source)


class Capturer:
    """Renders and records captures with one browser; pages shared by several ads render once."""

    def __init__(
        self, store: CaptureStore, evidence_dir: Path, renderer: OfflineRenderer, capturer: str
    ) -> None:
        self.store = store
        self.evidence_dir = evidence_dir
        self.renderer = renderer
        self.capturer = capturer
        self.shots: dict[str, tuple[str, str, Any, StoredRecord]] = {}
        self.pages_rendered = 0

    def capture(self, ad: Mapping[str, Any]) -> Record:
        """Capture ``ad`` (read with its evidence) and keep the record; return it."""
        source = latest_pointer(ad)
        if source is None:
            raise EvidenceError(f"ad {ad['ad_id']} has no kept page to capture")
        key = str(
            source.get("warc_record_id") or f"snapshot:{ad['ad_id']}:{source.get('content_hash')}"
        )
        moment = datetime.now(UTC)
        if key not in self.shots:
            record = source_record(self.evidence_dir, ad, source)
            rendered = self.renderer.screenshot(record, near=_when(source.get("crawled_at")))
            file, digest = store_png(self.evidence_dir, rendered.png, moment)
            self.shots[key] = (file, digest, rendered, record)
            self.pages_rendered += 1
        file, digest, rendered, record = self.shots[key]
        capture = capture_record(
            ad, source, record, file, digest, rendered, self.renderer.version, moment, self.capturer
        )
        sidecar = self.evidence_dir / Path(file).with_name(f"{ad['ad_id']}.capture.json")
        sidecar.write_text(json.dumps(capture, ensure_ascii=False, indent=1), "utf-8")
        self.store.record_capture(ad["ad_id"], capture)
        return capture


def capture_pending(
    store: CaptureStore,
    evidence_dir: Path,
    chromium: str,
    *,
    limit: int = 500,
    capturer: str = "patroli (after the patrol)",
    ad_ids: list[str] | None = None,
) -> CaptureReport:
    """Make the capture record of every flagged ad that has none (up to ``limit``), or of the
    ads ``ad_ids`` names that have none."""
    report = CaptureReport()
    started = time.monotonic()
    queue = [a["ad_id"] for a in store.ads_to_capture(limit=limit)] if ad_ids is None else ad_ids
    if not queue:
        return report
    try:
        with OfflineRenderer(chromium, evidence_dir) as renderer:
            capturer_ = Capturer(store, evidence_dir, renderer, capturer)
            for ad_id in queue:
                ad = store.get_ad(ad_id, with_evidence=True)
                if ad.get("captured_at"):
                    continue
                try:
                    capturer_.capture(ad)
                    report.captured += 1
                except (EvidenceError, OSError) as exc:
                    report.failed += 1
                    report.problems.append(f"{ad_id}: {exc}")
                    logger.error("capture of ad %s failed: %s", ad_id, exc)
                except Exception as exc:  # noqa: BLE001 - a page chromium chokes on; the rest go on
                    report.failed += 1
                    report.problems.append(f"{ad_id}: rendering failed ({type(exc).__name__})")
                    logger.error("capture of ad %s failed: %s", ad_id, exc)
            report.pages_rendered = capturer_.pages_rendered
    except RendererUnavailable as exc:
        report.unavailable = str(exc)
        logger.warning("no capture records this time: %s", exc)
    report.seconds = round(time.monotonic() - started, 2)
    return report


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
