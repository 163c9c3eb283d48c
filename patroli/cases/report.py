"""The case report in Indonesian: summary, timeline, identifiers, destinations, and each ad with
its reasons, decisions and evidence digests. One Jinja template gives the HTML kept in the bundle
(images linked as bundle files) and the document chromium prints to PDF (images embedded).
Crawled text is hostile: everything is escaped, and neither version runs a script.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel import Locale
from jinja2 import Environment, PackageLoader, select_autoescape

from patroli.evidence.capture import utc, wib

STATUS_ID = {
    "open": "terbuka",
    "investigating": "dalam penyelidikan",
    "referred": "dirujuk",
    "closed": "ditutup",
    "new": "baru",
    "confirmed": "dikonfirmasi ilegal",
    "dismissed": "ditolak",
    "escalated": "dieskalasi",
    "submitted": "diajukan",
    "removed": "diturunkan",
    "refused": "ditolak platform",
    "live": "masih tayang",
}
ROUTING_ID = {
    "takedown": "permintaan penurunan konten (Komdigi)",
    "police": "kepolisian (unit siber / PPA)",
    "bp3mi": "BP3MI (verifikasi)",
}
EVENT_ID = {
    "case.create": "kasus dibuat",
    "case.update": "kasus diubah",
    "case.item.add": "item ditambahkan",
    "case.item.remove": "item dihapus",
    "case.note": "catatan",
    "review": "keputusan analis",
    "ad.hold": "iklan ditahan",
    "ad.release": "penahanan dilepas",
    "ad.capture": "rekaman tangkapan layar",
    "takedown.submit": "permintaan takedown diajukan",
    "takedown.status": "status takedown berubah",
    "case.export": "bundel diekspor",
}
IDENTIFIER_FIELDS = (
    ("phones", "Telepon"),
    ("whatsapp", "WhatsApp"),
    ("telegram", "Telegram"),
    ("emails", "E-mail"),
    ("bank_accounts", "Rekening bank"),
)


def country_name(code: str) -> str:
    return str(Locale("id").territories.get(code.upper(), code))


def when(value: Any) -> str:
    """An ISO time as 'YYYY-MM-DD HH:MM:SS WIB (… UTC)'."""
    if not value:
        return "–"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{wib(moment)} ({utc(moment)})"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("patroli.cases", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["status"] = lambda s: STATUS_ID.get(str(s or "new"), str(s or ""))
    env.filters["country"] = country_name
    env.filters["event"] = lambda a: EVENT_ID.get(str(a), str(a))
    env.filters["routing"] = lambda k: ROUTING_ID.get(str(k), str(k))
    return env


def timeline(
    case: Mapping[str, Any], ads: Sequence[Mapping[str, Any]], audit: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Every dated event of the case and its ads, oldest first."""
    events: list[dict[str, Any]] = []
    for ad in ads:
        events.append(
            {
                "at": ad.get("first_seen"),
                "what": "iklan pertama terlihat",
                "detail": f"{ad.get('title') or ad['ad_id']} ({ad.get('source')})",
            }
        )
        if ad.get("gone_at"):
            events.append(
                {
                    "at": ad["gone_at"],
                    "what": "iklan hilang dari sumber",
                    "detail": ad.get("title") or ad["ad_id"],
                }
            )
    for entry in audit:
        detail = entry.get("detail") or ""
        if entry.get("action") == "review":
            detail = f"{entry.get('target')}: {STATUS_ID.get(str(entry.get('after')), entry.get('after'))} {detail}"
        elif entry.get("action") == "case.item.add" and isinstance(entry.get("after"), Mapping):
            detail = f"{entry['after'].get('kind')} {entry['after'].get('value')}"
        elif entry.get("action") == "case.update" and isinstance(entry.get("after"), Mapping):
            detail = ", ".join(f"{k}: {v}" for k, v in entry["after"].items() if k != "routing")
        events.append(
            {
                "at": entry.get("at"),
                "what": EVENT_ID.get(str(entry.get("action")), entry.get("action")),
                "detail": f"{entry.get('actor')} — {detail}"[:300],
            }
        )
    for route in case.get("routing") or []:
        events.append(
            {
                "at": route.get("at"),
                "what": "dirujuk ke " + ROUTING_ID.get(route.get("kind"), route.get("kind")),
                "detail": f"{route.get('to')} {route.get('reference')}".strip(),
            }
        )
    return sorted(events, key=lambda e: str(e.get("at") or ""))


def identifiers(ads: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, int]]:
    counts: Counter[tuple[str, str]] = Counter()
    for ad in ads:
        for field, label in IDENTIFIER_FIELDS:
            for value in set(ad.get(field) or []):
                counts[(label, str(value))] += 1
    return [
        (label, value, n)
        for (label, value), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def destinations(ads: Sequence[Mapping[str, Any]]) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter(c for ad in ads for c in set(ad.get("countries") or []))
    return counts.most_common()


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def render_report(
    context: Mapping[str, Any], *, bundle_dir: Path | None = None, embed_images: bool = False
) -> str:
    """The report's HTML; with ``embed_images`` the bundle's images are embedded (for the PDF)."""

    def image(relative: str) -> str:
        if embed_images and bundle_dir is not None and (bundle_dir / relative).is_file():
            return _data_uri(bundle_dir / relative)
        return "../" + relative

    template = _environment().get_template("report.html")
    return template.render(**context, image=image, embedded=embed_images)
