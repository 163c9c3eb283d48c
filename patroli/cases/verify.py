"""``patroli case verify BUNDLE``: check a case bundle offline and name every file that fails.

Checks, in order: every file listed in ``SHA256SUMS`` is there and has that SHA-256; no file is
there that the list does not name; ``manifest.json`` agrees with the list; every WARC record's
payload and block digests match (a changed byte inside a record is named with its offset). A
folder or a ZIP is accepted; a ZIP's member names must stay inside it.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from patroli.cases.bundle import MANIFEST, SUMS
from patroli.evidence.archive import FileCheck, check_file, sha256_hex

_SUM_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")


@dataclass(slots=True)
class BundleCheck:
    files: int = 0
    warc_records: int = 0
    failed: dict[str, list[str]] = field(default_factory=dict)  # file -> what is wrong

    @property
    def ok(self) -> bool:
        return not self.failed

    def fail(self, name: str, problem: str) -> None:
        self.failed.setdefault(name, []).append(problem)


def _members(bundle: Path) -> Iterator[tuple[str, bytes]]:
    if bundle.is_dir():
        for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
            yield path.relative_to(bundle).as_posix(), path.read_bytes()
        return
    try:
        archive = zipfile.ZipFile(bundle)
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise ValueError(
            f"{bundle}: not a case bundle (neither a folder nor a ZIP file: {exc})"
        ) from exc
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = PurePosixPath(info.filename)
            if name.is_absolute() or ".." in name.parts:
                raise ValueError(f"{bundle}: member {info.filename!r} points outside the bundle")
            yield name.as_posix(), archive.read(info)


def verify_bundle(bundle: Path) -> BundleCheck:
    result = BundleCheck()
    files = dict(_members(bundle))
    result.files = len(files)
    listed: dict[str, str] = {}
    sums = files.get(SUMS)
    if sums is None:
        result.fail(SUMS, "missing: nothing can be checked without it")
        return result
    for number, line in enumerate(sums.decode("utf-8", "replace").splitlines(), 1):
        match = _SUM_LINE.match(line)
        if not match:
            result.fail(SUMS, f"line {number} is not '<sha256>  <file>'")
            continue
        listed[match.group(2)] = match.group(1)
    for name, digest in listed.items():
        data = files.get(name)
        if data is None:
            result.fail(name, "missing from the bundle")
        elif sha256_hex(data) != digest:
            result.fail(name, "SHA-256 differs from SHA256SUMS: the file was changed")
    for name in files:
        if name != SUMS and name not in listed:
            result.fail(name, "not listed in SHA256SUMS: added after the export")
    _check_manifest(files, listed, result)
    for name, data in files.items():
        if name.endswith(".warc.gz"):
            check = _check_warc(name, data)
            result.warc_records += check.records
            for problem in check.problems:
                result.fail(name, problem)
    return result


def _check_manifest(
    files: Mapping[str, bytes], listed: Mapping[str, str], result: BundleCheck
) -> None:
    raw = files.get(MANIFEST)
    if raw is None:
        result.fail(MANIFEST, "missing")
        return
    try:
        manifest = json.loads(raw)
        entries = {e["path"]: e["sha256"] for e in manifest["files"]}
    except (ValueError, KeyError, TypeError):
        result.fail(MANIFEST, "not a readable manifest")
        return
    for name, digest in entries.items():
        if listed.get(name) not in (None, digest):
            result.fail(MANIFEST, f"disagrees with SHA256SUMS about {name}")


def _check_warc(name: str, data: bytes) -> FileCheck:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".warc.gz") as handle:
        handle.write(data)
        handle.flush()
        return check_file(Path(handle.name), name)
