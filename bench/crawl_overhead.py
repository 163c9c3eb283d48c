"""What the pipeline costs a crawl: full pipeline vs. bare spiders over the same demo pages, one run.

Starts the demo sites once, then crawls all demo sources alternately with the full pipeline
(normalize, extract, dedupe, classify, store into a fresh SQLite file) and with no pipelines at all,
``--rounds`` times each, in fresh processes (a Twisted reactor runs once per process). Pages per
second come from Scrapy's own stats (first start to last finish of the concurrent crawlers).

    .venv/bin/python bench/crawl_overhead.py [--rounds 3]

Prints each measurement and ``ratio=<pipeline pages/s ÷ bare pages/s>`` (target >= 0.8).

    .venv/bin/python bench/crawl_overhead.py --batch-delays 0,0.005,0.1

compares the full pipeline with each ``PATROLI_BATCH_DELAY`` instead (alternating, same run) and
prints each one's pages/s as a ratio to the first.

    .venv/bin/python bench/crawl_overhead.py --images [--rounds 3]

compares the full pipeline with images on (a fresh image directory each round: every image
downloaded, checked, fingerprinted and read by Tesseract in the worker pool) and off
(``PATROLI_IMAGES_ENABLED=false``), alternating, and prints ``images_ratio=<on ÷ off pages/s>``;
``rerun`` is images on over a directory a previous round filled (a nightly re-crawl: images kept
by content are neither fetched nor read again).

    .venv/bin/python bench/crawl_overhead.py --warc [--rounds 3]

compares the full pipeline with WARC writing on (every response archived as sent, the default)
and off (``PATROLI_WARC_ENABLED=0``), alternating in one run, and prints pages/s and pages per
CPU-second of each and ``warc_ratio=<on ÷ off>`` for both. Every mode writes its evidence and its
spool into a temporary folder, never the checkout's ``var/``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def measure_once(
    mode: str, demo_url: str, store_url: str, batch_delay: str | None = None,
    images_dir: str | None = None,
) -> dict[str, float]:  # fmt: skip
    """Run in a child process: one patrol over every demo source, return pages, items, seconds."""
    os.environ["PATROLI_DEMO_URL"] = demo_url
    scratch = Path(store_url.removeprefix("sqlite:///"))
    os.environ["PATROLI_EVIDENCE_DIR"] = str(scratch.with_suffix(".evidence"))
    if mode == "nowarc":
        os.environ["PATROLI_WARC_ENABLED"] = "0"
    from crawler.sources import load_registry
    from patroli.patrol.runner import project_settings, run_patrol

    sources = [s for s in load_registry().enabled if s.name.startswith("demo_")]
    overrides: dict[str, object] = {"PATROLI_STORE_URL": store_url, "LOG_LEVEL": "WARNING",
                                    "PATROLI_SPOOL_DIR": str(scratch.with_suffix(".spool"))}  # fmt: skip
    if mode == "bare":
        overrides["ITEM_PIPELINES"] = {}
    if mode == "noimages":
        overrides["PATROLI_IMAGES_ENABLED"] = False
    # Never the checkout's var/images: each measurement says where its images go.
    overrides["PATROLI_IMAGES_DIR"] = images_dir or tempfile.mkdtemp(prefix="patroli-bench-images-")
    if batch_delay is not None:
        overrides["PATROLI_BATCH_DELAY"] = batch_delay
    runs = run_patrol(sources, settings=project_settings(overrides))
    starts = [datetime.fromisoformat(r.started_at) for r in runs]
    ends = [datetime.fromisoformat(r.finished_at) for r in runs]
    seconds = (max(ends) - min(starts)).total_seconds()
    pages = sum(r.pages for r in runs)
    return {
        "pages": pages,
        "items": sum(r.items for r in runs),
        "seconds": seconds,
        "pages_per_s": pages / seconds,
    }


def run_child(
    mode: str, demo_url: str, directory: Path, index: int, batch_delay: str | None = None,
    images_dir: Path | None = None,
) -> dict[str, float]:  # fmt: skip
    store = f"sqlite:///{directory / f'{mode}-{index}-{batch_delay}.db'}"
    child_mode = "full" if mode in ("images", "rerun") else mode
    command = [
        sys.executable,
        __file__,
        "--child",
        child_mode,
        "--demo-url",
        demo_url,
        "--store",
        store,
    ]
    if batch_delay is not None:
        command += ["--batch-delay", batch_delay]
    command += ["--images-dir", str(images_dir or directory / f"images-{mode}-{index}")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result: dict[str, float] = json.loads(output.stdout.strip().splitlines()[-1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["cpu_seconds"] = cpu
    result["pages_per_cpu_s"] = result["pages"] / cpu if cpu else 0.0
    warc = directory / f"{mode}-{index}-{batch_delay}.evidence" / "warc"
    result["warc_bytes"] = (
        float(sum(p.stat().st_size for p in warc.rglob("*.warc.gz"))) if warc.is_dir() else 0.0
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--child", choices=["full", "bare", "noimages", "nowarc"], help=argparse.SUPPRESS
    )
    parser.add_argument("--images-dir", help=argparse.SUPPRESS)
    parser.add_argument("--images", action="store_true", help="compare images on and off")
    parser.add_argument("--demo-url", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--batch-delay", help=argparse.SUPPRESS)
    parser.add_argument(
        "--batch-delays", help="compare these PATROLI_BATCH_DELAY values (seconds, comma-separated)"
    )
    parser.add_argument(
        "--warc", action="store_true", help="compare the full pipeline with WARC writing on and off"
    )
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_once(args.child, args.demo_url, args.store, args.batch_delay,
                                      args.images_dir)))  # fmt: skip
        return

    from patroli.demosites.process import DemoSitesProcess

    if args.batch_delays:
        compare_batch_delays(args.batch_delays.split(","), args.rounds)
        return
    if args.images:
        compare_images(args.rounds)
    elif args.warc:
        compare_warc(args.rounds)
        return

    results: dict[str, list[dict[str, float]]] = {"full": [], "bare": []}
    with DemoSitesProcess(port=0) as sites, tempfile.TemporaryDirectory() as tmp:
        run_child("bare", sites.url, Path(tmp), -1)  # warm-up: OS caches, first-import costs
        for index in range(args.rounds):
            for mode in ("full", "bare"):
                result = run_child(mode, sites.url, Path(tmp), index)
                results[mode].append(result)
                print(f"{mode:4} round {index + 1}: {result['pages']:.0f} pages, {result['items']:.0f} ads, "
                      f"{result['seconds']:.2f} s, {result['pages_per_s']:.1f} pages/s")  # fmt: skip
    full = statistics.median(r["pages_per_s"] for r in results["full"])
    bare = statistics.median(r["pages_per_s"] for r in results["bare"])
    print(f"median pages/s: full pipeline {full:.1f}, bare spiders {bare:.1f}")
    print(f"ratio={full / bare:.2f}")


def compare_images(rounds: int) -> None:
    from patroli.demosites.process import DemoSitesProcess

    results: dict[str, list[dict[str, float]]] = {"images": [], "noimages": [], "rerun": []}
    with DemoSitesProcess(port=0) as sites, tempfile.TemporaryDirectory() as tmp:
        run_child("noimages", sites.url, Path(tmp), -1)  # warm-up
        for index in range(rounds):
            filled = Path(tmp) / f"images-images-{index}"
            for mode in ("images", "noimages", "rerun"):
                result = run_child(mode, sites.url, Path(tmp), index,
                                   images_dir=filled if mode == "rerun" else None)  # fmt: skip
                results[mode].append(result)
                print(f"{mode:8} round {index + 1}: {result['pages']:.0f} pages, {result['items']:.0f} ads, "
                      f"{result['seconds']:.2f} s, {result['pages_per_s']:.1f} pages/s")  # fmt: skip
    medians = {m: statistics.median(r["pages_per_s"] for r in rs) for m, rs in results.items()}
    print(
        f"median pages/s: images on {medians['images']:.1f}, off {medians['noimages']:.1f}, "
        f"re-crawl with images kept {medians['rerun']:.1f}"
    )
    print(f"images_ratio={medians['images'] / medians['noimages']:.2f}")
    print(f"rerun_ratio={medians['rerun'] / medians['noimages']:.2f}")


def compare_warc(rounds: int) -> None:
    """The full pipeline with WARC writing on (``full``) and off (``nowarc``), alternating."""
    from patroli.demosites.process import DemoSitesProcess

    results: dict[str, list[dict[str, float]]] = {"full": [], "nowarc": []}
    with DemoSitesProcess(port=0) as sites, tempfile.TemporaryDirectory() as tmp:
        run_child("nowarc", sites.url, Path(tmp), -1)  # warm-up
        for index in range(rounds):
            for mode in ("full", "nowarc"):
                result = run_child(mode, sites.url, Path(tmp), index)
                results[mode].append(result)
                print(f"warc {'on ' if mode == 'full' else 'off'} round {index + 1}: {result['pages']:.0f} pages, "
                      f"{result['seconds']:.2f} s, {result['pages_per_s']:.1f} pages/s, "
                      f"{result['pages_per_cpu_s']:.1f} pages/CPU-s, WARC {result['warc_bytes'] / 1e6:.2f} MB")  # fmt: skip
    on, off = results["full"], results["nowarc"]
    wall = statistics.median(r["pages_per_s"] for r in on) / statistics.median(
        r["pages_per_s"] for r in off
    )
    cpu = statistics.median(r["pages_per_cpu_s"] for r in on) / statistics.median(
        r["pages_per_cpu_s"] for r in off
    )
    print(
        f"median WARC per page: {statistics.median(r['warc_bytes'] / r['pages'] for r in on) / 1e3:.1f} kB"
    )
    print(
        f"warc_ratio={wall:.2f} (pages/s, on ÷ off); warc_cpu_ratio={cpu:.2f} (pages per CPU-second)"
    )


def compare_batch_delays(delays: list[str], rounds: int) -> None:
    from patroli.demosites.process import DemoSitesProcess

    results: dict[str, list[float]] = {delay: [] for delay in delays}
    with DemoSitesProcess(port=0) as sites, tempfile.TemporaryDirectory() as tmp:
        run_child("full", sites.url, Path(tmp), -1)  # warm-up
        for index in range(rounds):
            for delay in delays:
                result = run_child("full", sites.url, Path(tmp), index, delay)
                results[delay].append(result["pages_per_s"])
                print(f"delay {delay:>6} s round {index + 1}: {result['pages']:.0f} pages, "
                      f"{result['seconds']:.2f} s, {result['pages_per_s']:.1f} pages/s")  # fmt: skip
    first = statistics.median(results[delays[0]])
    for delay in delays:
        median = statistics.median(results[delay])
        print(f"delay {delay} s: median {median:.1f} pages/s, ratio={median / first:.2f}")


if __name__ == "__main__":
    main()
