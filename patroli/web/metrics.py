"""Prometheus metrics of the web app at ``/metrics`` (``prometheus_client``).

Read from the store when Prometheus scrapes, so every web process reports the same numbers and a
restart loses nothing: ads per status, the review queue's size and age, decisions (a counter: the
review history only grows) and those of the last 24 hours, each source's latest recorded run
(pages, ads, new, flagged, errors, degraded pages, status; the same counts ``crawler.metrics``
pushes per run), the active model's version and threshold, and how long these store reads took.
Measured in the process: the latency of every store call the app makes, per operation, and the
API calls per endpoint and status.

``/metrics`` wants a token of scope ``metrics`` whose owner is an active admin
(``patroli users token create NAME --scope metrics``; Prometheus sends it with
``authorization: {type: Bearer, credentials_file: …}``). It is audited on refusal only (a scrape
every 15 s would drown the audit log).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crawler.metrics import RUN_COUNTS, RUN_STATUSES, seconds
from patroli.storage import Store, StoreError
from patroli.storage.schema import DECISIONS, STATUSES
from patroli.web.routing import AppState

STORE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class AppMetrics:
    """The app's own registry: what is measured in the process, and the store read at scrapes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.store_seconds = Histogram(
            "patroli_store_request_seconds",
            "Latency of the web app's store calls.",
            ["operation"],
            buckets=STORE_BUCKETS,
            registry=self.registry,
        )
        self.api_requests = Counter(
            "patroli_api_requests",
            "HTTP API calls per endpoint and status.",
            ["endpoint", "status"],
            registry=self.registry,
        )

    def watch(self, store: Store) -> None:
        """Read the store's numbers at every scrape."""
        self.registry.register(StoreCollector(store))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class TimedStore:
    """The store, with the latency of every call recorded per operation (the method's name)."""

    def __init__(self, store: Store, histogram: Histogram) -> None:
        self._store = store
        self._histogram = histogram

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        if not callable(value) or name.startswith("_"):
            return value
        observe = self._histogram.labels(name).observe

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                observe(time.perf_counter() - started)

        return timed


def timed(store: Store, metrics: AppMetrics) -> Store:
    return cast(Store, TimedStore(store, metrics.store_seconds))


class StoreCollector(Collector):
    """The store's numbers, read when Prometheus scrapes."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        up = GaugeMetricFamily("patroli_store_up", "1 when the store answered this scrape.")
        try:
            families = list(self._from_store())
        except StoreError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families
        yield from _model()
        took = GaugeMetricFamily(
            "patroli_store_scrape_seconds", "How long this scrape's store reads took."
        )
        took.add_metric([], time.perf_counter() - started)
        yield took

    def _from_store(self) -> Iterator[Metric]:
        store = self.store
        ads = GaugeMetricFamily("patroli_ads", "Stored ads per review status.", labels=["status"])
        for status in STATUSES:
            ads.add_metric([status], store.count(f"status:{status}"))
        yield ads
        flagged = GaugeMetricFamily(
            "patroli_ads_flagged", "Stored ads scored at or above the threshold."
        )
        flagged.add_metric([], store.count("flagged:true"))
        yield flagged
        yield from _queue(store.stats(days=1).get("backlog") or {})
        yield from _decisions(store)
        yield from _latest_runs(store.list_runs(limit=500))


def _queue(backlog: dict[str, Any]) -> Iterator[Metric]:
    size = GaugeMetricFamily("patroli_queue_size", "Flagged ads waiting for a decision.")
    size.add_metric([], int(backlog.get("count") or 0))
    yield size
    oldest = seconds(backlog.get("oldest"))
    age = GaugeMetricFamily(
        "patroli_queue_oldest_age_seconds", "Age of the oldest ad waiting for a decision."
    )
    age.add_metric([], max(0.0, time.time() - oldest) if oldest is not None else 0.0)
    yield age
    median = GaugeMetricFamily(
        "patroli_queue_median_age_seconds", "Median age of the ads waiting for a decision."
    )
    median.add_metric([], float(backlog.get("median_age_days") or 0.0) * 86400)
    yield median


def _decisions(store: Store) -> Iterator[Metric]:
    total = CounterMetricFamily(
        "patroli_decisions", "Decisions ever recorded, per decision.", labels=["decision"]
    )
    every = store.decision_counts()
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    recent = store.decision_counts(since=since)
    day = GaugeMetricFamily(
        "patroli_decisions_last_24h", "Decisions in the last 24 hours.", labels=["decision"]
    )
    for decision in DECISIONS:
        total.add_metric([decision], every.get(decision, 0))
        day.add_metric([decision], recent.get(decision, 0))
    yield total
    yield day


def _latest_runs(runs: list[dict[str, Any]]) -> Iterator[Metric]:
    latest: dict[str, dict[str, Any]] = {}
    for run in runs:  # newest first
        latest.setdefault(str(run.get("source") or ""), run)
    families: list[tuple[str, GaugeMetricFamily]] = [
        (
            field,
            GaugeMetricFamily(
                f"patroli_last_run_{suffix}", f"Latest run per source: {text}", labels=["source"]
            ),
        )
        for field, suffix, text in RUN_COUNTS
    ]
    status = GaugeMetricFamily(
        "patroli_last_run_status",
        "Latest run per source: 1 for its status.",
        labels=["source", "status"],
    )
    finished = GaugeMetricFamily(
        "patroli_last_run_finished_timestamp_seconds",
        "Latest run per source: when it ended (Unix time).",
        labels=["source"],
    )
    for source, run in sorted(latest.items()):
        for field, family in families:
            family.add_metric([source], int(run.get(field) or 0))
        for name in RUN_STATUSES:
            status.add_metric([source, name], 1 if run.get("status") == name else 0)
        ended = seconds(run.get("finished_at"))
        if ended is not None:
            finished.add_metric([source], ended)
    for _, family in families:
        yield family
    yield status
    yield finished


def _model() -> Iterator[Metric]:
    from classifiers.registry import ModelError, active_version, find_model, read_card

    info = GaugeMetricFamily("patroli_model_info", "The active model (1).", labels=["version"])
    threshold = GaugeMetricFamily("patroli_model_threshold", "The active model's flag threshold.")
    try:
        version = active_version()
        card = read_card(find_model(version))
    except ModelError:
        return
    info.add_metric([version], 1)
    threshold.add_metric([], float(card["threshold"]))
    yield info
    yield threshold


def metrics_route(state: AppState, metrics: AppMetrics) -> Route:
    from patroli.web.api.routing import authenticate

    async def serve(request: Request) -> Response:
        outcome = await run_in_threadpool(authenticate, state, request, "metrics")
        if isinstance(outcome, Response):
            return outcome
        body = await run_in_threadpool(metrics.render)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    return Route("/metrics", serve, methods=["GET"], name="metrics")
