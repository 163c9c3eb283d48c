"""Read the WARC archive back: one record at its offset, a file's records with their digests
checked, and the index that finds the archived response for a URL (what the offline renderer
serves). Paths come from the store and from bundles, so every one is kept inside its directory.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator

from patroli.evidence.writer import INDEX_SUFFIX, OPEN_SUFFIX, gzip_members, warc_dir

logger = logging.getLogger(__name__)


class EvidenceError(Exception):
    """An archived record is missing, unreadable or not what its pointer says."""


@dataclass(slots=True)
class StoredRecord:
    """One record as read back: headers, the payload as sent and as decoded, its digest check."""

    file: str
    offset: int
    rec_type: str
    record_id: str
    uri: str
    date: str
    status: int
    headers: list[tuple[str, str]]
    raw_payload: bytes
    payload: bytes
    claimed_digest: str
    digest_ok: bool
    problems: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return ""


def resolve(base: Path, relative: str) -> Path:
    """``relative`` inside ``base`` (a file still being written ends in ``.open``); refuses a path
    that leaves ``base``."""
    base = base.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base):
        raise EvidenceError(f"{relative!r} is outside {base}")
    if not path.exists():
        opened = path.with_name(path.name + OPEN_SUFFIX)
        if opened.exists():
            return opened
        raise EvidenceError(f"{relative}: no such WARC file in {base}")
    return path


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _digest_matches(claimed: str, data: bytes) -> bool:
    algorithm, _, value = claimed.partition(":")
    if algorithm.lower() != "sha256" or not value:
        return False
    return value.lower() == sha256_hex(data)


def _stored(file: str, offset: int, record: Any) -> StoredRecord:
    raw = record.raw_stream.read()
    headers = record.rec_headers
    http = record.http_headers
    payload = raw
    problems: list[str] = []
    if http is not None and record.rec_type == "response":
        try:
            # warcio undoes Content-Encoding (and chunking) for whoever needs the page itself.
            payload = _decoded(raw, http)
        except Exception as exc:  # noqa: BLE001 - a page that does not decode is still evidence
            problems.append(f"payload does not decode ({exc})")
    claimed = headers.get_header("WARC-Payload-Digest") or ""
    ok = bool(claimed) and _digest_matches(claimed, raw)
    if not ok:
        problems.append(f"payload digest {claimed or '(none)'} does not match the payload")
    return StoredRecord(
        file=file,
        offset=offset,
        rec_type=record.rec_type,
        record_id=headers.get_header("WARC-Record-ID") or "",
        uri=headers.get_header("WARC-Target-URI") or "",
        date=headers.get_header("WARC-Date") or "",
        status=int(http.get_statuscode() or 0)
        if http is not None and record.rec_type == "response"
        else 0,
        headers=list(http.headers) if http is not None else [],
        raw_payload=raw,
        payload=payload,
        claimed_digest=claimed,
        digest_ok=ok,
        problems=problems,
    )


def _decoded(raw: bytes, http: Any) -> bytes:
    from warcio.bufferedreaders import BufferedReader, ChunkedDataReader

    encoding = (http.get_header("Content-Encoding") or "").strip().lower() or None
    if (http.get_header("Transfer-Encoding") or "").lower() == "chunked":
        reader: IO[bytes] = ChunkedDataReader(io.BytesIO(raw), decomp_type=encoding)
    else:
        reader = BufferedReader(io.BytesIO(raw), decomp_type=encoding)
    data: bytes = reader.read()
    return data


def read_member(path: Path, offset: int) -> bytes:
    """The gzip member (one record) that starts at ``offset``."""
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read(64 * 1024)
        while True:
            members = gzip_members(data)
            first = next(members, None)
            if first is None:
                raise EvidenceError(f"{path.name}: nothing at offset {offset}")
            _, length, complete = first
            if complete:
                return data[:length]
            more = handle.read(1024 * 1024)
            if not more:
                raise EvidenceError(f"{path.name}: the record at offset {offset} is incomplete")
            data += more


def read_record(evidence_dir: Path, file: str, offset: int) -> StoredRecord:
    """The record at ``offset`` of ``file`` (relative to the evidence directory)."""
    path = resolve(warc_dir(evidence_dir).parent, file)
    member = read_member(path, offset)
    for record in ArchiveIterator(io.BytesIO(member)):
        return _stored(file, offset, record)
    raise EvidenceError(f"{file}: no WARC record at offset {offset}")


def read_exchange(evidence_dir: Path, file: str, offset: int) -> bytes:
    """The response record at ``offset`` and the request record after it, as stored (gzip)."""
    path = resolve(warc_dir(evidence_dir).parent, file)
    response = read_member(path, offset)
    try:
        request = read_member(path, offset + len(response))
    except EvidenceError:
        return response
    return response + request


def iter_records(data: IO[bytes], file: str) -> Iterator[StoredRecord]:
    iterator = ArchiveIterator(data)
    for record in iterator:
        stored = _stored(file, 0, record)  # read the payload before asking for the offset,
        stored.offset = iterator.get_record_offset()  # which reads the record to its end
        yield stored


@dataclass(slots=True)
class FileCheck:
    file: str
    records: int = 0
    problems: list[str] = field(default_factory=list)


def check_file(path: Path, name: str) -> FileCheck:
    """Every record of one WARC file: complete gzip members, parseable, digests matching."""
    result = FileCheck(name)
    data = path.read_bytes()
    for offset, length, complete in gzip_members(data):
        if not complete:
            result.problems.append(f"{name} @{offset}: an incomplete or corrupt gzip member")
            break
        try:
            records = list(iter_records(io.BytesIO(data[offset : offset + length]), name))
        except Exception as exc:  # noqa: BLE001 - unreadable is a finding, not a crash
            result.problems.append(f"{name} @{offset}: not a WARC record ({exc})")
            continue
        for record in records:
            result.records += 1
            for problem in record.problems:
                if record.rec_type == "warcinfo" and "digest" in problem:
                    continue  # warcinfo records carry no payload digest
                result.problems.append(
                    f"{name} @{offset} {record.rec_type} {record.uri}: {problem}"
                )
    return result


def warc_files(evidence_dir: Path) -> list[Path]:
    """Every closed WARC file of the archive, oldest name first."""
    return sorted(warc_dir(evidence_dir).rglob("*.warc.gz"))


@dataclass(frozen=True, slots=True)
class IndexEntry:
    url: str
    date: datetime
    status: int
    mime: str
    file: str
    offset: int
    length: int
    request_length: int
    record_id: str
    digest: str


def _when(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ArchiveIndex:
    """URL → archived responses, from the JSON-lines index beside each WARC file."""

    def __init__(self, evidence_dir: Path) -> None:
        self.evidence_dir = Path(evidence_dir)
        self.by_url: dict[str, list[IndexEntry]] = {}
        base = warc_dir(self.evidence_dir)
        for index in sorted(base.rglob("*" + INDEX_SUFFIX)):
            file = str(
                index.with_name(index.name.removesuffix(INDEX_SUFFIX)).relative_to(
                    self.evidence_dir
                )
            )
            for line in index.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    row = json.loads(line)
                    entry = IndexEntry(
                        row["url"],
                        _when(row["date"]),
                        int(row.get("status") or 0),
                        row.get("mime") or "",
                        file,
                        int(row["offset"]),
                        int(row["length"]),
                        int(row.get("request_length") or 0),
                        row.get("record_id") or "",
                        row.get("digest") or "",
                    )
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut by a crash; recovery rewrites the index
                self.by_url.setdefault(entry.url, []).append(entry)

    def lookup(self, url: str, near: datetime | None = None) -> IndexEntry | None:
        """The archived response for ``url`` closest in time to ``near`` (the latest without),
        preferring a successful one."""
        entries = self.by_url.get(url) or []
        if not entries:
            return None
        ok = [e for e in entries if 200 <= e.status < 300] or entries
        if near is None:
            return max(ok, key=lambda e: e.date)
        return min(ok, key=lambda e: abs((e.date - near).total_seconds()))
