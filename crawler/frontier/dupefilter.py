"""The run's duplicate filter: exact (a Redis set of fingerprints), per run, and forgetful of failures.

It extends scrapy-redis's ``RFPDupeFilter`` (same fingerprint: method, canonical URL, body) in three
ways, each against a failure mode of scrapy-redis deployments:

- *a URL marked seen before it was fetched, never retried when the fetch failed*: marking and
  queueing are one atomic step (``scripts.PUSH``), and a request whose fetch finally failed is
  forgotten (:meth:`forget`), so a listing that shows it again, or the next run, fetches it again;
- *a seen set that never forgets*: the set belongs to one run and expires with it
  (``PATROLI_FRONTIER_TTL``); the next run starts with an empty one (unchanged ads are skipped by
  the incremental middleware, from the store, not by the frontier);
- *Bloom filters that silently drop unseen URLs*: it stays an exact set. At ~100 bytes per
  fingerprint in Redis, a million requests cost ~100 MB there and nothing in the workers.

An ad page's fingerprint also covers what its listing said about it (``meta["patroli_ad"]``): an ad
whose listing card changed during the run is fetched again.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from scrapy.http import Request
from scrapy_redis.dupefilter import RFPDupeFilter

from crawler.frontier.connection import Link

logger = logging.getLogger(__name__)


class FrontierDupeFilter(RFPDupeFilter):
    logger = logger

    def __init__(self, link: Link, key: str, debug: bool = False) -> None:
        super().__init__(link.redis, key=key, debug=debug)
        self.link = link

    def request_fingerprint(self, request: Request) -> str:
        fingerprint: str = super().request_fingerprint(request)
        ad: Any = request.meta.get("patroli_ad")
        if isinstance(ad, dict) and ad.get("native_id"):
            extra = f"{fingerprint}\x1f{ad['native_id']}\x1f{ad.get('fingerprint') or ''}"
            fingerprint = hashlib.sha1(extra.encode(), usedforsecurity=False).hexdigest()
        return fingerprint

    def request_seen(self, request: Request) -> bool:
        added = self.link.call(self.server.sadd, self.key, self.request_fingerprint(request))
        return added == 0

    def forget(self, request: Request) -> None:
        """The request failed for good: let it be queued again."""
        self.link.call(self.server.srem, self.key, self.request_fingerprint(request))

    def close(self, reason: str = "") -> None:
        """Keep the set: other workers of the run still use it (it expires with the run)."""

    def clear(self) -> None:
        self.link.call(self.server.delete, self.key)
