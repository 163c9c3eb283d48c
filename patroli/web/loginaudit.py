"""Failed and refused logins that an attacker can repeat at will, audited as counts.

A login throttled for its address, a wrong password for an account that does not exist, or any
attempt on a locked or disabled account is not written to the append-only audit log one row per
request (2,000 anonymous POSTs would be 2,000 rows): each (action, account, client address) gets one
entry per window, with how many attempts there were, from when to when. The entry is written when
its window ends: by the app's periodic flush (``PATROLI_WEB_LOGIN_RATE``'s window, see
``WebSettings.login_rate_window_seconds``), on the next such event, or when the app stops. Counts are
per server process, like the throttle. Wrong passwords for an existing account are audited one by
one elsewhere: the lock-out bounds them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from patroli.storage import AccountStore

# More open windows than this (a spray of addresses) are written early, oldest first.
MAX_OPEN_WINDOWS = 10_000
Key = tuple[str, str, str]  # (action, account, client address)


@dataclass(slots=True)
class _Window:
    started: float  # monotonic, decides when the window ends
    first_at: str
    last_at: str
    count: int
    detail: str


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class LoginEvents:
    """Counts repeatable login events per (action, account, address) and audits one entry per
    window with the count (``record``; ``flush_due`` and ``flush_all`` write them)."""

    def __init__(self, store: AccountStore, window_seconds: float) -> None:
        self.store = store
        self.window = window_seconds
        self._open: dict[Key, _Window] = {}
        self._lock = threading.Lock()
        self._next_due = float("inf")

    def record(self, action: str, account: str, address: str, detail: str) -> None:
        """Count one event; write the windows that have ended (this key's included)."""
        now = time.monotonic()
        key = (action, account, address)
        with self._lock:
            due = (
                self._take(lambda w: now - w.started >= self.window)
                if now >= self._next_due
                else []
            )
            window = self._open.get(key)
            if window is None:
                stamp = _now_iso()
                self._open[key] = _Window(now, stamp, stamp, 1, detail)
                self._next_due = min(self._next_due, now + self.window)
                if len(self._open) > MAX_OPEN_WINDOWS:
                    starts = sorted(w.started for w in self._open.values())
                    cutoff = starts[len(starts) // 10]
                    due += self._take(lambda w: w.started <= cutoff)
            else:
                window.count += 1
                window.last_at = _now_iso()
        self._write(due)

    def flush_due(self) -> int:
        """Write the windows that have ended; return how many entries were written."""
        now = time.monotonic()
        with self._lock:
            due = self._take(lambda w: now - w.started >= self.window)
        self._write(due)
        return len(due)

    def flush_all(self) -> int:
        """Write every open window now (the app is stopping)."""
        with self._lock:
            due = self._take(lambda w: True)
        self._write(due)
        return len(due)

    def _take(self, ended: Callable[[_Window], bool]) -> list[tuple[Key, _Window]]:
        """Remove and return the windows ``ended`` selects (the caller holds the lock)."""
        taken = [(k, w) for k, w in self._open.items() if ended(w)]
        for key, _ in taken:
            del self._open[key]
        starts = [w.started for w in self._open.values()]
        self._next_due = min(starts) + self.window if starts else float("inf")
        return taken

    def _write(self, windows: list[tuple[Key, _Window]]) -> None:
        for (action, account, address), window in windows:
            self.store.append_audit(
                account or "anonymous",
                action,
                account,
                None,
                {
                    "address": address,
                    "count": window.count,
                    "first": window.first_at,
                    "last": window.last_at,
                },
                detail=f"{window.detail}; {window.count} attempt(s) from {address} "
                f"between {window.first_at} and {window.last_at}",
            )
