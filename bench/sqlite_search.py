"""Analyst search on the embedded store (SQLite + FTS5) at 1M ads: p50/p95 latency with facets, one run.

Writes N fictional ads (default 1,000,000, each with ~2 KB of HTML evidence: the generator of
``bench/index_throughput.py``) into a fresh SQLite store through ``upsert_ads`` in batches, as a
crawl does, then runs the same 20 analyst queries as the OpenSearch benchmark (words, phrases,
filters, ranges, sorts, each with facets, plus the next page) ``--repeats`` times.

    .venv/bin/python bench/sqlite_search.py [--ads 1000000] [--repeats 5] [--db PATH]

``--db`` keeps the file and reuses it (filled on from where it stopped: the ads are numbered); without
it a temporary one is made and removed. Prints the
write rate, the file size and ``search_p50_ms=… search_p95_ms=…`` (reported; the engine target of
p95 <= 100 ms is for OpenSearch).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from index_throughput import QUERIES, make_ads

from patroli.storage import open_store
from pipelines.store import ad_to_record

CHUNK = 10_000


def fill(url: str, total: int, batch: int, have: int = 0) -> float:
    """Write ads ``have`` .. ``total`` (a kept file is filled on from where it stopped)."""
    started = time.perf_counter()
    with open_store(url) as store:
        for start in range(have - have % CHUNK, total, CHUNK):
            ads = make_ads(min(CHUNK, total - start), seed=42 + start, start=start)
            records = [ad_to_record(ad) for ad in ads]
            for first in range(0, len(records), batch):
                result = store.upsert_ads(records[first : first + batch])
                if result.failed:
                    raise SystemExit(f"store rejected {result.failed} ads")
            if (start + CHUNK) % 100_000 == 0:
                rate = (start + CHUNK - have) / (time.perf_counter() - started)
                print(
                    f"{start + CHUNK:>8} ads written, {rate:.0f} ads/s (load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
    return time.perf_counter() - started


def latencies(url: str, repeats: int) -> list[float]:
    timings = []
    with open_store(url) as store:
        for query in QUERIES:
            store.search(query, facets=True)  # warm-up: the page cache, the query plan
            firsts = []
            for _ in range(repeats):
                started = time.perf_counter()
                first = store.search(query, limit=20, facets=True, sort="relevance")
                firsts.append((time.perf_counter() - started) * 1000)
                if first.next_after:
                    started = time.perf_counter()
                    store.search(query, limit=20, sort="relevance", after=first.next_after)
                    timings.append((time.perf_counter() - started) * 1000)
            timings += firsts
            print(
                f"{query!r:40} {first.total:>8} ads: first page with facets {statistics.median(firsts):7.0f} ms",
                flush=True,
            )
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ads", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--batch", type=int, default=500, help="ads per upsert (a crawl's PATROLI_STORE_BATCH_SIZE)"
    )
    parser.add_argument("--db", help="keep the store here (reused when it already holds the ads)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="patroli-sqlite-") as tmp:
        path = Path(args.db) if args.db else Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        with open_store(url) as store:
            have = store.count()
        if have < args.ads:
            seconds = fill(url, args.ads, args.batch, have)
            written = args.ads - have
            print(f"wrote {written} ads in {seconds:.0f} s = {written / seconds:.0f} ads/s")
        size = sum(f.stat().st_size for f in path.parent.glob(path.name + "*"))
        timings = latencies(url, args.repeats)
    cuts = statistics.quantiles(timings, n=100)
    print(
        f"store file {size / 1e9:.2f} GB; {len(timings)} requests over {len(QUERIES)} queries; load {os.getloadavg()[0]:.1f}"
    )
    print(f"search_p50_ms={cuts[49]:.1f} search_p95_ms={cuts[94]:.1f} max_ms={max(timings):.0f}")


if __name__ == "__main__":
    main()
