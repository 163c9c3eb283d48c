"""OCR quality: character error rate (CER) of each preprocessing mode, on rendered flyers with
known text and on real text images with their ground truth.

Rendered: the demo flyers (``patroli/demosites/data/flyers.jsonl``) in every variation the demo
reposts; the reference is the printed text without the decorative symbols (✈ ★ ✔ ☎ •), which
are not letters. Real: ``--real DIR`` reads every image in DIR that has a ``<stem>.txt`` ground
truth beside it (for instance the test images of the tesseract-ocr/test repository: not shipped
with patroli; the run prints each file's SHA-256 for provenance).

    .venv/bin/python bench/ocr_quality.py [--real DIR] [--modes none,gray,...]

CER = edit distance / reference length, after lower-casing and squeezing whitespace
(``patroli.images.quality``). Lower is better.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image

from patroli.demosites import flyers
from patroli.demosites.data import load_demo_data
from patroli.images.decode import open_bounded, to_rgb
from patroli.images.ocr import PREPROCESS_MODES, read_text
from patroli.images.quality import character_error_rate

SYMBOLS = re.compile("[✈★✔☎•]")
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".webp", ".gif")


def rendered_set() -> list[tuple[str, Image.Image, str]]:
    data = load_demo_data()
    key = flyers.register(data.flyers)
    cases = []
    for flyer in data.flyers:
        reference = SYMBOLS.sub("", flyers.flyer_text(flyer))
        for variant in flyers.VARIANTS:
            _kind, image = open_bounded(flyers.flyer_bytes(flyer["id"], variant, key), 25_000_000)
            cases.append((f"{flyer['id']}-{variant}", image, reference))
    return cases


def real_set(directory: Path) -> list[tuple[str, Image.Image, str]]:
    cases = []
    for path in sorted(directory.iterdir()):
        truth = path.with_suffix(".txt")
        if path.suffix.lower() not in IMAGE_SUFFIXES or not truth.exists():
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(
            f"  real image {path.name} sha256 {digest} (truth {truth.name} sha256 "
            f"{hashlib.sha256(truth.read_bytes()).hexdigest()})"
        )
        with Image.open(path) as image:
            image.seek(0)
            cases.append((path.name, to_rgb(image.copy()), truth.read_text("utf-8", "replace")))
    return cases


def measure(
    cases: list[tuple[str, Image.Image, str]], modes: list[str], languages: str
) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    for mode in modes:
        started = time.monotonic()
        rates = [
            character_error_rate(ref, read_text(image, languages, mode, 120))
            for _, image, ref in cases
        ]
        seconds = (time.monotonic() - started) / len(cases)
        results[mode] = rates
        print(
            f"  {mode:24} CER mean {statistics.mean(rates):.4f} median {statistics.median(rates):.4f} "
            f"max {max(rates):.4f}  ({seconds:.2f} s per image)"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--real", type=Path, help="a directory of images with <stem>.txt ground truth"
    )
    parser.add_argument("--modes", default=",".join(PREPROCESS_MODES))
    parser.add_argument("--languages", default="ind+eng")
    args = parser.parse_args()
    modes = args.modes.split(",")
    cases = rendered_set()
    print(f"rendered flyers: {len(cases)} images ({args.languages})")
    results = measure(cases, modes, args.languages)
    best = min(modes, key=lambda m: statistics.mean(results[m]))
    by_variant: dict[str, list[float]] = {}
    for (name, _, _), rate in zip(cases, results[best], strict=True):
        by_variant.setdefault(name.split("-", 1)[1], []).append(rate)
    print(
        f"  per variation ({best}): "
        + ", ".join(f"{v} {statistics.mean(r):.3f}" for v, r in by_variant.items())
    )
    if args.real:
        real = real_set(args.real)
        for languages in dict.fromkeys(("eng", args.languages)):
            print(f"real text images: {len(real)} ({languages})")
            measure(real, modes, languages)


if __name__ == "__main__":
    main()
