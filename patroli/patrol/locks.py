"""One crawl per source at a time, across processes: an advisory lock file per source.

``flock`` locks belong to the process that holds them: the kernel drops them when it exits, however it
exits (SIGKILL included), so a crashed crawl never leaves a stale lock behind. The holder's PID is
written into the file for operators. Setting: ``PATROLI_LOCK_DIR`` (default ``var/locks``).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Self

from patroli.config.table import PATROLI_LOCK_DIR


def default_lock_dir() -> Path:
    return Path(PATROLI_LOCK_DIR.from_env())


class SourceLock:
    def __init__(self, source: str, directory: Path | None = None) -> None:
        self.path = (directory or default_lock_dir()) / f"{source}.lock"
        self.fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock if free; False when another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def is_held(self) -> bool:
        """Whether some process holds the lock now (without taking it)."""
        if not self.path.exists():
            return False
        if self.acquire():
            self.release()
            return False
        return True

    def holder(self) -> int | None:
        try:
            text = self.path.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
