"""What the pipeline costs a crawl: full pipeline vs. bare spiders over the same demo pages, one run.

Starts the demo sites once, then crawls all demo sources alternately with the full pipeline
(normalize, extract, dedupe, classify, store into a fresh SQLite file) and with no pipelines at all,
``--rounds`` times each, in fresh processes (a Twisted reactor runs once per process). Pages per
second come from Scrapy's own stats (first start to last finish of the concurrent crawlers).

    .venv/bin/python bench/crawl_overhead.py [--rounds 3]

Prints each measurement and ``ratio=<pipeline pages/s ÷ bare pages/s>`` (target >= 0.8), and
``cpu_ratio=`` the same in pages per CPU-second of the crawl (its process and its worker processes):
on a machine shared with other jobs the wall-clock ratio swings from round to round; the CPU
ratio says what the pipeline costs whatever the load.

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
    .venv/bin/python bench/crawl_overhead.py --bench-ads 3000 [--latency 0.05]

crawls the bench site instead (``patroli/demosites/bench.py``: N generated ads, each answer delayed
by ``--latency`` seconds): the demo crawl lasts a few seconds, so the pipeline's fixed start-up
(its worker process, the model) weighs on it; a longer crawl shows the cost per page, and a
latency-bound one the cost a real crawl sees. ``--no-classify-too`` adds crawls with the pipeline
but no scoring and prints the CPU-milliseconds per page of each, and scoring's share of the cost.
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


MODES = ("full", "noclassify", "bare", "noimages", "nowarc")


def measure_once(
    mode: str,
    demo_url: str,
    store_url: str,
    batch_delay: str | None = None,
    images_dir: str | None = None,
    registry: str | None = None,
) -> dict[str, float]:
    """Run in a child process: one patrol over every demo source (or every source of
    ``registry``), return pages, items, seconds."""
    os.environ["PATROLI_DEMO_URL"] = demo_url
    if registry:
        os.environ["PATROLI_SOURCES"] = registry
    scratch = Path(store_url.removeprefix("sqlite:///"))  # evidence and spool beside it, never var/
    os.environ["PATROLI_EVIDENCE_DIR"] = str(scratch.with_suffix(".evidence"))
    if mode == "nowarc":
        os.environ["PATROLI_WARC_ENABLED"] = "0"
    from crawler.sources import load_registry
    from patroli.patrol.runner import project_settings, run_patrol

    sources = [s for s in load_registry().enabled if registry or s.name.startswith("demo_")]
    overrides: dict[str, object] = {
        "PATROLI_STORE_URL": store_url,
        "PATROLI_SPOOL_DIR": str(scratch.with_suffix(".spool")),
        "LOG_LEVEL": "WARNING",
    }
    if mode == "noclassify":
        overrides["PATROLI_CLASSIFY_ENABLED"] = False
    if mode == "bare":
        overrides["ITEM_PIPELINES"] = {}
    if mode == "noimages":
        overrides["PATROLI_IMAGES_ENABLED"] = False
    # Never the checkout's var/images: each measurement says where its images go.
    overrides["PATROLI_IMAGES_DIR"] = images_dir or tempfile.mkdtemp(prefix="patroli-bench-images-")
    if batch_delay is not None:
        overrides["PATROLI_BATCH_DELAY"] = batch_delay
    cpu_before = _cpu_seconds()
    runs = run_patrol(sources, settings=project_settings(overrides))
    cpu = _cpu_seconds() - cpu_before
    starts = [datetime.fromisoformat(r.started_at) for r in runs]
    ends = [datetime.fromisoformat(r.finished_at) for r in runs]
    seconds = (max(ends) - min(starts)).total_seconds()
    pages = sum(r.pages for r in runs)
    return {
        "pages": pages,
        "items": sum(r.items for r in runs),
        "seconds": seconds,
        "pages_per_s": pages / seconds,
        "cpu_seconds": cpu,
        "pages_per_cpu_s": pages / cpu,
    }


def _cpu_seconds() -> float:
    """CPU time of this process and its (finished) worker processes."""
    import resource

    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_child(
    mode: str,
    demo_url: str,
    directory: Path,
    index: int,
    batch_delay: str | None = None,
    images_dir: Path | None = None,
    registry: Path | None = None,
) -> dict[str, float]:
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
    if registry is not None:
        command += ["--registry", str(registry)]
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
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--images-dir", help=argparse.SUPPRESS)
    parser.add_argument("--images", action="store_true", help="compare images on and off")
    parser.add_argument("--demo-url", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--batch-delay", help=argparse.SUPPRESS)
    parser.add_argument("--registry", help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-classify-too",
        action="store_true",
        help="also crawl with the pipeline but no scoring, to tell scoring's share of the cost",
    )
    parser.add_argument(
        "--bench-ads", type=int, default=0, help="crawl the bench site of this many ads instead"
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, help="the bench site's delay per answer (seconds)"
    )
    parser.add_argument(
        "--batch-delays", help="compare these PATROLI_BATCH_DELAY values (seconds, comma-separated)"
    )
    parser.add_argument(
        "--warc", action="store_true", help="compare the full pipeline with WARC writing on and off"
    )
    args = parser.parse_args()
    if args.child:
        print(
            json.dumps(
                measure_once(
                    args.child,
                    args.demo_url,
                    args.store,
                    args.batch_delay,
                    args.images_dir,
                    args.registry,
                )
            )
        )
        return

    from patroli.demosites.bench import bench_registry
    from patroli.demosites.process import DemoSitesProcess

    if args.batch_delays:
        compare_batch_delays(args.batch_delays.split(","), args.rounds)
        return
    if args.images:
        compare_images(args.rounds)
    elif args.warc:
        compare_warc(args.rounds)
        return

    modes = MODES if args.no_classify_too else ("full", "bare")
    results: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    sites_process = DemoSitesProcess(port=0, bench_ads=args.bench_ads, latency=args.latency)
    with sites_process as sites, tempfile.TemporaryDirectory() as tmp:
        registry = None
        if args.bench_ads:
            registry = Path(tmp) / "bench.yaml"
            registry.write_text(bench_registry(sites.url, args.bench_ads))
            print(f"bench site: {args.bench_ads} ads, latency {args.latency} s", flush=True)
        run_child(
            "bare", sites.url, Path(tmp), -1, registry=registry
        )  # warm-up: OS caches, imports
        for index in range(args.rounds):
            for mode in modes:
                result = run_child(mode, sites.url, Path(tmp), index, registry=registry)
                results[mode].append(result)
                print(
                    f"{mode:4} round {index + 1}: {result['pages']:.0f} pages, {result['items']:.0f} ads, "
                    f"{result['seconds']:.2f} s, {result['pages_per_s']:.1f} pages/s, "
                    f"{result['cpu_seconds']:.2f} CPU-s (load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
    full = statistics.median(r["pages_per_s"] for r in results["full"])
    bare = statistics.median(r["pages_per_s"] for r in results["bare"])
    full_cpu = statistics.median(r["pages_per_cpu_s"] for r in results["full"])
    bare_cpu = statistics.median(r["pages_per_cpu_s"] for r in results["bare"])
    print(f"median pages/s: full pipeline {full:.1f}, bare spiders {bare:.1f}")
    print(f"median pages per CPU-second: full pipeline {full_cpu:.1f}, bare spiders {bare_cpu:.1f}")
    print(f"ratio={full / bare:.2f} (target >= 0.8) cpu_ratio={full_cpu / bare_cpu:.2f}")
    if args.no_classify_too:
        pages = statistics.median(r["pages"] for r in results["full"])
        cost = {
            m: statistics.median(r["cpu_seconds"] for r in results[m]) * 1000 / pages for m in modes
        }
        print(
            f"CPU-ms per page: bare {cost['bare']:.2f}, pipeline without scoring "
            f"{cost['noclassify']:.2f}, full {cost['full']:.2f}; scoring's share of the "
            f"pipeline's cost {(cost['full'] - cost['noclassify']) / (cost['full'] - cost['bare']):.2f}"
        )


def compare_images(rounds: int) -> None:
    from patroli.demosites.process import DemoSitesProcess

    results: dict[str, list[dict[str, float]]] = {"images": [], "noimages": [], "rerun": []}
    with DemoSitesProcess(port=0) as sites, tempfile.TemporaryDirectory() as tmp:
        run_child("noimages", sites.url, Path(tmp), -1)  # warm-up
        for index in range(rounds):
            filled = Path(tmp) / f"images-images-{index}"
            for mode in ("images", "noimages", "rerun"):
                result = run_child(
                    mode,
                    sites.url,
                    Path(tmp),
                    index,
                    images_dir=filled if mode == "rerun" else None,
                )
                results[mode].append(result)
                print(
                    f"{mode:8} round {index + 1}: {result['pages']:.0f} pages, {result['items']:.0f} ads, "
                    f"{result['seconds']:.2f} s, {result['pages_per_s']:.1f} pages/s"
                )
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
                print(
                    f"warc {'on ' if mode == 'full' else 'off'} round {index + 1}: {result['pages']:.0f} pages, "
                    f"{result['seconds']:.2f} s, {result['pages_per_s']:.1f} pages/s, "
                    f"{result['pages_per_cpu_s']:.1f} pages/CPU-s, WARC {result['warc_bytes'] / 1e6:.2f} MB"
                )
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
                print(
                    f"delay {delay:>6} s round {index + 1}: {result['pages']:.0f} pages, "
                    f"{result['seconds']:.2f} s, {result['pages_per_s']:.1f} pages/s"
                )
    first = statistics.median(results[delays[0]])
    for delay in delays:
        median = statistics.median(results[delay])
        print(f"delay {delay} s: median {median:.1f} pages/s, ratio={median / first:.2f}")


if __name__ == "__main__":
    main()
