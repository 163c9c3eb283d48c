"""The names of the frontier's Redis keys, in one place (``PATROLI_FRONTIER_PREFIX``, default
``patroli``)::

    {prefix}:lock:{source}              the run lock: the id of the source's current run (expires)
    {prefix}:last:{source}              the id of the source's latest run (``--resume`` finds it)
    {prefix}:runs                       open runs, "{source} {run_id}" (``patroli worker`` joins them)
    {prefix}:run:{source}:{run}:queue   requests waiting (a scrapy-redis priority queue)
    …:seen                              fingerprints of requests queued in this run (exact, a set)
    …:inflight / …:owners               requests a worker took and has not finished: data / worker
    …:workers, …:hb:{worker}            the run's live workers and their heartbeats (expire)
    …:stats                             each worker's Scrapy stats, as JSON (the run record sums them)
    …:meta                              the run: started_at, state, workers joined and lost, outcome
    {prefix}:host:{host}:slots / :next  one politeness budget per host, across workers
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RunKeys:
    prefix: str
    source: str
    run_id: str

    @property
    def base(self) -> str:
        return f"{self.prefix}:run:{self.source}:{self.run_id}"

    def __getattr__(self, name: str) -> str:  # queue, seen, inflight, … (see the module docstring)
        if name in RUN_PARTS:
            return f"{self.base}:{name}"
        raise AttributeError(name)

    def heartbeat(self, worker: str) -> str:
        return f"{self.base}:hb:{worker}"

    @property
    def heartbeat_prefix(self) -> str:
        return f"{self.base}:hb:"

    @property
    def lock(self) -> str:
        return lock_key(self.prefix, self.source)

    @property
    def listed(self) -> str:
        """How the run is listed in ``{prefix}:runs``."""
        return f"{self.source} {self.run_id}"

    def all_parts(self) -> list[str]:
        return [f"{self.base}:{part}" for part in RUN_PARTS]


RUN_PARTS = ("queue", "seen", "inflight", "owners", "seq", "workers", "stats", "meta")


def lock_key(prefix: str, source: str) -> str:
    return f"{prefix}:lock:{source}"


def last_key(prefix: str, source: str) -> str:
    return f"{prefix}:last:{source}"


def runs_key(prefix: str) -> str:
    return f"{prefix}:runs"


def host_keys(prefix: str, host: str) -> tuple[str, str]:
    return f"{prefix}:host:{host}:slots", f"{prefix}:host:{host}:next"
