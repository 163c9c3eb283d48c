"""One Redis connection pool per worker process, and riding out a Redis that went away.

``client(url)`` gives every component of every crawl in the process the same client, built with
scrapy-redis's ``get_redis`` over one bounded connection pool: a worker holds a handful of
connections however many requests it has in flight (no connection storm when a hundred workers
start or reconnect at once). redis-py's own retries are off: an unreachable Redis is the
:class:`Link`'s business.

A :class:`Link` is one crawl's view of the frontier. Every Redis call goes through
:meth:`Link.call`; when Redis does not answer, the link goes *down*: callers get
:class:`FrontierDown` at once instead of a hang, new requests and acknowledgements wait in memory
(in order), and the link asks Redis again after 1 s, then 2, 4, … up to 30 s (``retry_due``). It
never spins and never crashes the crawl; after ``PATROLI_FRONTIER_MAX_OUTAGE`` the crawl closes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from scrapy_redis.connection import get_redis

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_CONNECTIONS = 8  # per process: the reactor thread, plus the store's and recorder's threads
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
ERRORS = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, OSError)

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def client(url: str) -> redis.Redis:
    """The process's one client (and connection pool) for ``url``."""
    with _clients_lock:
        found = _clients.get(url)
        if found is None:
            # A blocking pool: a caller beyond MAX_CONNECTIONS waits for a free connection
            # instead of opening another one.
            pool = redis.BlockingConnectionPool.from_url(
                url,
                max_connections=MAX_CONNECTIONS,
                timeout=10,
                socket_timeout=10,
                socket_connect_timeout=5,
                health_check_interval=15,
                retry=Retry(NoBackoff(), 0),
            )
            found = _clients[url] = get_redis(connection_pool=pool, retry=Retry(NoBackoff(), 0))
        return found


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=f"{user}{host}{port}").geturl()


class FrontierDown(Exception):
    """Redis does not answer now; the link will ask again later."""


class Link:
    """One crawl's connection state: up, or down since when and until when not to ask again."""

    def __init__(self, url: str, max_outage: float, clock: Callable[[], float] = time.monotonic):
        self.url = url
        self.redis = client(url)
        self.max_outage = max_outage
        self.clock = clock
        self.down_since: float | None = None
        self.retry_at = 0.0
        self.backoff = BACKOFF_FIRST
        self.outages = 0
        self.scripts: dict[str, Any] = {}

    @property
    def up(self) -> bool:
        return self.down_since is None

    def script(self, source: str) -> Any:
        """A registered Lua script (``crawler.frontier.scripts``), loaded once per link."""
        found = self.scripts.get(source)
        if found is None:
            found = self.scripts[source] = self.redis.register_script(source)
        return found

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args)`` against Redis; ``FrontierDown`` while Redis is away (no waiting)."""
        if self.down_since is not None and self.clock() < self.retry_at:
            raise FrontierDown(
                f"frontier unreachable, next try in {self.retry_at - self.clock():.0f} s"
            )
        try:
            result = function(*args, **kwargs)
        except ERRORS as exc:
            self._went_down(exc)
            raise FrontierDown(str(exc)) from exc
        if self.down_since is not None:
            logger.warning(
                "frontier %s is back after %.0f s",
                redacted(self.url),
                self.clock() - self.down_since,
            )
            self.down_since, self.backoff = None, BACKOFF_FIRST
        return result

    def retry_due(self) -> bool:
        return self.down_since is not None and self.clock() >= self.retry_at

    def outage_seconds(self) -> float:
        return 0.0 if self.down_since is None else self.clock() - self.down_since

    def gave_up(self) -> bool:
        return self.down_since is not None and self.outage_seconds() > self.max_outage

    def _went_down(self, exc: BaseException) -> None:
        now = self.clock()
        if self.down_since is None:
            self.down_since = now
            self.outages += 1
            logger.error(
                "frontier %s unreachable (%s): waiting for it, retrying with backoff",
                redacted(self.url),
                exc,
            )
        else:
            self.backoff = min(self.backoff * 2, BACKOFF_MAX)
        self.retry_at = now + self.backoff
