"""A durable local spool for write batches the store could not take (an engine outage mid-crawl).

Batches are files ``<time_ns>-<pid>-<n>.jsonl`` in a directory per store (``PATROLI_SPOOL_DIR``,
default ``var/spool``): written to a temporary name, fsynced, then renamed, so a crash never leaves
half a batch. They are replayed oldest first, each one deleted only after the store took it; while
any batch waits, new batches queue behind it, so ads reach the store in the order they came.
Replaying a batch twice (a crash between the write and the delete) cannot duplicate anything:
upserts are keyed by ``ad_id``. Several crawlers of one process or of several processes share a
spool through a file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patroli.config.table import PATROLI_SPOOL_DIR
from patroli.storage.base import StoreUnavailable, WriteResult
from patroli.storage.roles import AdStore

logger = logging.getLogger(__name__)

_COUNTER = itertools.count()
_COUNTER_LOCK = threading.Lock()


def spool_dir_for(store_url: str, root: str | Path | None = None) -> Path:
    """One directory per store, so that a spool is only ever replayed into its own store."""
    base = Path(root or PATROLI_SPOOL_DIR.from_env())
    return base / hashlib.sha256(store_url.encode()).hexdigest()[:16]


class Spool:
    def __init__(self, directory: str | Path, store_url: str = "") -> None:
        self.directory = Path(directory)
        self.store_url = store_url
        self._lock_path = self.directory / ".lock"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def batches(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.jsonl"))

    def pending_ads(self) -> int:
        total = 0
        for path in self.batches():
            with path.open("rb") as handle:
                total += sum(1 for _ in handle)
        return total

    def append(self, records: Sequence[Mapping[str, Any]]) -> Path:
        with _COUNTER_LOCK:
            n = next(_COUNTER)
        name = f"{time.time_ns():020d}-{os.getpid():07d}-{n:06d}.jsonl"
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.store_url:
            (self.directory / "STORE").write_text(self.store_url + "\n", encoding="utf-8")
        tmp = self.directory / f".{name}.tmp"
        with tmp.open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        final = self.directory / name
        tmp.rename(final)
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return final

    def replay(self, write: Callable[[list[dict[str, Any]]], WriteResult]) -> WriteResult:
        """Write every batch, oldest first; stop at the first ``StoreUnavailable`` (re-raised)."""
        total = WriteResult()
        for path in self.batches():
            with path.open(encoding="utf-8") as handle:
                records = [json.loads(line) for line in handle if line.strip()]
            total += write(records)
            path.unlink()
            logger.info("replayed %d spooled ads from %s", len(records), path.name)
        return total


@dataclass(slots=True)
class Outcome:
    written: WriteResult = field(default_factory=WriteResult)  # this batch and replayed ones
    replayed: int = 0  # ads written from the spool
    spooled: int = 0  # ads of this batch that went to the spool instead


class SpoolingWriter:
    """Write batches to a store; when it is unreachable, spool them and replay them later.

    While the store is down, batches go straight to the spool and the store is asked again only
    every ``retry_seconds``, so a crawl does not wait on every batch."""

    def __init__(self, store: AdStore, spool: Spool, retry_seconds: float = 30.0) -> None:
        self.store = store
        self.spool = spool
        self.retry_seconds = retry_seconds
        self._next_try = 0.0

    def write(self, records: Sequence[Mapping[str, Any]]) -> Outcome:
        outcome = Outcome()
        with self.spool.locked():
            if self.spool.batches() and not self._replay(outcome):
                self.spool.append(records)
                outcome.spooled = len(records)
                return outcome
            try:
                outcome.written += self.store.upsert_ads(records)
            except StoreUnavailable as exc:
                self._down(exc)
                self.spool.append(records)
                outcome.spooled = len(records)
        return outcome

    def drain(self, *, force: bool = True) -> Outcome:
        """Replay what waits in the spool (at start, at the end of a crawl)."""
        outcome = Outcome()
        if force:
            self._next_try = 0.0
        with self.spool.locked():
            if self.spool.batches():
                self._replay(outcome)
        return outcome

    def _replay(self, outcome: Outcome) -> bool:
        if time.monotonic() < self._next_try:
            return False
        before = self.spool.pending_ads()
        try:
            outcome.written += self.spool.replay(self.store.upsert_ads)
        except StoreUnavailable as exc:
            self._down(exc)
            outcome.replayed = before - self.spool.pending_ads()
            return False
        outcome.replayed = before
        return True

    def _down(self, exc: StoreUnavailable) -> None:
        self._next_try = time.monotonic() + self.retry_seconds
        logger.warning(
            "store unavailable (%s); spooling batches in %s, next try in %.0fs",
            exc,
            self.spool.directory,
            self.retry_seconds,
        )
