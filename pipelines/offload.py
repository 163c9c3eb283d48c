"""Run CPU-heavy pipeline work in batches, in worker processes, off the crawl's event loop.

Extraction and scoring are pure Python and hold the GIL, so a thread would not help: the crawl's
reactor would still wait for them. ``MicroBatcher`` collects the items that arrive within a few
milliseconds (a Telegram page brings twenty at once) and hands each batch to a function that runs
in a process of the shared ``WorkerPool``.

Worker processes end with the crawl process, however it ends (even by SIGKILL, which runs no
clean-up): each watches its parent from a thread and exits when the parent is gone; the
multiprocessing resource tracker then sees its last user go and exits too.

Settings: ``PATROLI_WORKERS`` (worker processes; default one fewer than the CPUs, at least one;
``0`` runs the batches in a thread of the crawl's own process) and ``PATROLI_BATCH_DELAY`` (how long a
partial batch waits for more items), read by the pipelines that use it.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, ClassVar, Generic, TypeVar

logger = logging.getLogger(__name__)

P = TypeVar("P")
R = TypeVar("R")


PARENT_CHECK_SECONDS = 0.25


def die_with_parent(parent_pid: int) -> None:
    """Worker initializer: exit as soon as the process that started this worker is gone.

    Polling ``getppid`` works however the parent ended and whichever of its threads started the
    worker (``PR_SET_PDEATHSIG`` would fire when that *thread* ends)."""
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent died before this worker got here

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)  # nobody is left to take the results; skip clean-up that could hang

    threading.Thread(target=watch, name="patroli-parent-watch", daemon=True).start()


class WorkerPool:
    """One executor per process, shared by every crawler and pipeline that asks for it."""

    _lock = threading.Lock()
    _executor: Executor | None = None
    _users = 0

    @classmethod
    def acquire(cls, workers: int) -> Executor:
        with cls._lock:
            if cls._executor is None:
                if workers > 0:
                    # spawn, not fork: the crawl process runs threads and an event loop.
                    context = multiprocessing.get_context("spawn")
                    cls._executor = ProcessPoolExecutor(
                        max_workers=workers,
                        mp_context=context,
                        initializer=die_with_parent,
                        initargs=(os.getpid(),),
                    )
                else:
                    cls._executor = ThreadPoolExecutor(
                        max_workers=1, thread_name_prefix="patroli-batch"
                    )
            cls._users += 1
            return cls._executor

    @classmethod
    def release(cls) -> None:
        with cls._lock:
            cls._users -= 1
            if cls._users == 0 and cls._executor is not None:
                cls._executor.shutdown(wait=True, cancel_futures=True)
                cls._executor = None
                MicroBatcher._shared.clear()  # their process functions hold the old executor


async def run_in(executor: Executor, function: Callable[..., R], *args: Any) -> R:
    return await asyncio.wrap_future(executor.submit(function, *args))


class MicroBatcher(Generic[P, R]):
    """Gather payloads for up to ``delay`` seconds (or ``size`` of them), process them together.

    ``submit(payload)`` returns the payload's result once its batch is done; a batch failure is
    raised to every caller of that batch. ``shared(key, ...)`` gives every crawler of the process
    the same batcher for the same work, so that a patrol's sources fill batches together: each
    call into the model has a fixed cost of several milliseconds, whatever the batch size.
    """

    _shared: ClassVar[dict[Hashable, MicroBatcher[Any, Any]]] = {}

    @classmethod
    def shared(
        cls,
        key: Hashable,
        process: Callable[[list[P]], Awaitable[Sequence[R]]],
        size: int,
        delay: float,
    ) -> MicroBatcher[P, R]:
        batcher = cls._shared.get(key)
        if batcher is None:
            batcher = cls._shared[key] = cls(process, size, delay)
        return batcher

    def __init__(
        self, process: Callable[[list[P]], Awaitable[Sequence[R]]], size: int, delay: float
    ) -> None:
        self.process = process
        self.size = size
        self.delay = delay
        self.pending: list[tuple[P, asyncio.Future[R]]] = []
        self.timer: asyncio.TimerHandle | None = None
        self.running: set[asyncio.Task[None]] = set()

    async def submit(self, payload: P) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self.pending.append((payload, future))
        if len(self.pending) >= self.size:
            self._start_batch()
        elif self.timer is None:
            self.timer = loop.call_later(self.delay, self._start_batch)
        return await future

    def _start_batch(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.pending = self.pending, []
        if batch:
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self.running.add(task)
            task.add_done_callback(self.running.discard)

    async def _run(self, batch: list[tuple[P, asyncio.Future[R]]]) -> None:
        try:
            results = await self.process([payload for payload, _ in batch])
        except Exception as exc:  # noqa: BLE001 - handed to every waiting item, the pipeline decides
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def drain(self) -> None:
        """Finish everything submitted so far (call before closing)."""
        self._start_batch()
        while self.running:
            await asyncio.gather(*self.running, return_exceptions=True)


class OffloadingPipeline:
    """What the pipelines that offload work share: a batcher on the shared pool, drained at close."""

    executor: Executor | None = None
    batcher: MicroBatcher[Any, Any] | None = None

    async def close_spider(self) -> None:
        if self.batcher is not None:
            await self.batcher.drain()
        if self.executor is not None:
            self.executor = None
            await asyncio.to_thread(
                WorkerPool.release
            )  # the last user waits for the workers to exit
