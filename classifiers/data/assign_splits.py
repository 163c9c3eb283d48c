"""Give every seed record without a ``split`` a fixed one, and never change an existing one.

About 20% of each (label, category) group goes to ``test``, chosen by a hash of the id so that the
choice does not depend on file order. Run after adding records:
``python classifiers/data/assign_splits.py``. Training and tuning never read ``test`` records.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

SEED_DIR = Path(__file__).parent / "seed"
TEST_SHARE = 0.2


def bucket(record_id: str) -> float:
    return int(hashlib.sha256(record_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def assign(paths: list[Path]) -> int:
    changed = 0
    for path in paths:
        lines = path.read_text(encoding="utf-8").splitlines()
        out = []
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            if record.get("split") not in ("train", "test"):
                record["split"] = "test" if bucket(record["id"]) < TEST_SHARE else "train"
                changed += 1
            out.append(json.dumps(record, ensure_ascii=False))
        path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return changed


if __name__ == "__main__":
    files = [Path(p) for p in sys.argv[1:]] or sorted(SEED_DIR.glob("*.jsonl"))
    print(f"assigned a split to {assign(files)} record(s)")  # noqa: T201
