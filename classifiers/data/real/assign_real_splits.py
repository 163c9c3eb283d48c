"""Give every real-corpus row a ``split``, keeping each source wholly on one side.

A row's source is its publisher or repository (the ``outlet`` field, up to the first " (");
outlets that carry the same story (one press conference reported by two sites) are merged into
one group, so no event is on both sides. A group already holding a split keeps it, and new rows of
that group inherit it. New groups are placed largest first (ties broken by a hash of the name, so
the result does not depend on file order), each on the side that brings every file's share of test
rows, and the share of English and Malay rows, closest to ``TEST_SHARE``.
Run after adding rows: ``python classifiers/data/real/assign_real_splits.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path

REAL_DIR = Path(__file__).parent
TEST_SHARE = 0.4

# Outlets that quote the same event or interview: one split for all of them.
SAME_STORY = {
    "freemalaysiatoday.com": "astroawani.com",
    "tvzvezda.ru": "rambler.ru",
    "murianews.com": "betanews.id",
    "eranasional.com": "narakita.id",
    "beritaplus.id": "narakita.id",
    "turnbackhoax.id": "liputan6.com",
    "mediatamaprakarsa.id": "detik.com",
    "bisnisupdate.com": "voiceindonesia.co",
    "gatra.com": "okezone.com",
}


def group_of(row: dict[str, object]) -> str:
    outlet = str(row["outlet"]).split(" (")[0].strip().lower()
    return SAME_STORY.get(outlet, outlet)


def _order(item: tuple[str, Counter[str]]) -> tuple[int, str]:
    name, counts = item
    return (-sum(counts.values()), hashlib.sha256(name.encode()).hexdigest())


def assign(paths: list[Path]) -> dict[str, str]:
    rows = {
        p: [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
        for p in paths
    }
    sizes: dict[str, Counter[str]] = defaultdict(Counter)
    split_of: dict[str, str] = {}
    for path, items in rows.items():
        for row in items:
            group = group_of(row)
            sizes[group][path.name] += 1
            if row.get("lang") in ("en", "ms"):
                sizes[group]["lang:en+ms"] += 1
            if row.get("split") in ("train", "test"):
                split_of.setdefault(group, row["split"])
    totals: Counter[str] = Counter()
    for counts in sizes.values():
        totals.update(counts)
    in_test: Counter[str] = Counter()
    for group, split in split_of.items():
        if split == "test":
            in_test.update(sizes[group])

    def cost(test_counts: Counter[str]) -> float:
        return sum((test_counts[f] - TEST_SHARE * n) ** 2 / n for f, n in totals.items() if n)

    for group, counts in sorted(
        ((g, c) for g, c in sizes.items() if g not in split_of), key=_order
    ):
        with_group = in_test + counts
        if cost(with_group) < cost(in_test):
            split_of[group] = "test"
            in_test = with_group
        else:
            split_of[group] = "train"
    for path, items in rows.items():
        for row in items:
            row["split"] = split_of[group_of(row)]
        path.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items), encoding="utf-8"
        )
    return split_of


if __name__ == "__main__":
    files = sorted(REAL_DIR.glob("*.jsonl"))
    chosen = assign(files)
    print(f"{sum(s == 'test' for s in chosen.values())} of {len(chosen)} source groups in test")  # noqa: T201
