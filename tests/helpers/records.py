"""Store records as the pipelines hand them to a store (fictional contacts)."""

from __future__ import annotations

from typing import Any


def record(ad_id: str, **overrides: Any) -> dict[str, Any]:
    base = {
        "ad_id": ad_id,
        "source": "demo_telegram",
        "source_kind": "telegram_channel",
        "native_id": ad_id,
        "url": f"https://t.me/demo/{ad_id}",
        "title": "Loker admin Kamboja",
        "text": "Dicari admin CS di Phnom Penh, gaji 1.500 USD, tiket gratis. WA 0812-5551-2345",
        "crawled_at": "2026-11-01T00:00:00+00:00",
        "content_hash": "h1",
        "phones": ["+6281255512345"],
        "telegram": ["@rekrut_kh"],
        "countries": ["KH"],
        "risk": 0.97,
        "flagged": True,
        "reasons": ["Pekerjaan kantor di Kamboja"],
        "model_version": "m1",
        "html": "<div>v1</div>",
    }
    return {**base, **overrides}
