"""The micro-batcher and the shared worker pool (pipelines/offload.py) on their own: batches by size
and by time, failures handed to every waiting item, sharing across crawlers, and the pool's
lifetime (one executor for all users, shut down by the last one)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from pipelines.offload import MicroBatcher, WorkerPool, run_in


@pytest.fixture(autouse=True)
def pool_released() -> Iterator[None]:
    yield
    assert WorkerPool._executor is None
    assert WorkerPool._users == 0
    assert not MicroBatcher._shared


class Recorder:
    """A batch function that remembers the batches it was given."""

    def __init__(self, fail_on: str = "") -> None:
        self.batches: list[list[str]] = []
        self.fail_on = fail_on

    async def __call__(self, payloads: list[str]) -> list[str]:
        self.batches.append(list(payloads))
        await asyncio.sleep(0)
        if self.fail_on in payloads:
            raise ValueError(f"bad payload {self.fail_on}")
        return [p.upper() for p in payloads]


def test_payloads_arriving_together_are_processed_in_batches_of_at_most_size() -> None:
    recorder = Recorder()

    async def scenario() -> list[str]:
        batcher = MicroBatcher(recorder, size=3, delay=0.05)
        return list(await asyncio.gather(*(batcher.submit(c) for c in "abcdefg")))

    assert asyncio.run(scenario()) == list("ABCDEFG")
    assert recorder.batches == [["a", "b", "c"], ["d", "e", "f"], ["g"]]


def test_a_lone_payload_waits_at_most_the_delay() -> None:
    recorder = Recorder()

    async def scenario() -> float:
        batcher = MicroBatcher(recorder, size=100, delay=0.05)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await batcher.submit("x") == "X"
        return loop.time() - started

    waited = asyncio.run(scenario())
    assert recorder.batches == [["x"]]
    assert waited >= 0.05


def test_payloads_within_the_delay_share_one_batch() -> None:
    recorder = Recorder()

    async def scenario() -> None:
        batcher = MicroBatcher(recorder, size=100, delay=0.2)
        first = asyncio.ensure_future(batcher.submit("a"))
        await asyncio.sleep(0.01)
        second = asyncio.ensure_future(batcher.submit("b"))
        assert await asyncio.gather(first, second) == ["A", "B"]

    asyncio.run(scenario())
    assert recorder.batches == [["a", "b"]]


def test_a_failing_batch_fails_every_item_of_it_and_only_those() -> None:
    recorder = Recorder(fail_on="e")

    async def scenario() -> list[object]:
        batcher = MicroBatcher(recorder, size=3, delay=0.05)
        return list(
            await asyncio.gather(*(batcher.submit(c) for c in "abcdef"), return_exceptions=True)
        )

    results = asyncio.run(scenario())
    assert results[:3] == ["A", "B", "C"]
    assert all(isinstance(r, ValueError) and "bad payload e" in str(r) for r in results[3:])


def test_drain_finishes_what_was_submitted() -> None:
    recorder = Recorder()

    async def scenario() -> None:
        batcher = MicroBatcher(recorder, size=100, delay=60)  # the timer would fire far too late
        pending = [asyncio.ensure_future(batcher.submit(c)) for c in "ab"]
        await asyncio.sleep(0)
        await batcher.drain()
        assert all(f.done() for f in pending)
        assert [f.result() for f in pending] == ["A", "B"]

    asyncio.run(scenario())
    assert recorder.batches == [["a", "b"]]


def test_crawlers_of_one_process_share_one_batcher_per_key() -> None:
    recorder, other = Recorder(), Recorder()
    try:
        first = MicroBatcher.shared("unit", recorder, 8, 0.0)
        second = MicroBatcher.shared("unit", other, 8, 0.0)
        elsewhere = MicroBatcher.shared(("unit", "en"), other, 8, 0.0)
        assert first is second
        assert second.process is recorder  # the first one's work is kept
        assert elsewhere is not first
    finally:
        MicroBatcher._shared.clear()


def test_zero_workers_runs_batches_in_a_thread_of_this_process() -> None:
    executor = WorkerPool.acquire(0)
    try:
        assert isinstance(executor, ThreadPoolExecutor)
        assert asyncio.run(run_in(executor, os.getpid)) == os.getpid()
    finally:
        WorkerPool.release()


def test_workers_are_other_processes_shared_by_every_user_until_the_last_leaves() -> None:
    first = WorkerPool.acquire(1)
    try:
        second = WorkerPool.acquire(1)
        assert second is first
        assert isinstance(first, ProcessPoolExecutor)
        assert asyncio.run(run_in(first, os.getpid)) != os.getpid()
        MicroBatcher.shared("unit", Recorder(), 8, 0.0)
        WorkerPool.release()
        assert WorkerPool._executor is first  # one user is left
        assert MicroBatcher._shared
    finally:
        WorkerPool.release()
    # the last user shut the pool down and forgot the batchers bound to it
    with pytest.raises(RuntimeError):
        first.submit(os.getpid)
