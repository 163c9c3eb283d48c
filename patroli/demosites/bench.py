"""The bench internet: a classifieds site of N generated job ads, for crawl benchmarks at scale.

``python -m patroli.demosites --bench-ads 100000 --latency 0.2`` serves, beside the demo sites,
``/bench/c<K>`` (category K, ``BENCH_PER_CATEGORY`` ads each, ``BENCH_PAGE_SIZE`` per listing page,
Pasarloka's markup, so the ``classifieds`` spider reads it with the demo selectors) and
``/bench/item/<slug>-iid-<N>`` (ad N). Every ad is a pure function of its number: the same N gives
the same site on every machine, and nothing is held in memory. ``--latency`` delays every answer,
so that a crawl is bound by waiting on the network the way a real crawl is, not by loopback speed.
All names and numbers are fictional (phones ``08xx-555x-xxxx``).
"""

from __future__ import annotations

import math
import random
from typing import Any

from patroli.demosites.data import slugify

BENCH_PER_CATEGORY = 2000
BENCH_PAGE_SIZE = 50

_TITLES = (
    "Dicari Admin {role} Penempatan {city}",
    "Lowongan {role} ke {city}, Gaji {pay}",
    "Kerja {role} di {city} Tanpa Pengalaman",
    "Loker {role} {city} — Berangkat Cepat",
    "{role} Pabrik di {city}, Mess Gratis",
    "Butuh {role} untuk {city}, Proses Resmi",
)
_ROLES = (
    "CS Online",
    "Operator Produksi",
    "Perawat Lansia",
    "Pelayan Restoran",
    "Kasir",
    "Sopir",
    "Tukang Las",
    "ART",
    "Admin Gudang",
    "Teknisi",
)
_CITIES = (
    ("Phnom Penh", "KH", "USD"),
    ("Kuala Lumpur", "MY", "RM"),
    ("Riyadh", "SA", "SAR"),
    ("Taipei", "TW", "NTD"),
    ("Bangkok", "TH", "THB"),
    ("Surabaya", "ID", "Rp"),
    ("Bandung", "ID", "Rp"),
    ("Osaka", "JP", "JPY"),
    ("Myawaddy", "MM", "USD"),
)
_LINES = (
    "Tiket pesawat ditanggung perusahaan.",
    "Tanpa biaya, potong gaji 3 bulan.",
    "Syarat: usia 18-35, sehat jasmani.",
    "Dokumen diurus agensi, cukup KTP.",
    "Proses resmi lewat P3MI berizin, ada SIP2MI.",
    "Kontrak 2 tahun, bisa diperpanjang.",
    "Visa kunjungan dulu, nanti diurus di sana.",
    "Mess dan makan 3x ditanggung.",
    "Wawancara online via WhatsApp.",
    "Bisa berangkat minggu depan.",
)
_SELLERS = ("Rekrut Asia", "Info Loker Nusantara", "Agensi Maju Jaya", "Bu Sinta", "Pak Joko")


def bench_categories(total: int) -> int:
    return max(1, math.ceil(total / BENCH_PER_CATEGORY))


def bench_ad(number: int) -> dict[str, Any]:
    """Ad ``number`` of the bench site (deterministic)."""
    rng = random.Random(number * 7919 + 17)  # noqa: S311 - reproducible fictional data
    city, _, currency = rng.choice(_CITIES)
    role = rng.choice(_ROLES)
    pay = f"{currency} {rng.randrange(4, 60) * 100:,}".replace(",", ".")
    title = rng.choice(_TITLES).format(role=role, city=city, pay=pay)
    phone = f"08{rng.randrange(11, 99)}-555{rng.randrange(10)}-{rng.randrange(10000):04d}"
    lines = rng.sample(_LINES, 4)
    description = "\n".join(
        [
            f"DIBUTUHKAN {role.upper()} — penempatan {city}",
            f"Gaji {pay}",
            *lines,
            f"Hubungi WA {phone} (iklan #{number})",
        ]
    )
    slug = slugify(title)
    return {
        "id": f"b{number}",
        "category": "lowongan-kerja",
        "title": title,
        "price": f"Gaji {pay}",
        "location": city,
        "seller": rng.choice(_SELLERS),
        "posted": f"{rng.randrange(1, 20)} hari yang lalu",
        "description": description,
        "path": f"/bench/item/{slug}-iid-{number}",
    }


def bench_listing(total: int, category: int, page: int) -> tuple[list[dict[str, Any]], int]:
    """(ads on a listing page of a category, pages of the category); no ads past the end."""
    first = category * BENCH_PER_CATEGORY
    count = max(0, min(BENCH_PER_CATEGORY, total - first))
    pages = max(1, math.ceil(count / BENCH_PAGE_SIZE))
    start = first + (page - 1) * BENCH_PAGE_SIZE
    end = min(first + count, start + BENCH_PAGE_SIZE)
    return [bench_ad(n) for n in range(start, end)], pages


def bench_registry(url: str, total: int, name: str = "bench_classifieds", **politeness: Any) -> str:
    """A source registry (YAML) with one source that walks every category of the bench site."""
    import json

    starts = [f"{url}/bench/c{k}" for k in range(bench_categories(total))]
    selectors = {
        "listing_item": 'li[data-aut-id="itemBox"]',
        "listing_link": 'a[href*="/item/"]::attr(href)',
        "listing_date": '[data-aut-id="itemDate"]',
        "next_page": 'a[rel="next"]::attr(href)',
        "empty": '[data-aut-id="noResults"]',
        "title": 'h1[data-aut-id="itemTitle"]',
        "text": '[data-aut-id="itemDescriptionContent"]',
        "price": '[data-aut-id="itemPrice"]',
        "location": '[data-aut-id="itemLocation"]',
        "posted": '[data-aut-id="itemCreationDate"]',
        "author": '[data-aut-id="userTitle"] span:last-child',
        "native_id": r"iid-(\d+)",
    }
    source = {
        "name": name,
        "kind": "classifieds",
        "start_urls": starts,
        "selectors": selectors,
        "politeness": politeness or {"concurrency": 32, "autothrottle": False},
    }
    return json.dumps({"sources": [source]}, indent=1)  # JSON is YAML
