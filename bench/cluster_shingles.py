"""Choose the template clusterer's shingles by measurement: pairwise precision and recall of the
clusters against the demo data's ground truth (``patroli/demosites/data/networks_truth.json``).

Every demo ad (title and text as the demo sites show them) is linked through the real ``Linker`` on
an in-memory SQLite store, once per shingle kind, size and similarity threshold. A pair of ads is
predicted alike when they share a cluster, truly alike when they are versions of one family;
families left out of the truth count as false positives. Run:

    .venv/bin/python bench/cluster_shingles.py [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections import defaultdict
from typing import Any

from patroli.demosites.data import NETWORKS_TRUTH, load_demo_data
from patroli.storage.linking.linker import Linker, LinkSettings
from patroli.storage.sqlite import SQLiteStore

CONFIGS = [("word", n) for n in (1, 2, 3, 4, 5)] + [("char", k) for k in (4, 5, 7, 9)]
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)


def demo_ads() -> list[dict[str, Any]]:
    data = load_demo_data()
    ads = []
    for source, rows in (
        ("demo_pasarloka", data.classifieds),
        ("demo_kerjanusa", data.jobs),
        ("demo_fb_group", data.feed),
        ("demo_telegram", [p for posts in data.telegram.values() for p in posts]),
    ):
        for row in rows:
            text = row.get("description") or row.get("text") or ""
            ads.append(
                {"ad_id": f"{source}:{row['id']}", "title": row.get("title") or "", "text": text}
            )
    return ads


def truth_pairs() -> tuple[set[frozenset[str]], dict[str, list[str]]]:
    families = json.loads(NETWORKS_TRUTH.read_text(encoding="utf-8"))["families"]
    pairs = {
        frozenset(p) for members in families.values() for p in itertools.combinations(members, 2)
    }
    return pairs, families


def measure(kind: str, size: int, threshold: float, ads: list[dict[str, Any]]) -> dict[str, Any]:
    store = SQLiteStore("sqlite:///:memory:")
    started = time.perf_counter()
    with store.db.write() as conn:
        for ad in ads:  # the ads table rows the linker updates
            conn.execute(
                "INSERT INTO ads(ad_id, title, text) VALUES (?,?,?)",
                (ad["ad_id"], ad["title"], ad["text"]),
            )
    with store.link_backend() as backend:
        Linker(
            backend, LinkSettings(threshold=threshold, shingle_kind=kind, shingle_size=size)
        ).link(ads)
    seconds = time.perf_counter() - started
    with store.db.read() as conn:
        clusters: dict[str, list[str]] = defaultdict(list)
        for ad_id, cluster_id in conn.execute("SELECT ad_id, cluster_id FROM ads"):
            clusters[cluster_id].append(ad_id)
    store.close()
    predicted = {
        frozenset(p) for members in clusters.values() for p in itertools.combinations(members, 2)
    }
    truth, families = truth_pairs()
    hit = len(predicted & truth)
    whole = sum(
        1 for members in families.values() if any(set(members) == set(c) for c in clusters.values())
    )
    return {
        "kind": kind,
        "size": size,
        "threshold": threshold,
        "precision": round(hit / len(predicted), 3) if predicted else 1.0,
        "recall": round(hit / len(truth), 3),
        "predicted_pairs": len(predicted),
        "families_exact": f"{whole}/{len(families)}",
        "seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ads = demo_ads()
    rows = [measure(k, n, t, ads) for k, n in CONFIGS for t in THRESHOLDS]
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{len(ads)} demo ads; pairwise precision / recall of clusters against the demo truth")
    print(
        f"{'shingles':10} {'thr':>4} {'precision':>9} {'recall':>6} {'pairs':>6} {'exact':>6} {'s':>5}"
    )
    for r in rows:
        print(
            f"{r['kind']}-{r['size']:<5} {r['threshold']:>4} {r['precision']:>9} {r['recall']:>6} "
            f"{r['predicted_pairs']:>6} {r['families_exact']:>6} {r['seconds']:>5}"
        )


if __name__ == "__main__":
    main()
