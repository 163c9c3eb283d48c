"""A source's run on the shared frontier: opened once, joined by any number of workers, recorded once.

A run is the source's frontier for one patrol. ``open_run`` takes the source's run lock (a Redis key
that expires unless a live worker renews it: ``PATROLI_FRONTIER_LOCK_TTL``) or, when another
``patroli crawl`` already holds it, returns that run so the caller works on it too. Each worker
then joins, keeps a heartbeat (``PATROLI_FRONTIER_LEASE``), pushes its Scrapy stats every few
seconds, and leaves when the frontier is drained. The last worker to leave claims the recorder
role (exactly one does) and records one run whose counts add up every worker's
(:func:`aggregate_stats`), then closes the run: its outcome stays in Redis for the other workers,
the lock is freed.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crawler.frontier import scripts
from crawler.frontier.connection import Link
from crawler.frontier.keys import RunKeys, last_key, lock_key, runs_key

# Stats summed over workers, except these, whose largest value is the run's.
_MAX_STATS = frozenset({"patroli/incremental/known", "memusage/max", "memusage/startup"})
WORKERS_STAT = "patroli/run/workers"
WORKERS_LOST_STAT = "patroli/run/workers_lost"
REQUEUED_STAT = "patroli/frontier/requeued"
OUTAGES_STAT = "patroli/frontier/outages"
MAX_LISTED = 50  # longest list kept when lists of several workers are joined (degraded URLs)


def new_worker_id() -> str:
    """Who a worker is, for operators: host, process, and a few random characters."""
    host = socket.gethostname().replace(" ", "_")[:40]
    return f"{host}-{os.getpid()}-{secrets.token_hex(2)}"


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


@dataclass(slots=True)
class FrontierRun:
    link: Link
    keys: RunKeys
    worker: str
    lease: float
    lock_ttl: float
    ttl: float

    @property
    def run_id(self) -> str:
        return self.keys.run_id

    # --- opening, joining ----------------------------------------------------------------------

    def join(self) -> bool:
        """Join the run as one of its workers; False when the run is over."""
        joined = self.link.call(
            self.link.script(scripts.JOIN),
            keys=[
                self.keys.lock,
                self.keys.meta,
                self.keys.workers,
                self.keys.heartbeat(self.worker),
                runs_key(self.keys.prefix),
            ],
            args=[
                self.run_id,
                self.worker,
                _ms(self.lock_ttl),
                _ms(self.lease),
                self.keys.listed,
                _now(),
            ],
        )
        return bool(joined)

    def renew(self) -> bool:
        """Keep the heartbeat and the run lock alive; False when the lock names another run."""
        renewed = self.link.call(
            self.link.script(scripts.RENEW),
            keys=[self.keys.lock, self.keys.heartbeat(self.worker)],
            args=[self.run_id, _ms(self.lock_ttl), _ms(self.lease)],
        )
        return bool(renewed)

    def expire_later(self) -> None:
        """Push back the expiry of every key of the run (``PATROLI_FRONTIER_TTL``)."""

        def expire() -> None:
            with self.link.redis.pipeline(transaction=False) as pipe:
                for key in self.keys.all_parts():
                    pipe.pexpire(key, _ms(self.ttl))
                pipe.execute()

        self.link.call(expire)

    # --- the frontier's state ------------------------------------------------------------------

    def sizes(self) -> tuple[int, int]:
        """(requests queued, requests in flight at some worker)."""
        queued, inflight = self.link.call(
            self.link.script(scripts.SIZES), keys=[self.keys.queue, self.keys.inflight]
        )
        return int(queued), int(inflight)

    def requeue_lost(self) -> tuple[int, int]:
        """Put back what lost workers had taken; (requests requeued, workers found lost)."""
        requeued, lost = self.link.call(
            self.link.script(scripts.REQUEUE_LOST),
            keys=[
                self.keys.queue,
                self.keys.inflight,
                self.keys.owners,
                self.keys.workers,
                self.keys.meta,
            ],
            args=[self.keys.heartbeat_prefix],
        )
        return int(requeued), int(lost)

    # --- stats, leaving, recording -------------------------------------------------------------

    def push_stats(self, stats: Mapping[str, Any]) -> None:
        self.link.call(self.link.redis.hset, self.keys.stats, self.worker, dump_stats(stats))

    def leave(self) -> int:
        """Leave the run; how many live workers remain."""
        remaining = self.link.call(
            self.link.script(scripts.LEAVE),
            keys=[self.keys.workers, self.keys.heartbeat(self.worker)],
            args=[self.worker, self.keys.heartbeat_prefix],
        )
        return int(remaining)

    def flag_incomplete(self) -> None:
        """This worker saw part of the listing fail (or cut short): nothing may be marked gone."""
        self.link.call(self.link.redis.hset, self.keys.meta, "listing_incomplete", "1")

    def live_workers(self) -> int:
        members = self.link.call(self.link.redis.smembers, self.keys.workers)
        if not members:
            return 0
        alive = self.link.call(
            self.link.redis.exists, *(self.keys.heartbeat(_text(m)) for m in members)
        )
        return int(alive)

    def claim_recorder(self) -> bool:
        return bool(
            self.link.call(
                self.link.script(scripts.CLAIM_RECORDER), keys=[self.keys.meta], args=[self.worker]
            )
        )

    def worker_stats(self) -> list[dict[str, Any]]:
        raw = self.link.call(self.link.redis.hgetall, self.keys.stats)
        return [json.loads(value) for value in raw.values()]

    def meta(self) -> dict[str, str]:
        raw = self.link.call(self.link.redis.hgetall, self.keys.meta)
        return {_text(k): _text(v) for k, v in raw.items()}

    def close(self, outcome: Mapping[str, Any]) -> None:
        self.link.call(
            self.link.script(scripts.CLOSE),
            keys=[self.keys.lock, runs_key(self.keys.prefix), self.keys.meta],
            args=[self.run_id, self.keys.listed, json.dumps(outcome, default=str)],
        )

    def outcome(self) -> dict[str, Any] | None:
        raw = self.link.call(self.link.redis.hget, self.keys.meta, "outcome")
        return json.loads(raw) if raw else None


def open_run(
    link: Link,
    prefix: str,
    source: str,
    *,
    worker: str,
    lease: float,
    lock_ttl: float,
    ttl: float,
    resume: bool = False,
    join_only: bool = False,
) -> tuple[FrontierRun | None, bool]:
    """(the run to work on, whether it was opened now); (None, False) when there is nothing to join.

    Without ``join_only`` a source without a current run gets a new one (with ``resume``: its
    latest run again, if Redis still has it). Raises ``FrontierDown`` while Redis is away."""
    redis = link.redis
    current = link.call(redis.get, lock_key(prefix, source))
    opened = False
    if current is None and resume:
        last = link.call(redis.get, last_key(prefix, source))
        if last is not None:
            keys = RunKeys(prefix, source, _text(last))
            resumed = link.call(
                link.script(scripts.RESUME),
                keys=[keys.lock, keys.meta, runs_key(prefix)],
                args=[keys.run_id, _ms(lock_ttl), keys.listed],
            )
            current = last if resumed else link.call(redis.get, lock_key(prefix, source))
    if current is None:
        if join_only:
            return None, False
        run_id = uuid.uuid4().hex[:16]
        keys = RunKeys(prefix, source, run_id)
        current = link.call(
            link.script(scripts.OPEN),
            keys=[keys.lock, keys.meta, last_key(prefix, source), runs_key(prefix)],
            args=[run_id, _ms(lock_ttl), keys.listed, _now(), _ms(ttl)],
        )
        opened = _text(current) == run_id
    run = FrontierRun(link, RunKeys(prefix, source, _text(current)), worker, lease, lock_ttl, ttl)
    if not run.join():
        return None, False
    return run, opened


def announce_run(link: Link, prefix: str, source: str, *, lock_ttl: float, ttl: float) -> bool:
    """Open a run of ``source`` for workers to join (``patroli schedule --frontier``); False when
    the source's previous run still holds the lock."""
    run_id = uuid.uuid4().hex[:16]
    keys = RunKeys(prefix, source, run_id)
    current = link.call(
        link.script(scripts.OPEN),
        keys=[keys.lock, keys.meta, last_key(prefix, source), runs_key(prefix)],
        args=[run_id, _ms(lock_ttl), keys.listed, _now(), _ms(ttl)],
    )
    return _text(current) == run_id


def open_runs(link: Link, prefix: str) -> list[tuple[str, str]]:
    """(source, run id) of every open run, for workers looking for work."""
    members = link.call(link.redis.smembers, runs_key(prefix))
    return sorted(tuple(_text(m).split(" ", 1)) for m in members)  # type: ignore[misc]


# --- stats of several workers as one run -----------------------------------------------------


def dump_stats(stats: Mapping[str, Any]) -> str:
    """A worker's Scrapy stats as JSON (dates as ISO 8601)."""
    return json.dumps(
        {k: v for k, v in stats.items() if isinstance(v, int | float | str | list | datetime)},
        default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v),
    )


def aggregate_stats(workers: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One run's stats from its workers': counts summed (a few maxima), the earliest start, the
    latest finish, lists joined; ``patroli/run/workers`` says how many workers there were."""
    total: dict[str, Any] = {}
    count = 0
    for stats in workers:
        count += 1
        for key, value in stats.items():
            if key == "start_time":
                total[key] = min(total.get(key, value), value)
            elif key == "finish_time":
                total[key] = max(total.get(key, value), value)
            elif isinstance(value, (bool, str)):
                total.setdefault(key, value)
            elif isinstance(value, int | float):
                if key in _MAX_STATS:
                    total[key] = max(total.get(key, value), value)
                else:
                    total[key] = total.get(key, 0) + value
            elif isinstance(value, list):
                joined = total.setdefault(key, [])
                joined.extend(v for v in value if v not in joined and len(joined) < MAX_LISTED)
    if "start_time" in total and "finish_time" in total:
        started = datetime.fromisoformat(total["start_time"])
        finished = datetime.fromisoformat(total["finish_time"])
        total["elapsed_time_seconds"] = (finished - started).total_seconds()
    total[WORKERS_STAT] = count
    return total


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
