"""``patroli case export``: a case as a bundle a third party can check without patroli.

The bundle is a folder (or a ZIP of it) of plain files: the WARC records of every page of the
case's ads (``warc/``), the ads and their decisions as JSON (``ads/``, ``decisions.json``), the
audit trail of the case and its ads (``audit.json``), each cluster and network of the case with
its ads and identifiers (``networks/``, ``clusters/``), each archived page rendered offline
(``pages/``), the capture records at first sight (``captures/``), the report in Indonesian
(``report/laporan.html`` and ``.pdf``), ``manifest.json`` and ``SHA256SUMS`` (the SHA-256 of every
other file, in the format ``sha256sum -c`` reads) and a README saying how to check them.
``patroli case verify`` (``cases.verify``) checks it all offline. The export is audited with the
SHA-256 of ``SHA256SUMS``, so the store can vouch for a bundle later.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

from patroli.cases.items import CaseSource, resolve
from patroli.cases.report import destinations, identifiers, render_report, timeline
from patroli.evidence.archive import EvidenceError, read_exchange, sha256_hex
from patroli.evidence.capture import source_record
from patroli.evidence.records import warcinfo_record
from patroli.evidence.render import OfflineRenderer
from patroli.storage import AccountStore, CaseStore, Record, ReviewStore

SUMS = "SHA256SUMS"
MANIFEST = "manifest.json"
README = "README.txt"
AD_FIELDS_LEFT_OUT = ("html",)  # the page itself is in the WARC records, as sent


class BundleStore(CaseSource, ReviewStore, AccountStore, CaseStore, Protocol):
    """What an export reads: the case, its ads, clusters and networks, their decisions, the audit
    trail."""


@dataclass(slots=True)
class ExportResult:
    path: Path
    ads: int
    files: int
    sums_sha256: str
    problems: list[str] = field(default_factory=list)


def _json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1, default=str) + "\n", "utf-8")


def _safe_name(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in value)[:80]


def _audit_for(store: AccountStore, targets: list[str]) -> list[Record]:
    entries: list[Record] = []
    for target in targets:
        offset = 0
        while True:
            page = store.audit_log(target=target, limit=500, offset=offset)
            entries += page
            if len(page) < 500:
                break
            offset += 500
    return sorted(entries, key=lambda e: (str(e.get("at")), str(e.get("id"))))


def export_case(
    store: BundleStore,
    case_id: str,
    output: Path,
    *,
    evidence_dir: Path,
    chromium: str,
    actor: str,
) -> ExportResult:
    """Write the bundle of ``case_id`` to ``output`` (a folder, or a ``.zip`` file)."""
    case = store.get_case(case_id)
    as_zip = output.suffix.lower() == ".zip"
    with tempfile.TemporaryDirectory(prefix="patroli-bundle-") as scratch:
        folder = Path(scratch) / "bundle" if as_zip else output
        if folder.exists() and any(folder.iterdir()):
            raise FileExistsError(f"{folder} exists and is not empty: choose a new folder")
        folder.mkdir(parents=True, exist_ok=True)
        result = _write_bundle(store, case, folder, evidence_dir, chromium, actor)
        if as_zip:
            output.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                    archive.write(path, path.relative_to(folder).as_posix())
        result.path = output
    store.append_audit(
        actor,
        "case.export",
        case_id,
        None,
        {"sha256sums": result.sums_sha256, "files": result.files, "ads": result.ads},
        output.name,
    )
    return result


def _write_bundle(
    store: BundleStore,
    case: Record,
    folder: Path,
    evidence_dir: Path,
    chromium: str,
    actor: str,
) -> ExportResult:
    exported_at = datetime.now(UTC)
    tool = f"patroli {version('patroli')}"
    resolution = resolve(store, case.get("items") or [])
    problems = [why for _item, why in resolution.unresolved]
    ads: list[Record] = []
    warc = folder / "warc" / f"kasus-{_safe_name(case['id'])}.warc.gz"
    warc.parent.mkdir(parents=True)
    copied: set[tuple[str, int]] = set()
    with warc.open("wb") as out:
        out.write(warcinfo_record(warc.name, f"{tool} (case bundle)"))
        for ad_id in resolution.ad_ids:
            ad = store.get_ad(ad_id, with_evidence=True)
            for version_ in ad.get("evidence") or []:
                key = (str(version_.get("warc_file") or ""), int(version_.get("warc_offset") or 0))
                if not key[0] or key in copied:
                    continue
                try:
                    out.write(read_exchange(evidence_dir, key[0], key[1]))
                    copied.add(key)
                except EvidenceError as exc:
                    problems.append(f"ad {ad_id}: WARC record missing ({exc})")
            ads.append(ad)
    pages = _render_pages(ads, folder, evidence_dir, chromium, problems)
    decisions: dict[str, list[Record]] = {}
    takedowns = store.list_takedowns(case_id=case["id"])
    for ad in ads:
        ad["decisions"] = store.review_history(ad["ad_id"])
        decisions[ad["ad_id"]] = ad["decisions"]
        ad["via"] = resolution.via.get(ad["ad_id"], [])
        ad["takedowns"] = [
            t for t in takedowns if t["ad_id"] == ad["ad_id"]
        ] or store.list_takedowns(ad_id=ad["ad_id"])
        ad["evidence"] = [
            {k: v for k, v in e.items() if k not in AD_FIELDS_LEFT_OUT}
            for e in ad.get("evidence") or []
        ]
        ad["page_image"] = pages.get(ad["ad_id"], "")
        ad["capture_image"] = _copy_capture(ad, folder, evidence_dir, problems)
        _json(folder / "ads" / f"{_safe_name(ad['ad_id'])}.json", ad)
    _json(
        folder / "case.json",
        {
            **case,
            "resolved_ads": resolution.ad_ids,
            "unresolved": [{"item": i, "why": w} for i, w in resolution.unresolved],
        },
    )
    _json(folder / "decisions.json", decisions)
    for group_key, group in resolution.groups.items():
        kind, _, group_id = group_key.partition(":")
        _json(folder / f"{kind}s" / f"{_safe_name(group_id)}.json", group)
    audit = _audit_for(store, [case["id"], *resolution.ad_ids])
    _json(folder / "audit.json", audit)
    context = {
        "case": case,
        "ads": ads,
        "events": timeline(case, ads, audit),
        "identifiers": identifiers(ads),
        "countries": destinations(ads),
        "sources": Counter(str(a.get("source")) for a in ads).most_common(),
        "confirmed": sum(1 for a in ads if a.get("status") == "confirmed"),
        "networks": [g for k, g in resolution.groups.items() if k.startswith("network:")],
        "clusters": [g for k, g in resolution.groups.items() if k.startswith("cluster:")],
        "unresolved": resolution.unresolved,
        "exported_at": exported_at.isoformat(),
        "exported_by": actor,
        "tool": tool,
    }
    report = folder / "report"
    report.mkdir()
    (report / "laporan.html").write_text(render_report(context), "utf-8")
    try:
        with OfflineRenderer(chromium) as renderer:
            pdf = renderer.pdf(render_report(context, bundle_dir=folder, embed_images=True))
        (report / "laporan.pdf").write_bytes(pdf)
    except Exception as exc:  # noqa: BLE001 - the bundle is still whole without the PDF; said so
        problems.append(f"report PDF not made: {exc}")
    _write_readme(folder, case, exported_at, tool, problems)
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != SUMS]
    manifest = {
        "case_id": case["id"],
        "title": case["title"],
        "exported_at": exported_at.isoformat(),
        "exported_by": actor,
        "tool": tool,
        "ads": [a["ad_id"] for a in ads],
        "problems": problems,
        "files": [
            {
                "path": p.relative_to(folder).as_posix(),
                "bytes": p.stat().st_size,
                "sha256": sha256_hex(p.read_bytes()),
            }
            for p in files
            if p.name != MANIFEST
        ],
    }
    _json(folder / MANIFEST, manifest)
    lines = [
        f"{sha256_hex(p.read_bytes())}  {p.relative_to(folder).as_posix()}\n"
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != SUMS
    ]
    (folder / SUMS).write_text("".join(lines), "utf-8")
    sums_sha = sha256_hex((folder / SUMS).read_bytes())
    return ExportResult(folder, len(ads), len(lines) + 1, sums_sha, problems)


def _render_pages(
    ads: list[Record], folder: Path, evidence_dir: Path, chromium: str, problems: list[str]
) -> dict[str, str]:
    """Each ad's latest archived page rendered offline, once per WARC record: ad id -> file."""
    from patroli.evidence.capture import latest_pointer

    pages: dict[str, str] = {}
    by_record: dict[str, str] = {}
    (folder / "pages").mkdir()
    try:
        with OfflineRenderer(chromium, evidence_dir) as renderer:
            for ad in ads:
                source = latest_pointer(ad)
                if source is None:
                    continue
                key = str(source.get("warc_record_id") or f"snapshot-{ad['ad_id']}")
                if key not in by_record:
                    record = source_record(evidence_dir, ad, source)
                    shot = renderer.screenshot(record)
                    name = f"pages/{_safe_name(ad['ad_id'])}.png"
                    (folder / name).write_bytes(shot.png)
                    by_record[key] = name
                pages[ad["ad_id"]] = by_record[key]
    except Exception as exc:  # noqa: BLE001 - no browser: the rest of the bundle is still made
        problems.append(f"pages not rendered: {exc}")
    return pages


def _copy_capture(
    ad: Mapping[str, Any], folder: Path, evidence_dir: Path, problems: list[str]
) -> str:
    capture = ad.get("capture") or {}
    if not capture.get("file"):
        return ""
    source = evidence_dir / str(capture["file"])
    name = f"captures/{_safe_name(str(ad['ad_id']))}.png"
    if not source.is_file():
        problems.append(f"ad {ad['ad_id']}: capture screenshot {capture['file']} is missing")
        return ""
    (folder / "captures").mkdir(exist_ok=True)
    shutil.copyfile(source, folder / name)
    _json(folder / "captures" / f"{_safe_name(str(ad['ad_id']))}.capture.json", capture)
    return name


def _write_readme(
    folder: Path, case: Mapping[str, Any], exported_at: datetime, tool: str, problems: list[str]
) -> None:
    notes = "".join(f"  - {p}\n" for p in problems) or "  (tidak ada / none)\n"
    (folder / README).write_text(
        f"""\
BUNDEL KASUS / CASE BUNDLE
Kasus / case: {case["title"]} ({case["id"]})
Diekspor / exported: {exported_at:%Y-%m-%d %H:%M:%S} UTC, {tool}

ISI / CONTENTS
  report/laporan.pdf, report/laporan.html  laporan kasus (bahasa Indonesia) / the case report
  warc/*.warc.gz      halaman persis seperti dikirim server (WARC, ISO 28500), dengan SHA-256 muatan
                      / every page exactly as the server sent it, with SHA-256 payload digests
  pages/*.png         halaman arsip yang dirender tanpa jaringan / archived pages rendered offline
  captures/           rekaman tangkapan layar saat iklan pertama ditandai (capture record,
                      bukan akuisisi forensik) / capture records made when each ad was first flagged
                      (not a forensic acquisition)
  ads/*.json          iklan, versi, keputusan / each ad, its versions, decisions
  networks/*.json     jaringan perekrut: iklan, identitas, klaster / recruiter networks of the case
  clusters/*.json     klaster templat: iklan, templat / template clusters of the case
  decisions.json      keputusan analis / the analysts' decisions
  audit.json          jejak audit kasus dan iklannya / the audit trail of the case and its ads
  case.json           kasus, item, catatan / the case, its items and notes
  manifest.json       daftar berkas dengan SHA-256 / every file with its SHA-256
  SHA256SUMS          SHA-256 setiap berkas / the SHA-256 of every other file

MEMERIKSA KEASLIAN / CHECKING THE FILES (tanpa patroli / without patroli)
  Linux:    cd FOLDER-BUNDEL && sha256sum -c SHA256SUMS
  macOS:    cd FOLDER-BUNDEL && shasum -a 256 -c SHA256SUMS
  Windows:  certutil -hashfile BERKAS SHA256   (bandingkan dengan baris di SHA256SUMS)
  Setiap baris harus "OK". Berkas yang diubah satu bita pun akan "FAILED".
  Every line must say OK; a file changed by a single byte says FAILED.
  Rekaman WARC juga dapat diperiksa dengan alat lain / WARC digests can also be checked with
  other tools, e.g. `warcio check warc/*.warc.gz` (Python package warcio).
  SHA-256 dari berkas SHA256SUMS dicatat di log audit patroli saat ekspor.
  The SHA-256 of SHA256SUMS itself is recorded in patroli's audit log at export.

CATATAN EKSPOR / EXPORT NOTES
{notes}""",
        "utf-8",
    )
