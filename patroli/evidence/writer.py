"""Write WARC records off the crawl's event loop, into rotating files that a crash cannot corrupt.

``WarcWriter.submit(exchange)`` queues one exchange and returns a future of its ``RecordRef``
(file, offset, length, record id, payload digest); a writer thread builds and compresses the
records, appends them in batches, flushes, and only then resolves the futures, so a pointer is
never handed out for a record that is not on disk yet.

Files are ``warc/YYYY/MM/<name>-<UTC time>-<pid>-<n>.warc.gz``: written as ``….warc.gz.open``
under an exclusive lock and renamed when closed (at ``PATROLI_WARC_MAX_BYTES`` or when the crawl
ends). Each record is its own gzip member; beside each file a JSON-lines index
(``….warc.gz.index.jsonl``) lists its response records by URL for the offline renderer.

A writer killed mid-record leaves an ``.open`` file whose last member is incomplete.
``recover_open_files`` (run by every writer as it starts) takes each such file no live writer
holds, cuts it after its last complete, digest-checked record, rebuilds its index and renames it:
a half-written record never reaches a reader.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import logging
import os
import queue
import re
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator

from patroli.evidence.records import Exchange, exchange_records, warcinfo_record

logger = logging.getLogger(__name__)

OPEN_SUFFIX = ".open"
INDEX_SUFFIX = ".index.jsonl"
BATCH = 64
_NAME_RE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True, slots=True)
class RecordRef:
    """Where one response record is: ``file`` relative to the evidence directory."""

    file: str
    offset: int
    length: int
    record_id: str
    digest: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def warc_dir(evidence_dir: Path) -> Path:
    return evidence_dir / "warc"


def index_path(path: Path) -> Path:
    final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
    return final.with_name(final.name + INDEX_SUFFIX)


class _Closing:
    """The queue's end marker."""


class WarcWriter:
    """One writer per crawl (``name`` = its source); thread-safe ``submit``, blocking ``close``."""

    def __init__(self, evidence_dir: Path, name: str, max_bytes: int, software: str) -> None:
        self.evidence_dir = Path(evidence_dir)
        self.name = _NAME_RE.sub("_", name)[:60] or "crawl"
        self.max_bytes = max_bytes
        self.software = software
        self.queue: queue.SimpleQueue[tuple[Exchange, Future[RecordRef]] | _Closing] = (
            queue.SimpleQueue()
        )
        self.records = 0
        self.bytes = 0
        self.files: list[str] = []
        self._file: IO[bytes] | None = None
        self._index: IO[str] | None = None
        self._path: Path | None = None
        self._size = 0
        self._sequence = 0
        recover_open_files(self.evidence_dir)
        self._thread = threading.Thread(target=self._run, name=f"warc-{self.name}", daemon=True)
        self._thread.start()

    def submit(self, exchange: Exchange) -> Future[RecordRef]:
        future: Future[RecordRef] = Future()
        self.queue.put((exchange, future))
        return future

    def close(self) -> None:
        """Write what is queued, close the current file (fsync, rename); idempotent."""
        if self._thread.is_alive():
            self.queue.put(_Closing())
            self._thread.join()

    # --- the writer thread --------------------------------------------------------------------

    def _run(self) -> None:
        closing = False
        while not closing:
            batch: list[tuple[Exchange, Future[RecordRef]]] = []
            entry = self.queue.get()
            while True:
                if isinstance(entry, _Closing):
                    closing = True
                    break
                batch.append(entry)
                if len(batch) >= BATCH:
                    break
                try:
                    entry = self.queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._write_batch(batch)
        self._close_file()

    def _write_batch(self, batch: list[tuple[Exchange, Future[RecordRef]]]) -> None:
        done: list[tuple[Future[RecordRef], RecordRef]] = []
        for exchange, future in batch:
            try:
                done.append((future, self._write_one(exchange)))
            except Exception as exc:  # noqa: BLE001 - handed to the waiting item, counted there
                logger.error("WARC record of %s not written: %s", exchange.url[:200], exc)
                future.set_exception(exc)
        try:
            if self._file is not None and self._index is not None:
                self._file.flush()
                self._index.flush()
        except OSError as exc:
            for future, _ in done:
                future.set_exception(exc)
            return
        for future, ref in done:
            future.set_result(ref)

    def _write_one(self, exchange: Exchange) -> RecordRef:
        records = exchange_records(exchange)
        response, request, digest = records.response, records.request, records.payload_digest
        if self._file is None or self._size >= self.max_bytes:
            self._close_file()
            self._open_file(exchange.date)
        assert self._file is not None  # noqa: S101 - opened above
        assert self._index is not None  # noqa: S101
        assert self._path is not None  # noqa: S101
        offset = self._size
        self._file.write(response)
        self._file.write(request)
        self._size += len(response) + len(request)
        self.records += 1
        self.bytes += len(response) + len(request)
        relative = str(self._final(self._path).relative_to(self.evidence_dir))
        self._index.write(
            json.dumps(
                {
                    "url": exchange.url,
                    "date": exchange.date.astimezone(UTC).isoformat(),
                    "status": exchange.status,
                    "mime": _header(exchange.response_headers, "content-type"),
                    "offset": offset,
                    "length": len(response),
                    "request_length": len(request),
                    "record_id": exchange.record_id,
                    "digest": digest,
                },
                ensure_ascii=False,
            )
            + "\n"
        )
        return RecordRef(relative, offset, len(response), exchange.record_id, digest)

    @staticmethod
    def _final(path: Path) -> Path:
        return path.with_name(path.name.removesuffix(OPEN_SUFFIX))

    def _open_file(self, when: datetime) -> None:
        when = when.astimezone(UTC)
        directory = warc_dir(self.evidence_dir) / f"{when:%Y}" / f"{when:%m}"
        directory.mkdir(parents=True, exist_ok=True)
        while True:
            self._sequence += 1
            name = f"{self.name}-{when:%Y%m%dT%H%M%SZ}-{os.getpid()}-{self._sequence:05d}.warc.gz"
            path = directory / (name + OPEN_SUFFIX)
            if not path.exists() and not (directory / name).exists():
                break
        handle = path.open("xb")
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        info = warcinfo_record(name, self.software)
        handle.write(info)
        self._file, self._path, self._size = handle, path, len(info)
        self._index = index_path(path).open("w", encoding="utf-8")
        self.files.append(str((directory / name).relative_to(self.evidence_dir)))

    def _close_file(self) -> None:
        if self._file is None or self._path is None or self._index is None:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._index.flush()
        os.fsync(self._index.fileno())
        self._index.close()
        self._path.rename(self._final(self._path))
        self._file.close()  # the lock goes with it, after the rename
        _fsync_directory(self._path.parent)
        self._file = self._index = self._path = None
        self._size = 0


def _header(headers: Any, name: str) -> str:
    for key, value in headers:
        if key.lower() == name:
            return str(value)
    return ""


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- crash recovery -----------------------------------------------------------------------------


def gzip_members(data: bytes) -> Iterator[tuple[int, int, bool]]:
    """(offset, length, complete) of each gzip member in ``data``; stops at the first broken one."""
    offset = 0
    while offset < len(data):
        decompressor = zlib.decompressobj(31)
        try:
            decompressor.decompress(data[offset:])
        except zlib.error:
            yield offset, len(data) - offset, False
            return
        if not decompressor.eof:
            yield offset, len(data) - offset, False
            return
        length = len(data) - offset - len(decompressor.unused_data)
        yield offset, length, True
        offset += length


def _record_is_whole(member: bytes) -> bool:
    """A complete gzip member holds a whole WARC record whose digests match."""
    try:
        iterator = ArchiveIterator(io.BytesIO(member), check_digests=True)
        for record in iterator:
            record.content_stream().read()
            return record.digest_checker.passed is not False
    except Exception:  # noqa: BLE001 - anything unreadable is not a whole record
        return False
    return False


def recover_open_files(evidence_dir: Path) -> list[str]:
    """Close the ``.open`` files that crashed writers left (never one a live writer holds): cut
    each after its last whole record, rebuild its index, rename it. Returns what was recovered."""
    recovered = []
    for path in sorted(warc_dir(evidence_dir).rglob("*.warc.gz" + OPEN_SUFFIX)):
        with contextlib.ExitStack() as stack:
            try:
                handle = stack.enter_context(path.open("r+b"))
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except (BlockingIOError, FileNotFoundError):
                continue  # a live writer's file, or another process recovered it meanwhile
            data = handle.read()
            keep = 0
            for offset, length, complete in gzip_members(data):
                if not complete or not _record_is_whole(data[offset : offset + length]):
                    break
                keep = offset + length
            if keep < len(data):
                logger.warning(
                    "%s: cut %d bytes of an unfinished record (the writer stopped)",
                    path,
                    len(data) - keep,
                )
                handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
            final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
            rebuild_index(data[:keep], index_path(path))
            path.rename(final)
            recovered.append(str(final.relative_to(evidence_dir)))
    return recovered


def rebuild_index(data: bytes, target: Path) -> None:
    """The JSON-lines index of a file's response records, from the records themselves."""
    lines = []
    iterator = ArchiveIterator(io.BytesIO(data))
    pending: dict[str, Any] | None = None
    for record in iterator:
        record.content_stream().read()
        offset, length = iterator.get_record_offset(), iterator.get_record_length()
        if pending is not None and record.rec_type == "request":
            pending["request_length"] = length
        if pending is not None:
            lines.append(json.dumps(pending, ensure_ascii=False))
            pending = None
        if record.rec_type == "response":
            headers = record.rec_headers
            http = record.http_headers
            pending = {
                "url": headers.get_header("WARC-Target-URI"),
                "date": headers.get_header("WARC-Date"),
                "status": int(http.get_statuscode()) if http else 0,
                "mime": (http.get_header("Content-Type") or "") if http else "",
                "offset": offset,
                "length": length,
                "request_length": 0,
                "record_id": headers.get_header("WARC-Record-ID"),
                "digest": headers.get_header("WARC-Payload-Digest"),
            }
    if pending is not None:
        lines.append(json.dumps(pending, ensure_ascii=False))
    target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
