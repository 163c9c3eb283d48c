"""What a downloaded file really is, from its first bytes: servers lie in ``Content-Type``.

Only raster formats Pillow decodes safely are allowed (JPEG, PNG, WebP, GIF); SVG is refused
whatever it is served as (it is a document that can carry scripts), and so is anything that looks
like markup or text.
"""

from __future__ import annotations

ALLOWED = ("jpeg", "png", "webp", "gif")
MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}
EXTENSION = {"jpeg": "jpg", "png": "png", "webp": "webp", "gif": "gif"}


def sniff(data: bytes) -> str:
    """``jpeg``, ``png``, ``webp`` or ``gif``; else the refusal reason: ``svg``, ``not_an_image``
    (markup, text, empty) or ``unsupported_type`` (another binary format)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in head or (head.startswith(b"<?xml") and b"svg" in head):
        return "svg"
    if not head or head.startswith(b"<") or _mostly_text(head):
        return "not_an_image"
    return "unsupported_type"


def _mostly_text(head: bytes) -> bool:
    printable = sum(1 for b in head if 32 <= b < 127 or b in (9, 10, 13))
    return printable / len(head) > 0.95
