"""Read the text of an image with Tesseract (Debian's ``tesseract-ocr``, ``-ind``, ``-eng``) through
``pytesseract``, after light preprocessing.

Preprocessing modes (``PATROLI_OCR_PREPROCESS``): ``none``, ``gray``, ``gray_upscale`` (grayscale,
small images enlarged so that letters reach the height Tesseract reads best),
``gray_upscale_threshold`` (then Otsu's threshold, dark text on light). Tesseract runs with one
OpenMP thread. The default was chosen by
measuring the character error rate of each on rendered flyers and real text images
(bench/ocr_quality.py; docs/flyers.md has the numbers).

When Tesseract or a language is missing, ``tesseract_status`` says so; the crawl logs it once and
goes on without image text.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from PIL import Image, ImageOps

PREPROCESS_MODES = ("none", "gray", "gray_upscale", "gray_upscale_threshold")
UPSCALE_BELOW = 800  # longest side in pixels; smaller images (previews, thumbnails) are enlarged
UPSCALE_FACTOR = 2
MAX_OCR_CHARS = 5000
_SPACES = re.compile(r"[ \t\u00a0]+")
_HAS_WORD = re.compile(r"\w{2,}|\d")


class OcrUnavailable(Exception):
    """Tesseract cannot run here (not installed, or the languages are missing)."""


@dataclass(frozen=True, slots=True)
class TesseractStatus:
    available: bool
    languages: str  # the usable ones of those asked for, "+"-joined
    message: str  # why not, or what is missing, for the log (said once)


def tesseract_status(wanted: str) -> TesseractStatus:
    import pytesseract

    try:
        version = pytesseract.get_tesseract_version()
        installed = set(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractNotFoundError, OSError, RuntimeError) as exc:
        return TesseractStatus(
            False,
            "",
            f"Tesseract is not installed ({exc.__class__.__name__}): "
            "images are fetched and fingerprinted but not read; install "
            "tesseract-ocr tesseract-ocr-ind tesseract-ocr-eng",
        )
    asked = [lang for lang in wanted.split("+") if lang]
    usable = [lang for lang in asked if lang in installed]
    if not usable:
        return TesseractStatus(
            False,
            "",
            f"Tesseract {version} has none of the languages "
            f"{wanted!r} (installed: {', '.join(sorted(installed))}): images are "
            "not read; install tesseract-ocr-ind tesseract-ocr-eng",
        )
    missing = [lang for lang in asked if lang not in installed]
    note = f"Tesseract {version}, languages {'+'.join(usable)}"
    if missing:
        note += f" (missing: {', '.join(missing)}; install tesseract-ocr-{missing[0]})"
    return TesseractStatus(True, "+".join(usable), note)


def otsu_level(gray: Image.Image) -> int:
    """Otsu's threshold of a grayscale image (the level that best splits ink from paper)."""
    histogram = gray.histogram()[:256]
    total = sum(histogram)
    weighted_total = sum(i * h for i, h in enumerate(histogram))
    best_level, best_variance = 127, -1.0
    weight_bg = 0
    sum_bg = 0.0
    for level in range(256):
        weight_bg += histogram[level]
        if weight_bg == 0:
            continue
        weight_fg = total - weight_bg
        if weight_fg == 0:
            break
        sum_bg += level * histogram[level]
        mean_bg = sum_bg / weight_bg
        mean_fg = (weighted_total - sum_bg) / weight_fg
        variance = weight_bg * weight_fg * (mean_bg - mean_fg) ** 2
        if variance > best_variance:
            best_level, best_variance = level, variance
    return best_level


def prepare(image: Image.Image, mode: str) -> Image.Image:
    if mode not in PREPROCESS_MODES:
        raise ValueError(
            f"unknown OCR preprocessing {mode!r}; one of {', '.join(PREPROCESS_MODES)}"
        )
    if mode == "none":
        return image
    gray = ImageOps.grayscale(image)
    if mode in ("gray_upscale", "gray_upscale_threshold") and max(gray.size) < UPSCALE_BELOW:
        gray = gray.resize(
            (gray.size[0] * UPSCALE_FACTOR, gray.size[1] * UPSCALE_FACTOR),
            Image.Resampling.LANCZOS,
        )
    if mode == "gray_upscale_threshold":
        level = otsu_level(gray)
        binary = gray.point(lambda v: 255 if v > level else 0)
        # Mostly dark after thresholding: light text on a dark flyer; Tesseract wants dark on light.
        if sum(binary.histogram()[:128]) > sum(binary.histogram()[128:]):
            binary = ImageOps.invert(binary)
        return binary
    return gray


def clean_ocr_text(raw: str) -> str:
    """Lines that hold a word or a digit, spaces squeezed; bounded."""
    lines = (_SPACES.sub(" ", line).strip() for line in raw.replace("\r", "\n").split("\n"))
    kept = [line for line in lines if _HAS_WORD.search(line)]
    return "\n".join(kept)[:MAX_OCR_CHARS]


# Below this mean word confidence a reading may be of mirrored text (a flipped repost): the mirror
# image is read too and the more confident reading kept.
MIRROR_RETRY_CONFIDENCE = 70.0


def _reading(image: Image.Image, languages: str, timeout: float) -> tuple[str, float]:
    """(text by lines, mean word confidence) of one Tesseract pass."""
    import pytesseract

    # One thread per Tesseract: the worker pool already spreads images over the cores, and OpenMP
    # threads only contend there (bench/ocr_throughput.py: about twice as fast per image on 2 cores).
    os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        data = pytesseract.image_to_data(
            image,
            lang=languages,
            config="--psm 3",
            timeout=timeout,
            output_type=pytesseract.Output.DICT,
        )
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrUnavailable(str(exc)) from exc
    except RuntimeError as exc:  # pytesseract reports its timeout as RuntimeError
        if "timeout" in str(exc).lower():
            raise TimeoutError(f"OCR took longer than {timeout} s") from exc
        raise
    lines: dict[tuple[int, int, int], list[str]] = {}
    confidences = []
    for i, word in enumerate(data["text"]):
        if not word.strip():
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        lines.setdefault(key, []).append(word)
        confidences.append(float(data["conf"][i]))
    text = "\n".join(" ".join(words) for _, words in sorted(lines.items()))
    return text, (sum(confidences) / len(confidences) if confidences else 0.0)


def read_text(image: Image.Image, languages: str, mode: str, timeout: float) -> str:
    """The cleaned text Tesseract reads in ``image``; raise ``OcrUnavailable`` or ``TimeoutError``.

    A reading with words but low confidence is tried again on the mirror image: recruiters flip
    flyers to dodge image matching, and mirrored letters read as noise."""
    prepared = prepare(image, mode)
    text, confidence = _reading(prepared, languages, timeout)
    if text and confidence < MIRROR_RETRY_CONFIDENCE:
        mirrored, mirrored_confidence = _reading(ImageOps.mirror(prepared), languages, timeout)
        if mirrored_confidence > confidence:
            text = mirrored
    return clean_ocr_text(text)
