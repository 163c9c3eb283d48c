"""Workers on one Redis frontier: 1 vs 2 vs 4 workers on the latency-bound bench site, one run.

Starts the bench site (``patroli/demosites/bench.py``: N generated ads, every answer delayed by
``--latency`` seconds, as a real site's round trip is) and a redis-server (Debian's, on a free
port), then crawls the whole site with 1, 2 and 4 ``patroli crawl --frontier`` workers, the
worker counts alternating round by round so that a busy machine slows them alike. Each worker
has ``CONCURRENT_REQUESTS=--concurrency``; the site's politeness budget (32 requests at once,
shared through Redis) is above what 2 workers ask. Pages/s is the run's pages over its duration
(the earliest worker start to the latest worker finish, from the one run record).

    .venv/bin/python bench/frontier_scaling.py [--ads 3000] [--latency 0.25] [--rounds 2]

Prints each run and ``ratio_2v1=`` (target >= 1.7) and ``ratio_4v1=`` (medians over rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patroli.demosites.bench import bench_registry
from patroli.demosites.process import DemoSitesProcess
from tests.helpers.redis import RedisProcess

PATROLI = Path(sys.executable).parent / "patroli"


def crawl(
    workers: int, url: str, frontier: str, registry: Path, tmp: Path, args: argparse.Namespace
) -> dict[str, float]:
    prefix = f"b{uuid.uuid4().hex[:8]}"
    store = f"sqlite:///{tmp / f'{prefix}.db'}"
    env = {
        **os.environ,
        "PATROLI_FRONTIER_PREFIX": prefix,
        "PATROLI_WORKERS": "0",
        "PATROLI_SPOOL_DIR": str(tmp / "spool"),
        "PATROLI_MODEL_DIR": str(tmp / "models"),
    }
    command = [
        str(PATROLI),
        "crawl",
        "bench_classifieds",
        "--sources",
        str(registry),
        "--store",
        store,
        "--frontier",
        frontier,
        "-s",
        f"CONCURRENT_REQUESTS={args.concurrency}",
    ]
    if not args.classify:
        command.append("--no-classify")
    processes = []
    for number in range(workers):
        summary = tmp / f"{prefix}-{number}.json"
        log = (tmp / f"{prefix}-{number}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [*command, "--summary-json", str(summary)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        log.close()
    for process in processes:
        process.wait()
    runs = json.loads((tmp / f"{prefix}-0.json").read_text())
    run = runs[0]
    seconds = (
        datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])
    ).total_seconds()
    return {
        "pages": run["pages"],
        "ads": run["items"],
        "seconds": seconds,
        "pages_per_s": run["pages"] / seconds,
        "workers_recorded": run["stats"]["patroli/run/workers"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ads", type=int, default=3000)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--concurrency", type=int, default=8, help="CONCURRENT_REQUESTS per worker")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--classify", action="store_true", help="also score ads (default: --no-classify)"
    )
    args = parser.parse_args()
    results: dict[int, list[float]] = {1: [], 2: [], 4: []}
    with tempfile.TemporaryDirectory(prefix="patroli-scale-") as directory:
        tmp = Path(directory)
        with (
            RedisProcess(tmp / "redis") as redis,
            DemoSitesProcess(port=0, bench_ads=args.ads, latency=args.latency) as sites,
        ):
            registry = tmp / "bench.yaml"
            registry.write_text(bench_registry(sites.url, args.ads))
            print(
                f"bench site: {args.ads} ads, latency {args.latency} s; {os.cpu_count()} CPUs, "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            for round_no in range(args.rounds):
                order = (1, 2, 4) if round_no % 2 == 0 else (4, 2, 1)
                for workers in order:
                    started = time.monotonic()
                    result = crawl(workers, sites.url, redis.url, registry, tmp, args)
                    results[workers].append(result["pages_per_s"])
                    print(
                        f"round {round_no + 1} {workers} worker(s): {result['pages']:.0f} pages, "
                        f"{result['ads']:.0f} ads in {result['seconds']:.1f} s = {result['pages_per_s']:.1f} pages/s "
                        f"(run record counts {result['workers_recorded']:.0f} workers; wall {time.monotonic() - started:.0f} s, "
                        f"load {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
    medians = {k: statistics.median(v) for k, v in results.items()}
    print(
        f"median pages/s: 1 worker {medians[1]:.1f}, 2 workers {medians[2]:.1f}, 4 workers {medians[4]:.1f}"
    )
    print(
        f"ratio_2v1={medians[2] / medians[1]:.2f} (target >= 1.7) ratio_4v1={medians[4] / medians[1]:.2f}"
    )


if __name__ == "__main__":
    main()
