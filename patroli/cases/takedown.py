"""Takedown requests: the shapes the communications ministry takes, and the tracker after.

The migrant-worker ministry cannot take content down itself (../shared/domain/practice.md): it
sends batches through SAMAN (per item the URL or content id, a screenshot, a legal analysis, the
requesting agency and its letter number) or single reports through aduankonten (URL, platform,
screenshot, reason). ``export_requests`` writes either shape from confirmed ads, with the capture
record's screenshot, and records each request as submitted. ``recheck`` asks each open request's
URL again: 404 or 410 means removed, 2xx still live; the platform's response clock (4 hours when
urgent, 24 otherwise, with a 12-hour mark between) says which are overdue. ``monthly_counts``
gives found, submitted and removed per platform and month, as the ministries publish them.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import shutil
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from patroli.evidence.capture import Capturer, CaptureStore, wib
from patroli.evidence.render import OfflineRenderer
from patroli.storage import CaseStore, Record, ReviewStore
from patroli.storage.schema import new_id

CLOCK_HOURS = (4, 12, 24)  # urgent deadline, a reminder mark, the normal deadline
SOCIAL_HOSTS = {
    "t.me": "Telegram",
    "telegram.me": "Telegram",
    "facebook.com": "Facebook",
    "fb.com": "Facebook",
    "m.facebook.com": "Facebook",
    "tiktok.com": "TikTok",
    "instagram.com": "Instagram",
    "wa.me": "WhatsApp",
    "whatsapp.com": "WhatsApp",
    "x.com": "X",
    "twitter.com": "X",
    "youtube.com": "YouTube",
}
KIND_PLATFORM = {"telegram_channel": "Telegram"}
REMOVED_STATUSES = (404, 410)


class TakedownStore(CaptureStore, ReviewStore, CaseStore, Protocol):
    """What the takedown workflow reads and writes."""


def platform_of(ad: Mapping[str, Any]) -> str:
    """The platform an ad's URL is on: a social network by its host, else the site's host (a
    demo site on loopback: the platform its source imitates, or the source's name)."""
    host = (urlsplit(str(ad.get("url") or "")).hostname or "").lower().removeprefix("www.")
    for known, name in SOCIAL_HOSTS.items():
        if host == known or host.endswith("." + known):
            return name
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host or str(ad.get("source") or "?")
    return KIND_PLATFORM.get(str(ad.get("source_kind")), str(ad.get("source") or host))


def legal_analysis(ad: Mapping[str, Any], decision: Mapping[str, Any] | None) -> str:
    """A draft legal analysis in Indonesian from the ad's indicators and the analyst's decision
    (legal basis as ../shared/domain/indicators.md §3 gives it); the team checks it before sending."""
    codes = set(ad.get("reason_codes") or [])
    parts = [
        "DRAF — periksa sebelum dikirim.",
        (
            "Dasar hukum: UU No. 18 Tahun 2017 tentang Pelindungan Pekerja Migran Indonesia: penempatan "
            "hanya oleh KP2MI atau P3MI berizin dengan job order terverifikasi dan SIP2MI (Pasal 9, "
            "Pasal 13); penempatan nonprosedural diancam pidana (Pasal 80–81)."
        ),
    ]
    if codes & {"indicator:worker_pays_fees", "indicator:salary_deduction"}:
        parts.append(
            "Pasal 30 ayat (1): Pekerja Migran Indonesia tidak dapat dibebankan biaya "
            "penempatan; iklan meminta biaya atau potong gaji."
        )
    parts.append(
        "Bila ada unsur eksploitasi: UU No. 21 Tahun 2007 tentang Pemberantasan Tindak "
        "Pidana Perdagangan Orang."
    )
    reasons = "; ".join(str(r) for r in ad.get("reasons") or [])
    if reasons:
        parts.append(f"Konteks (indikator pada iklan): {reasons}.")
    if decision:
        note = f": {decision.get('note')}" if decision.get("note") else ""
        parts.append(
            f"Diverifikasi analis {decision.get('reviewer')} pada "
            f"{str(decision.get('at'))[:10]} sebagai iklan penempatan ilegal{note}."
        )
    return " ".join(parts)


def reason_text(ad: Mapping[str, Any]) -> str:
    """aduankonten's reason: short, in Indonesian."""
    reasons = "; ".join(str(r) for r in (ad.get("reasons") or [])[:3])
    return (
        "Iklan lowongan kerja luar negeri nonprosedural (dugaan penempatan ilegal PMI / TPPO)"
        + (f": {reasons}" if reasons else "")
    )


@dataclass(slots=True)
class ExportedRequests:
    directory: Path
    channel: str
    batch_id: str
    items: list[Record] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # ad ids not confirmed, with why


def _confirmed_decision(store: ReviewStore, ad_id: str) -> Record | None:
    history = [h for h in store.review_history(ad_id) if h.get("decision") == "confirmed"]
    return history[-1] if history else None


def export_requests(
    store: TakedownStore,
    ad_ids: Sequence[str],
    channel: str,
    output: Path,
    *,
    evidence_dir: Path,
    chromium: str,
    actor: str,
    agency: str = "",
    letter_number: str = "",
    case_id: str = "",
    urgent: bool = False,
    record: bool = True,
) -> ExportedRequests:
    """Write a SAMAN batch or aduankonten reports for the confirmed ads among ``ad_ids``."""
    if channel not in ("saman", "aduankonten"):
        raise ValueError(f"channel is saman or aduankonten, not {channel!r}")
    if channel == "saman" and not letter_number.strip():
        raise ValueError("a SAMAN batch needs the requesting agency's letter number")
    if output.exists() and any(output.iterdir()):
        raise FileExistsError(f"{output} exists and is not empty: choose a new folder")
    batch = ExportedRequests(
        output, channel, f"{channel}-{datetime.now(UTC):%Y%m%d%H%M%S}-{new_id()[:6]}"
    )
    (output / "tangkapan_layar").mkdir(parents=True)
    ads: list[tuple[Record, Record]] = []
    for ad_id in dict.fromkeys(ad_ids):
        ad = store.get_ad(ad_id, with_evidence=True)
        decision = _confirmed_decision(store, ad_id)
        if ad.get("status") != "confirmed" or decision is None:
            batch.refused.append(
                f"{ad_id}: not confirmed by an analyst (status {ad.get('status')})"
            )
            continue
        ads.append((ad, decision))
    missing = [ad for ad, _ in ads if not ad.get("capture")]
    if missing:
        with OfflineRenderer(chromium, evidence_dir) as renderer:
            capturer = Capturer(store, evidence_dir, renderer, f"{actor} (takedown export)")
            for ad in missing:
                ad["capture"] = capturer.capture(ad)
    for number, (ad, decision) in enumerate(ads, 1):
        capture = ad["capture"]
        shot = f"tangkapan_layar/{number:03d}-{ad['ad_id']}.png"
        shutil.copyfile(evidence_dir / str(capture["file"]), output / shot)
        item: Record = {
            "no": number,
            "ad_id": ad["ad_id"],
            "url": ad.get("url"),
            "content_id": ad.get("native_id"),
            "platform": platform_of(ad),
            "screenshot": shot,
            "screenshot_sha256": capture["sha256"],
            "captured_at": capture.get("captured_at_wib"),
            "legal_analysis": legal_analysis(ad, decision),
            "reason": reason_text(ad),
            "requesting_agency": agency,
            "letter_number": letter_number,
            "urgent": urgent,
            "batch_id": batch.batch_id,
        }
        batch.items.append(item)
    _write_shape(batch, output, agency, letter_number)
    if record:
        for item in batch.items:
            store.add_takedown(
                {
                    "ad_id": item["ad_id"],
                    "url": item["url"],
                    "channel": channel,
                    "platform": item["platform"],
                    "batch_id": batch.batch_id,
                    "letter_number": letter_number,
                    "agency": agency,
                    "urgent": urgent,
                    "case_id": case_id,
                },
                actor=actor,
            )
    return batch


SAMAN_COLUMNS = (
    "no",
    "url",
    "content_id",
    "platform",
    "screenshot",
    "screenshot_sha256",
    "legal_analysis",
    "requesting_agency",
    "letter_number",
    "ad_id",
    "captured_at",
)
ADUAN_FIELDS = ("url", "platform", "screenshot", "reason")


def _write_shape(batch: ExportedRequests, output: Path, agency: str, letter: str) -> None:
    if batch.channel == "saman":
        with (output / "saman.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(SAMAN_COLUMNS)
            for item in batch.items:
                writer.writerow([_cell(item[c]) for c in SAMAN_COLUMNS])
        (output / "saman.json").write_text(
            json.dumps(
                {
                    "batch_id": batch.batch_id,
                    "requesting_agency": agency,
                    "letter_number": letter,
                    "items": batch.items,
                },
                ensure_ascii=False,
                indent=1,
            ),
            "utf-8",
        )
        return
    reports = output / "aduankonten"
    reports.mkdir()
    for item in batch.items:
        report = {k: item[k] for k in ADUAN_FIELDS}
        (reports / f"{item['no']:03d}-{item['ad_id']}.json").write_text(
            json.dumps({**report, "ad_id": item["ad_id"]}, ensure_ascii=False, indent=1), "utf-8"
        )
        (reports / f"{item['no']:03d}-{item['ad_id']}.txt").write_text(
            f"URL: {item['url']}\nPlatform: {item['platform']}\nTangkapan layar: {item['screenshot']}\n"
            f"Alasan: {item['reason']}\n",
            "utf-8",
        )


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


# --- the tracker ----------------------------------------------------------------------------------


def clock(request: Mapping[str, Any], now: datetime | None = None) -> Record:
    """Hours since submission, the deadline (4 h urgent, 24 h), the clock marks passed, overdue."""
    now = now or datetime.now(UTC)
    submitted = datetime.fromisoformat(str(request["submitted_at"]))
    hours = (now - submitted).total_seconds() / 3600
    deadline = CLOCK_HOURS[0] if request.get("urgent") else CLOCK_HOURS[-1]
    open_ = request.get("status") in ("submitted", "live")
    return {
        "hours": round(hours, 1),
        "deadline_hours": deadline,
        "marks_passed": [h for h in CLOCK_HOURS if hours >= h],
        "due_at": (submitted + timedelta(hours=deadline)).isoformat(),
        "due_at_wib": wib(submitted + timedelta(hours=deadline)),
        "overdue": open_ and hours >= deadline,
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer (still there, elsewhere), not a page to follow


def check_url(url: str, timeout: float, user_agent: str) -> tuple[int | None, str]:
    """(HTTP status or None, outcome) of one GET, redirects not followed."""
    if urlsplit(url).scheme not in ("http", "https"):
        return None, "not an http(s) URL"
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})  # noqa: S310 - checked above
    try:
        with opener.open(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = int(exc.code)
    except (urllib.error.URLError, OSError) as exc:
        return None, f"no answer ({type(exc).__name__})"
    if status in REMOVED_STATUSES:
        return status, "removed"
    if 200 <= status < 300:
        return status, "live"
    return status, f"answered {status}"


def recheck(
    store: CaseStore, *, timeout: float, user_agent: str, actor: str = "patroli"
) -> list[Record]:
    """Ask every open request's URL again; move it to removed (404/410) or live (2xx)."""
    changed = []
    for request in store.list_takedowns(status="submitted") + store.list_takedowns(status="live"):
        status, outcome = check_url(str(request["url"]), timeout, user_agent)
        changes: dict[str, Any] = {}
        if outcome in ("removed", "live") and outcome != request["status"]:
            changes["status"] = outcome
        updated = store.update_takedown(
            request["id"], changes, actor=actor, check={"http_status": status, "outcome": outcome}
        )
        changed.append({**updated, "clock": clock(updated)})
    return changed


def monthly_counts(store: Any, month: str, *, max_ads: int = 50_000) -> dict[str, dict[str, int]]:
    """{platform: {found, submitted, removed}} for ``month`` (YYYY-MM): flagged ads first seen in
    it, requests submitted in it, requests removed in it."""
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = (start + timedelta(days=32)).replace(day=1)
    counts: dict[str, dict[str, int]] = defaultdict(
        lambda: {"found": 0, "submitted": 0, "removed": 0}
    )
    query = f"flagged:true first>={start:%Y-%m-%d} first<{end:%Y-%m-%d}"
    after: list[Any] | None = None
    seen = 0
    while seen < max_ads:
        page = store.search(query, limit=500, sort="date", after=after)
        for hit in page.hits:
            counts[platform_of(hit)]["found"] += 1
        seen += len(page.hits)
        after = page.next_after
        if not after or not page.hits:
            break
    for request in store.list_takedowns(limit=100_000):
        platform = request.get("platform") or "?"
        if start.isoformat() <= str(request["submitted_at"]) < end.isoformat():
            counts[platform]["submitted"] += 1
        if (
            request.get("removed_at")
            and start.isoformat() <= str(request["removed_at"]) < end.isoformat()
        ):
            counts[platform]["removed"] += 1
    return dict(sorted(counts.items()))
