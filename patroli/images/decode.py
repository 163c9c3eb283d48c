"""Open a downloaded image without trusting it: sniffed type, pixel cap, decompression-bomb guard.

``open_bounded`` refuses with ``ImageRefused(reason)``; the reasons are the stats keys the crawl
counts (``patroli/images/refused/<reason>``). Pillow's own bomb guard stays on: its warning is
turned into a refusal, and ``Image.MAX_IMAGE_PIXELS`` is set to the cap before each open (these
run in patroli's own worker processes). A GIF is read as its first frame; transparency is laid on
white, the way a viewer shows it.
"""

from __future__ import annotations

import io
import re
import warnings

from PIL import Image, UnidentifiedImageError

from patroli.images.sniff import ALLOWED, sniff

# Compressed bytes per pixel below which an oversized image is a bomb rather than a big photo:
# photos and flyers take more than a byte per hundred pixels, a bomb a byte per thousands.
BOMB_PIXELS_PER_BYTE = 1000
MIN_SIDE = 8
_PIXELS_RE = re.compile(r"\((\d+) pixels\)")


class ImageRefused(Exception):
    """The file is not an image patroli reads; ``reason`` is a short stats key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _too_big(pixels: int, size: int) -> str:
    return (
        "decompression_bomb" if pixels > BOMB_PIXELS_PER_BYTE * max(size, 1) else "too_many_pixels"
    )


def open_bounded(data: bytes, max_pixels: int) -> tuple[str, Image.Image]:
    """(kind, RGB image) of ``data``; raise ``ImageRefused``."""
    kind = sniff(data)
    if kind not in ALLOWED:
        raise ImageRefused(kind)
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[kind.upper()])
            width, height = image.size
            if width * height > max_pixels:
                raise ImageRefused(_too_big(width * height, len(data)), f"{width}x{height}")
            if min(width, height) < MIN_SIDE:
                raise ImageRefused("too_small", f"{width}x{height}")
            image.seek(0)  # a GIF's first frame
            image.load()
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's guard fired first (its message says how many pixels): a bomb or just too big.
        found = _PIXELS_RE.search(str(exc))
        pixels = int(found.group(1)) if found else max_pixels * 2
        raise ImageRefused(_too_big(pixels, len(data)), str(exc)[:120]) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRefused("undecodable", str(exc)[:120]) from None
    return kind, to_rgb(image)


def to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
