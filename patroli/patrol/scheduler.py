"""``patroli schedule``: run each source on its cron schedule, never twice at once, until stopped.

Each run is a ``patroli crawl SOURCE`` child process (a Scrapy reactor runs once per process), so a
crash of one run never takes the scheduler down. Overlap is prevented twice: the scheduler does not
start a source whose previous run is still going, and the crawl itself takes the source's lock
(``patroli/patrol/locks.py``), which also keeps cron, systemd timers and people from overlapping with it.
A random jitter spreads runs that share a schedule. On SIGTERM or SIGINT the scheduler stops
starting runs, asks running crawls to stop gracefully (they keep their queue for ``--resume``), and
waits for them.

With ``enqueue`` (``patroli schedule --frontier``) a due source's run is opened on the Redis frontier
instead, for ``patroli worker`` processes on any machine to crawl; a source whose previous run still
holds its lock is skipped as busy.

Missed runs: a scheduled time that passed while no scheduler ran (the machine was down, or asleep)
is counted when the scheduler next looks (``last_started``: the source's latest recorded run), and
reported once through ``on_missed`` (``patroli schedule``: a log line, a ``missed_run`` alert and a
failed run record naming the times); the source then runs at once, to catch up.
"""

from __future__ import annotations

import logging
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType

from croniter import croniter

from crawler.sources import SourceConfig
from patroli.patrol.locks import SourceLock

logger = logging.getLogger(__name__)


class Clock:
    """Wall time. Tests use ``FastClock``; everything else only calls ``now`` and ``sleep``."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(max(0.0, seconds))


class FastClock(Clock):
    """Simulated time running ``speed`` times faster than the wall clock (for tests and rehearsals)."""

    def __init__(self, speed: float, start: datetime | None = None) -> None:
        self.speed = speed
        self.start_real = time.monotonic()
        self.start = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self.start_real) * self.speed)

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(max(0.0, seconds) / self.speed)


@dataclass(slots=True)
class Slot:
    source: SourceConfig
    next_at: datetime
    process: subprocess.Popen[bytes] | None = None
    started: int = 0
    skipped_busy: int = 0
    history: list[tuple[datetime, datetime, int]] = field(
        default_factory=list
    )  # (start, end, exit code)
    started_at: datetime | None = None
    missed: int = 0


MissedCallback = Callable[[SourceConfig, int, datetime], None]  # (source, how many, first missed)


def count_missed(schedule: str, due: datetime, now: datetime, grace: float) -> int:
    """Scheduled times from ``due`` (itself one, perhaps plus jitter) up to ``grace`` seconds ago:
    each passed without a run."""
    latest = now - timedelta(seconds=grace)
    if due > latest:
        return 0
    count = 1
    times = croniter(schedule, due)
    while times.get_next(datetime) <= latest and count < 10_000:
        count += 1
    return count


class Scheduler:
    def __init__(
        self,
        sources: Sequence[SourceConfig],
        command: Callable[[SourceConfig], list[str]],
        *,
        clock: Clock | None = None,
        jitter: float = 0.0,
        lock_dir: object = None,
        seed: int | None = None,
        enqueue: Callable[[SourceConfig], bool] | None = None,
        last_started: Callable[[SourceConfig], datetime | None] | None = None,
        on_missed: MissedCallback | None = None,
        grace: float = 120.0,
    ) -> None:
        self.clock = clock or Clock()
        self.command = command
        self.jitter = jitter
        self.random = random.Random(seed)  # noqa: S311 - spreading start times, not security
        self.lock_dir = lock_dir
        self.stop_event = threading.Event()
        self.enqueue = enqueue
        self.on_missed = on_missed
        self.grace = max(grace, jitter + 60.0)
        now = self.clock.now()
        self.slots = []
        for source in sources:
            last = last_started(source) if last_started else None
            # After a recorded run, the next time due is the first one after it (maybe long past).
            next_at = croniter(source.schedule, last).get_next(datetime) if last else None
            self.slots.append(Slot(source, next_at or self._next(source, now)))

    def _next(self, source: SourceConfig, after: datetime) -> datetime:
        base = croniter(source.schedule, after).get_next(datetime)
        return base + timedelta(seconds=self.random.uniform(0, self.jitter) if self.jitter else 0)

    def install_signal_handlers(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            logger.info("signal %d: no new runs; waiting for the running ones", signum)
            self.stop_event.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    def tick(self) -> None:
        """Reap finished runs, start the due ones."""
        now = self.clock.now()
        for slot in self.slots:
            if slot.process is not None and (code := slot.process.poll()) is not None:
                assert slot.started_at is not None  # noqa: S101 - set with process
                slot.history.append((slot.started_at, now, code))
                logger.info("%s: run finished with exit code %d", slot.source.name, code)
                slot.process = None
            if now < slot.next_at:
                continue
            missed = count_missed(slot.source.schedule, slot.next_at, now, self.grace)
            if missed:
                slot.missed += missed
                logger.warning(
                    "%s: %d scheduled run(s) missed since %s; running now",
                    slot.source.name,
                    missed,
                    slot.next_at.isoformat(),
                )
                if self.on_missed is not None:
                    self.on_missed(slot.source, missed, slot.next_at)
            slot.next_at = self._next(slot.source, now)
            if self.enqueue is not None:
                if self.enqueue(slot.source):
                    slot.started += 1
                    logger.info("%s: run opened on the frontier", slot.source.name)
                else:
                    slot.skipped_busy += 1
                    logger.warning(
                        "%s: due, but its previous run is still open; skipped", slot.source.name
                    )
                continue
            busy = slot.process is not None or SourceLock(slot.source.name, self.lock_dir).is_held()  # type: ignore[arg-type]
            if busy:
                slot.skipped_busy += 1
                logger.warning(
                    "%s: due, but the previous run is still going; skipped", slot.source.name
                )
                continue
            slot.process = subprocess.Popen(self.command(slot.source))  # noqa: S603 - our own CLI
            slot.started_at = now
            slot.started += 1
            logger.info("%s: run started (next at %s)", slot.source.name, slot.next_at.isoformat())

    def run(self, until: datetime | None = None) -> None:
        """Loop until stopped (or simulated ``until``), then let running crawls finish."""
        while not self.stop_event.is_set() and (until is None or self.clock.now() < until):
            self.tick()
            upcoming = min(s.next_at for s in self.slots)
            wait = min(
                (upcoming - self.clock.now()).total_seconds(),
                60.0 * getattr(self.clock, "speed", 1.0),
            )
            self.clock.sleep(max(wait, 0.05 * getattr(self.clock, "speed", 1.0)), self.stop_event)
        self.shutdown()

    def shutdown(self, grace: float = 120.0) -> None:
        running = [s for s in self.slots if s.process is not None]
        for slot in running:
            assert slot.process is not None  # noqa: S101
            slot.process.send_signal(signal.SIGTERM)  # Scrapy stops gracefully, keeping its queue
        deadline = time.monotonic() + grace
        for slot in running:
            assert slot.process is not None  # noqa: S101
            try:
                code = slot.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                slot.process.kill()
                code = slot.process.wait()
            assert slot.started_at is not None  # noqa: S101
            slot.history.append((slot.started_at, self.clock.now(), code))
            slot.process = None
