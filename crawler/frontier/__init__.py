"""The distributed frontier: many crawl workers, on any number of machines, sharing one run per source.

Off by default (``PATROLI_FRONTIER`` empty: a crawl is one process with Scrapy's own scheduler).
With a ``redis://`` URL the crawl's scheduler, duplicate filter and politeness budget live in Redis,
built on scrapy-redis (rmax/scrapy-redis): ``scheduler`` (leased requests, outages), ``dupefilter``
(exact, per run, forgets failures), ``politeness`` (one budget per host for all workers),
``extension`` (heartbeats, acknowledgements, closing when the frontier is drained), ``runs`` (the run
lock, joining, leaving, one run record for all workers), ``keys`` (every key's name), ``scripts``
(the atomic steps), ``connection`` (one pool per process, backoff), ``serializer`` (JSON, never
pickle). ``docs/scale.md`` explains how to deploy it.
"""

from __future__ import annotations

from typing import Any

FRONTIER_META = "patroli_frontier"  # request.meta key of a leased request's token

EXTENSION = "crawler.frontier.extension.FrontierExtension"
POLITENESS = "crawler.frontier.politeness.SharedPolitenessMiddleware"
POLITENESS_ORDER = 650  # after RedirectMiddleware (600): its slot is released before a redirect
FAILURES = "crawler.frontier.politeness.FailedRequestMiddleware"
FAILURES_ORDER = 540  # before the retry middleware (550): sees what it gave up on


def frontier_settings(
    base: Any, *, url: str, source: str, run_id: str, worker: str
) -> dict[str, Any]:
    """Settings that put one crawl on a run's frontier (``base``: the crawl's settings so far)."""
    from crawler.frontier.state import RUN_ID_SETTING, SOURCE_SETTING, WORKER_SETTING

    extensions = dict(base.getdict("EXTENSIONS"))
    extensions[EXTENSION] = 100
    middlewares = dict(base.getdict("DOWNLOADER_MIDDLEWARES"))
    middlewares[POLITENESS] = POLITENESS_ORDER
    middlewares[FAILURES] = FAILURES_ORDER
    return {
        "PATROLI_FRONTIER": url,
        "SCHEDULER": "crawler.frontier.scheduler.FrontierScheduler",
        "SCHEDULER_SERIALIZER": "crawler.frontier.serializer",
        "SCHEDULER_PERSIST": True,
        "EXTENSIONS": extensions,
        "DOWNLOADER_MIDDLEWARES": middlewares,
        RUN_ID_SETTING: run_id,
        SOURCE_SETTING: source,
        WORKER_SETTING: worker,
        "JOBDIR": None,
    }
