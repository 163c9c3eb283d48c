"""Images kept on disk, content-addressed: ``<dir>/ab/cd/<sha256>.<ext>`` beside a ``.json`` of
what was learnt from it (fingerprints, OCR text), so an image shared by many ads is stored, hashed
and read once. ``<dir>/urls/`` remembers which file a URL gave, so a re-crawl need not fetch it
again. Writes are atomic (temporary file, then rename); nothing here ever deletes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from patroli.images.sniff import EXTENSION, MIME

_SHA256_RE = re.compile(r"[0-9a-f]{64}")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_sha256(value: str) -> bool:
    return bool(_SHA256_RE.fullmatch(value))


class ImageFiles:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _folder(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256[:80]!r}")
        return self.directory / sha256[:2] / sha256[2:4]

    def path(self, sha256: str, kind: str) -> Path:
        return self._folder(sha256) / f"{sha256}.{EXTENSION[kind]}"

    def facts(self, sha256: str) -> dict[str, Any] | None:
        """What was learnt from the image (its sidecar), or None if it is not kept."""
        try:
            return dict(json.loads((self._folder(sha256) / f"{sha256}.json").read_text("utf-8")))
        except (OSError, ValueError):
            return None

    def put(self, sha256: str, kind: str, data: bytes, facts: dict[str, Any]) -> Path:
        path = self.path(sha256, kind)
        if not path.exists():
            _atomic_write(path, data)
        _atomic_write(
            path.with_suffix(".json"),
            json.dumps({**facts, "sha256": sha256, "kind": kind}, ensure_ascii=False).encode(),
        )
        return path

    def read(self, sha256: str) -> tuple[bytes, str] | None:
        """(bytes, MIME type) of a kept image, or None."""
        facts = self.facts(sha256)
        if not facts or facts.get("kind") not in MIME:
            return None
        try:
            return self.path(sha256, facts["kind"]).read_bytes(), MIME[facts["kind"]]
        except OSError:
            return None

    # --- which file a URL gave ------------------------------------------------------------

    def _url_file(self, url: str) -> Path:
        digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
        return self.directory / "urls" / digest[:2] / digest

    def remember_url(self, url: str, sha256: str) -> None:
        _atomic_write(self._url_file(url), sha256.encode())

    def known_url(self, url: str, max_age_seconds: float) -> str | None:
        """The SHA-256 the URL gave within ``max_age_seconds``, if its image is still kept."""
        path = self._url_file(url)
        try:
            if time.time() - path.stat().st_mtime > max_age_seconds:
                return None
            sha256 = path.read_text("ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return sha256 if is_sha256(sha256) and self.facts(sha256) else None


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
