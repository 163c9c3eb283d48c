"""Same flyer, measured: pHash/dHash matching on the demo variation set, and the look-up cost at
scale.

1. The variation set: the demo flyers (``patroli/demosites/data/flyers.jsonl``) plus distractor
   flyers drawn the same way from the first lines of demo Telegram posts (same fonts and template:
   the hardest negatives), each in every variation the demo reposts (original, resized twice,
   recompressed, cropped 3 %, two watermarks, mirrored), and the demo's stock photos and grey
   placeholder. Pairs of one flyer are positives, all other pairs negatives. Thresholds are tuned
   on half of the flyers (best F1, then fewer look-up keys) and precision/recall reported on the
   other half, and on all, at the tuned and at the shipped thresholds (``patroli.images.bands``).
   ``--real DIR``: every image in DIR (real pictures, e.g. text pages from public repositories;
   not shipped with patroli) gets the same variations (resized in proportion to 55 % and 45 %) and
   joins the set; precision/recall are also reported over the pairs that hold a real image.
2. The look-up at ``--lookup-size`` stored images (default 1,000,000 random hashes plus the
   variation set) in a real SQLite store: candidates per look-up (ads holding a pHash key and a
   dHash key of the probe) and time, against a full scan.

    .venv/bin/python bench/flyer_matching.py [--lookup-size 1000000] [--real DIR]
"""

from __future__ import annotations

import argparse
import itertools
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patroli.demosites import flyers
from patroli.demosites.data import load_demo_data
from patroli.images import bands
from patroli.images.decode import open_bounded, to_rgb
from patroli.images.fingerprint import fingerprint

PALETTES = [
    ["#4a148c", "#f3e5f5", "#111111"],
    ["#bf360c", "#fbe9e7", "#111111"],
    ["#01579b", "#e1f5fe", "#111111"],
    ["#33691e", "#f1f8e9", "#111111"],
]


def distractors(count: int) -> list[dict[str, Any]]:
    """Flyers drawn like the demo's from other demo posts' text."""
    data = load_demo_data()
    posts = [p for c in data.telegram.values() for p in c if len(p["text"].split("\n")) >= 5]
    made = []
    for i, post in enumerate(posts[:count]):
        lines = [line.strip() for line in post["text"].split("\n") if line.strip()]
        made.append(
            {
                "id": f"d{i:02d}",
                "palette": PALETTES[i % len(PALETTES)],
                "headline": [lines[0][:28]],
                "lines": [line[:40] for line in lines[1:7]],
                "footer": lines[-1][:40],
            }
        )
    return made


def variation_set(
    n_distractors: int,
) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
    """[(flyer id, fingerprint)] for every flyer and variation, and the stock photos' fingerprints."""
    all_flyers = load_demo_data().flyers + distractors(n_distractors)
    key = flyers.register(all_flyers)
    images = []
    for flyer in all_flyers:
        for variant in flyers.VARIANTS:
            _kind, image = open_bounded(flyers.flyer_bytes(flyer["id"], variant, key), 25_000_000)
            images.append((flyer["id"], fingerprint(image)))
    others = []
    for seed in [f"photo-demo-{i}" for i in range(60)]:
        others.append(fingerprint(open_bounded(flyers.stock_photo(seed), 25_000_000)[1]))
    others.append(fingerprint(open_bounded(flyers.placeholder(), 25_000_000)[1]))
    return images, others


REAL_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".webp", ".gif")
REAL_SCALES = {"resized": 0.55, "resized_small": 0.45}  # the demo's 800x1000 -> 440x550, 360x450


def real_variations(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    """[(real:<file>, fingerprint)] for every image in ``directory`` in every demo variation."""
    from PIL import Image

    images = []
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() not in REAL_SUFFIXES:
            continue
        with Image.open(path) as opened:
            opened.seek(0)
            original = to_rgb(opened.copy())
        for variant, (transform, quality) in flyers.VARIANTS.items():
            if variant in REAL_SCALES:
                w, h = original.size
                share = REAL_SCALES[variant]
                varied = original.resize(
                    (round(w * share), round(h * share)), Image.Resampling.LANCZOS
                )
            else:
                varied = transform(original)
            data = flyers.jpeg(varied, quality)
            images.append((f"real:{path.name}", fingerprint(open_bounded(data, 25_000_000)[1])))
    return images


def pairs(
    images: list[tuple[str, dict[str, Any]]], others: list[dict[str, Any]]
) -> list[tuple[bool, tuple[int, int] | None]]:
    found = []
    labelled = images + [(f"other{i}", fp) for i, fp in enumerate(others)]
    for (a, fa), (b, fb) in itertools.combinations(labelled, 2):
        found.append((a == b, bands.flyer_distance(fa, fb)))
    return found


def scores(
    pairs_: list[tuple[bool, tuple[int, int] | None]], tp: int, td: int
) -> tuple[float, float, float]:
    true_pos = sum(1 for same, d in pairs_ if same and bands.is_same_flyer(d, tp, td))
    false_pos = sum(1 for same, d in pairs_ if not same and bands.is_same_flyer(d, tp, td))
    positives = sum(1 for same, _ in pairs_ if same)
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 1.0
    recall = true_pos / positives if positives else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def tune(pairs_: list[tuple[bool, tuple[int, int] | None]]) -> tuple[int, int]:
    best = max((scores(pairs_, tp, td)[2], -tp, -td) for tp in range(4, 25) for td in range(4, 33))
    return -best[1], -best[2]


def lookup_at_scale(size: int, probes: list[dict[str, Any]], stored: list[dict[str, Any]]) -> None:
    from patroli.storage.sqlite import SQLiteStore

    rng = random.Random(1)  # noqa: S311 - demo drawings, not secrets
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'lookup.db'}"
        store = SQLiteStore(url)
        started = time.monotonic()
        conn: sqlite3.Connection = (
            store.db._conn
        )  # bulk load: the real tables, without the pipeline
        batch_ads, batch_keys = [], []
        for i in range(size + len(stored)):
            if i < len(stored):
                image = stored[i]
            else:
                value = rng.getrandbits(64)
                image = {
                    "phash": f"{value:016x}",
                    "dhash": f"{rng.getrandbits(64):016x}",
                    "phash_mirror": f"{rng.getrandbits(64):016x}",
                    "dhash_mirror": f"{rng.getrandbits(64):016x}",
                    "linkable": True,
                }
            ad_id = f"ad{i:09d}"
            import json

            batch_ads.append((ad_id, json.dumps([image])))
            batch_keys += [
                ("flyer", key, ad_id) for key in bands.image_keys(image["phash"], image["dhash"])
            ]
            if len(batch_ads) >= 50_000:
                with conn:
                    conn.executemany(
                        "INSERT INTO ads (ad_id, images, status, version) VALUES (?, ?, 'new', 1)",
                        batch_ads,
                    )
                    conn.executemany(
                        "INSERT INTO ad_entities (kind, value, ad_id) VALUES (?, ?, ?)", batch_keys
                    )
                batch_ads, batch_keys = [], []
        with conn:
            conn.executemany(
                "INSERT INTO ads (ad_id, images, status, version) VALUES (?, ?, 'new', 1)",
                batch_ads,
            )
            conn.executemany(
                "INSERT INTO ad_entities (kind, value, ad_id) VALUES (?, ?, ?)", batch_keys
            )
        print(
            f"loaded {size + len(stored):,} images into SQLite in {time.monotonic() - started:.0f} s"
        )
        times, candidates, found = [], [], []
        for probe in probes:
            started = time.monotonic()
            count = 0
            for phash_keys, dhash_keys in bands.probe_key_sets(probe):
                sub = "SELECT ad_id FROM ad_entities WHERE kind = 'flyer' AND value IN ({})"
                sql = f"SELECT COUNT(*) FROM ({sub.format(','.join('?' * len(phash_keys)))} INTERSECT "  # noqa: S608 - "?" marks only
                sql += f"{sub.format(','.join('?' * len(dhash_keys)))})"
                count += conn.execute(sql, [*phash_keys, *dhash_keys]).fetchone()[0]
            hits = store.same_flyer([probe], limit=100)
            times.append(time.monotonic() - started)
            candidates.append(count)
            found.append(len(hits))
        started = time.monotonic()
        scanned = 0
        for (images_json,) in conn.execute("SELECT images FROM ads"):
            import json

            image = json.loads(images_json)[0]
            bands.flyer_distance(probes[0], image)
            scanned += 1
        scan_seconds = time.monotonic() - started
        store.close()
    print(
        f"look-up by bands: {sum(len(p) + len(d) for p, d in bands.probe_key_sets(probes[0]))} keys per probe, "
        f"median {statistics.median(candidates):,.0f} candidates verified "
        f"({statistics.median(candidates) / (size + len(stored)):.2%} of the store), "
        f"median {statistics.median(times) * 1000:.0f} ms per look-up, median {statistics.median(found):.0f} found"
    )
    print(
        f"full scan of {scanned:,} images: {scan_seconds * 1000:.0f} ms "
        f"(look-up/scan time ratio={statistics.median(times) / scan_seconds:.3f})"
    )


def report_real(
    real: list[tuple[str, dict[str, Any]]],
    images: list[tuple[str, dict[str, Any]]],
    others: list[dict[str, Any]],
) -> None:
    """Precision/recall at the shipped thresholds over the pairs holding a real image."""
    names = sorted({name for name, _ in real})
    guarded = sorted({name for name, fp in real if fp["low_information"]})
    print(
        f"real images: {len(names)} x {len(flyers.VARIANTS)} variations = {len(real)}; "
        f"low-information: {guarded or 'none'}"
    )
    labelled = real + images + [(f"other{i}", fp) for i, fp in enumerate(others)]
    found = [
        (a == b, bands.flyer_distance(fa, fb))
        for (a, fa), (b, fb) in itertools.combinations(labelled, 2)
        if a.startswith("real:") or b.startswith("real:")
    ]
    precision, recall, _ = scores(found, bands.SAME_FLYER_PHASH, bands.SAME_FLYER_DHASH)
    print(
        f"real: {sum(s for s, _ in found):,} same-picture pairs of {len(found):,}; shipped "
        f"thresholds: precision={precision:.3f} recall={recall:.3f}"
    )
    by_name: dict[str, list[dict[str, Any]]] = {}
    for name, fp in real:
        by_name.setdefault(name, []).append(fp)
    for variant_index, variant in enumerate(flyers.VARIANTS):
        if not variant_index:
            continue  # the original itself
        hits = [
            bands.is_same_flyer(bands.flyer_distance(fps[0], fps[variant_index]))
            for fps in by_name.values()
        ]
        print(f"  real {variant}: {sum(hits)}/{len(hits)} matched to the original")
    for name, fps in by_name.items():
        matched = sum(bands.is_same_flyer(bands.flyer_distance(fps[0], fp)) for fp in fps[1:])
        plain = sum(1 for fp in fps if fp["low_information"])
        print(
            f"  {name}: {matched}/{len(fps) - 1} variations matched to the original, "
            f"{plain} of {len(fps)} low-information"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--distractors", type=int, default=30)
    parser.add_argument("--lookup-size", type=int, default=1_000_000)
    parser.add_argument("--real", type=Path, help="a directory of real images to vary and add")
    args = parser.parse_args()
    images, others = variation_set(args.distractors)
    if args.real:
        real = real_variations(args.real)
        report_real(real, images, others)
    ids = sorted({i for i, _ in images})
    tune_ids, test_ids = set(ids[0::2]), set(ids[1::2])
    tune_pairs = pairs([x for x in images if x[0] in tune_ids], others)
    test_pairs = pairs([x for x in images if x[0] in test_ids], others)
    all_pairs = pairs(images, others)
    print(
        f"variation set: {len(ids)} flyers x {len(flyers.VARIANTS)} variations = {len(images)} images, "
        f"{len(others)} other images; {sum(s for s, _ in all_pairs):,} same-flyer pairs of {len(all_pairs):,}"
    )
    low = [fp["low_information"] for _, fp in images if fp["low_information"]]
    print(
        f"low-information guard: {len(low)} of {len(images)} flyer images, "
        f"{sum(1 for fp in others if fp['low_information'])} of {len(others)} others (the placeholder)"
    )
    same = [d for s, d in all_pairs if s and d]
    diff = [d for s, d in all_pairs if not s and d]
    print(
        f"same flyer: pHash distance max {max(d[0] for d in same)}, dHash max {max(d[1] for d in same)}; "
        f"different: pHash min {min(d[0] for d in diff)}, dHash min {min(d[1] for d in diff)}"
    )
    tp, td = tune(tune_pairs)
    for name, (p_, d_) in (
        ("tuned on half", (tp, td)),
        ("shipped", (bands.SAME_FLYER_PHASH, bands.SAME_FLYER_DHASH)),
    ):
        p1, r1, _ = scores(test_pairs, p_, d_)
        p2, r2, _ = scores(all_pairs, p_, d_)
        print(
            f"{name}: pHash<={p_} dHash<={d_}: held-out half precision={p1:.3f} recall={r1:.3f}; "
            f"all precision={p2:.3f} recall={r2:.3f}"
        )
    per_variant: dict[str, list[bool]] = {}
    by_id: dict[str, dict[str, dict[str, Any]]] = {}
    for (fid, fp), variant in zip(images, itertools.cycle(flyers.VARIANTS), strict=False):
        by_id.setdefault(fid, {})[variant] = fp
    for variants in by_id.values():
        for variant, fp in variants.items():
            per_variant.setdefault(variant, []).append(
                bands.is_same_flyer(bands.flyer_distance(variants["original"], fp))
            )
    print(
        "recall against the original, per variation: "
        + ", ".join(f"{v} {sum(ok) / len(ok):.2f}" for v, ok in per_variant.items())
    )
    if args.lookup_size:
        probes = [fp for _, fp in images[:: len(flyers.VARIANTS)]][:20]
        lookup_at_scale(args.lookup_size, probes, [fp for _, fp in images])


if __name__ == "__main__":
    main()
