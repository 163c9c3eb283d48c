"""``patroli worker``: work on whatever runs are open on the frontier, on any number of machines.

A worker looks for open runs in Redis (``crawler.frontier.runs.open_runs``: opened by ``patroli
crawl --frontier`` or by ``patroli schedule --frontier``) every ``poll`` seconds and starts one
``patroli crawl SOURCE --frontier URL --join`` child per run it is not yet working on (a Scrapy
reactor runs once per process; a crash of one crawl never takes the worker down). The child ends
by itself when its run's frontier is drained. While Redis is away the worker waits, asking again
with backoff (1 s, 2 s, … 30 s): it never spins and never exits for it. SIGTERM or SIGINT: no new
crawls; running ones are asked to stop gracefully (what they had taken goes back to the queue when
their heartbeat lapses) and waited for.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

from crawler.frontier.connection import FrontierDown, Link, redacted
from crawler.frontier.runs import open_runs

logger = logging.getLogger(__name__)

Command = Callable[[str], list[str]]  # source name -> the child's command line


@dataclass(slots=True)
class WorkerLoop:
    link: Link
    prefix: str
    sources: Sequence[str]
    command: Command
    poll: float = 5.0
    max_parallel: int = 4
    once: bool = False  # exit when no run is open and no crawl is running
    stop_event: threading.Event = field(default_factory=threading.Event)
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    finished: list[tuple[str, int]] = field(default_factory=list)  # (run, exit code)

    def install_signal_handlers(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            logger.info("signal %d: no new crawls; waiting for the running ones", signum)
            self.stop_event.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    def tick(self) -> bool:
        """Reap finished crawls, join open runs; False when ``once`` and there is nothing left."""
        for key, child in list(self.children.items()):
            if (code := child.poll()) is not None:
                logger.info("%s: crawl finished with exit code %d", key, code)
                self.finished.append((key, code))
                del self.children[key]
        try:
            runs = open_runs(self.link, self.prefix)
        except FrontierDown:
            return True
        done = {key for key, _ in self.finished}
        # A run this worker's crawl already ended is closing (or could not be joined): not again.
        waiting = [(s, r) for s, r in runs if s in self.sources and f"{s} {r}" not in done]
        for source, run_id in waiting:
            key = f"{source} {run_id}"
            if key in self.children:
                continue
            if len(self.children) >= self.max_parallel:
                break
            logger.info("%s: joining run %s", source, run_id)
            self.children[key] = subprocess.Popen(self.command(source))  # noqa: S603 - our CLI
        return not (self.once and not self.children and not waiting)

    def run(self) -> None:
        logger.info(
            "worker on frontier %s for %d source(s)", redacted(self.link.url), len(self.sources)
        )
        while not self.stop_event.is_set():
            if not self.tick():
                break
            wait = self.poll if self.link.up else max(0.2, self.link.retry_at - self.link.clock())
            self.stop_event.wait(wait)
        self.shutdown()

    def shutdown(self, grace: float = 120.0) -> None:
        for child in self.children.values():
            child.send_signal(signal.SIGTERM)
        for key, child in list(self.children.items()):
            try:
                code = child.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                child.kill()
                code = child.wait()
            self.finished.append((key, code))
        self.children.clear()
