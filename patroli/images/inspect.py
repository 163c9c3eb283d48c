"""One image's whole check, as a pure function to run in a worker process: decode within the
caps, fingerprint, read the text. Returns a plain dict (picklable, JSON-ready)."""

from __future__ import annotations

from typing import Any

from patroli.images.decode import ImageRefused, open_bounded
from patroli.images.fingerprint import fingerprint
from patroli.images.ocr import OcrUnavailable, read_text


def inspect_image(
    data: bytes,
    *,
    max_pixels: int,
    ocr_languages: str = "",
    ocr_mode: str = "gray_upscale",
    ocr_timeout: float = 30.0,
) -> dict[str, Any]:
    """``{"ok": True, "kind", "width", "height", hashes…, "ocr": state, "ocr_text"}`` or
    ``{"ok": False, "reason", "detail"}``. ``ocr_languages`` empty: no OCR (``ocr`` = "off")."""
    try:
        kind, image = open_bounded(data, max_pixels)
    except ImageRefused as exc:
        return {"ok": False, "reason": exc.reason, "detail": exc.detail}
    facts: dict[str, Any] = {"ok": True, "kind": kind, "bytes": len(data), **fingerprint(image)}
    facts["ocr"], facts["ocr_text"] = "off", ""
    if ocr_languages:
        import pytesseract

        try:
            facts["ocr_text"] = read_text(image, ocr_languages, ocr_mode, ocr_timeout)
            facts["ocr"] = "done"
        except OcrUnavailable:
            facts["ocr"] = "unavailable"
        except TimeoutError:
            facts["ocr"] = "timeout"
        except (pytesseract.TesseractError, RuntimeError, OSError):
            facts["ocr"] = "failed"
    return facts


def probe_image(data: bytes, *, max_bytes: int, max_pixels: int) -> dict[str, Any]:
    """The fingerprint of an image an investigator brings (upload, ``--image``), to look up the ads
    showing it; raise ``ImageRefused`` (too large, not an image, a bomb, or too plain to match)."""
    if len(data) > max_bytes:
        raise ImageRefused("too_large", f"{len(data)} bytes, at most {max_bytes}")
    _kind, image = open_bounded(data, max_pixels)
    facts = fingerprint(image)
    if not facts["linkable"]:
        raise ImageRefused("low_information", facts["low_information"])
    return facts
