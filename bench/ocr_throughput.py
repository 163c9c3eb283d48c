"""Images read per second per core: the whole per-image job of the crawl's worker (decode within
the caps, pHash/dHash and their mirror's, Tesseract with the shipped preprocessing), one image at a
time in one process with Tesseract held to one thread (``OMP_THREAD_LIMIT=1``), over the demo's
flyers in every variation and its stock photos (text-free, as most photos are).

    .venv/bin/python bench/ocr_throughput.py [--rounds 3]

Prints images/s per core for flyers, for photos, and for the mix a demo crawl meets, and the
share of the time Tesseract takes (the rest is decoding and hashing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ["OMP_THREAD_LIMIT"] = "1"  # one core: Tesseract would otherwise use OpenMP threads
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patroli.config.table import PATROLI_OCR_PREPROCESS
from patroli.demosites import flyers
from patroli.demosites.data import load_demo_data
from patroli.images.inspect import inspect_image


def images() -> tuple[list[bytes], list[bytes]]:
    data = load_demo_data()
    key = flyers.register(data.flyers)
    flyer_images = [
        flyers.flyer_bytes(f["id"], v, key) for f in data.flyers for v in flyers.VARIANTS
    ]
    photos = [flyers.stock_photo(f"photo-bench-{i}") for i in range(20)]
    return flyer_images, photos


def rate(batch: list[bytes], languages: str) -> float:
    mode = PATROLI_OCR_PREPROCESS.default_value()
    started = time.monotonic()
    for data in batch:
        facts = inspect_image(data, max_pixels=25_000_000, ocr_languages=languages, ocr_mode=mode)
        if not facts["ok"]:
            raise SystemExit(f"not read: {facts}")
    return len(batch) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    flyer_images, photos = images()
    results: dict[str, list[float]] = {"flyers": [], "photos": [], "no_ocr": []}
    for index in range(args.rounds):
        results["flyers"].append(rate(flyer_images, "ind+eng"))
        results["photos"].append(rate(photos, "ind+eng"))
        results["no_ocr"].append(rate(flyer_images, ""))
        print(
            f"round {index + 1}: flyers {results['flyers'][-1]:.2f}/s, photos {results['photos'][-1]:.2f}/s, "
            f"flyers without OCR {results['no_ocr'][-1]:.1f}/s"
        )
    flyer_rate = statistics.median(results["flyers"])
    photo_rate = statistics.median(results["photos"])
    # The demo crawl's mix: 12 flyer reposts, 51 photos, 1 placeholder per full patrol.
    mix = 63 / (12 / flyer_rate + 51 / photo_rate)
    print(
        f"images read per second per core: flyers {flyer_rate:.2f}, photos {photo_rate:.2f}, "
        f"demo mix {mix:.2f}"
    )
    print(
        f"tesseract_share={1 - flyer_rate / statistics.median(results['no_ocr']):.2f} of the time per flyer"
    )


if __name__ == "__main__":
    main()
