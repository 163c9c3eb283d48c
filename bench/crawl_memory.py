"""Memory of one crawl worker over a 100k-page crawl: peak RSS and growth per 10k pages, one run.

Starts the bench site (``patroli/demosites/bench.py``, N generated ads, no added latency) and
crawls all of it with one ``patroli crawl`` through the full pipeline (normalize, extract, dedupe,
classify, store into a fresh SQLite file; ``PATROLI_WORKERS=0``: extraction and scoring in the
crawl's own process, so its RSS is the whole worker). Every second it reads the crawl's RSS
(``/proc/PID/status``) and the pages served so far; then prints RSS at each 10k pages, the peak,
and the growth per 10k pages (least squares over the samples past the first 10k pages, when
caches and the model are warm).

    .venv/bin/python bench/crawl_memory.py [--ads 100000]

Targets: ``peak_rss_mb <= 500``; growth per 10k pages small and flat (no per-crawl set that grows
with every ad).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patroli.demosites.bench import bench_registry
from patroli.demosites.process import DemoSitesProcess

PATROLI = Path(sys.executable).parent / "patroli"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pages_served(url: str) -> int:
    with urllib.request.urlopen(f"{url}/__demo__/faults", timeout=5) as response:  # noqa: S310 - loopback
        return int(json.loads(response.read())["hits"].get("bench", 0))


def slope(points: list[tuple[int, float]]) -> float:
    """MB per 10k pages, least squares."""
    n = len(points)
    mean_x = sum(p for p, _ in points) / n
    mean_y = sum(r for _, r in points) / n
    var = sum((p - mean_x) ** 2 for p, _ in points)
    return 10_000 * sum((p - mean_x) * (r - mean_y) for p, r in points) / var if var else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ads", type=int, default=100_000)
    parser.add_argument("--no-classify", action="store_true")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="patroli-mem-") as directory,
        DemoSitesProcess(port=0, bench_ads=args.ads) as sites,
    ):
        tmp = Path(directory)
        registry = tmp / "bench.yaml"
        registry.write_text(bench_registry(sites.url, args.ads))
        env = {
            **os.environ,
            "PATROLI_WORKERS": "0",
            "PATROLI_SPOOL_DIR": str(tmp / "spool"),
            "PATROLI_LOCK_DIR": str(tmp / "locks"),
            "PATROLI_JOBS_DIR": str(tmp / "jobs"),
            "PATROLI_MODEL_DIR": str(tmp / "models"),
        }
        command = [
            str(PATROLI),
            "crawl",
            "bench_classifieds",
            "--sources",
            str(registry),
            "--store",
            f"sqlite:///{tmp / 'bench.db'}",
            "--summary-json",
            str(tmp / "summary.json"),
        ]
        if args.no_classify:
            command.append("--no-classify")
        started = time.monotonic()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=(tmp / "log").open("wb")
        )
        samples: list[tuple[int, float]] = []
        next_mark = 10_000
        while process.poll() is None:
            time.sleep(1)
            try:
                point = (pages_served(sites.url), rss_mb(process.pid))
            except (OSError, ValueError):
                continue
            samples.append(point)
            if point[0] >= next_mark:
                print(
                    f"{point[0]:>7} pages: RSS {point[1]:6.1f} MB ({time.monotonic() - started:.0f} s, "
                    f"load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
                next_mark += 10_000
        run = json.loads((tmp / "summary.json").read_text())[0]
    peak = max(r for _, r in samples)
    warm = [p for p in samples if p[0] >= 10_000]
    print(
        f"crawl: {run['pages']} pages, {run['items']} ads, status {run['status']}, {time.monotonic() - started:.0f} s"
    )
    print(
        f"peak_rss_mb={peak:.0f} (target <= 500) growth_per_10k_pages_mb={slope(warm) if len(warm) > 2 else 0:.1f}"
    )


if __name__ == "__main__":
    main()
