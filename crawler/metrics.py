"""A crawl run's numbers as Prometheus metrics: pushed to a Pushgateway when the run closes.

One definition of what a run counts (``RUN_COUNTS``), used here for the push and by the web app's
``/metrics`` for each source's latest recorded run. The push replaces the group ``job=patroli_crawl,
source=<source>``, so the gateway holds each source's latest run; Prometheus scrapes it
(``deploy/prometheus/prometheus.yml``). Settings: ``PATROLI_METRICS_PUSHGATEWAY``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

PUSH_JOB = "patroli_crawl"
RUN_STATUSES = ("ok", "degraded", "failed")
# (field of a run record, metric suffix, help)
RUN_COUNTS: tuple[tuple[str, str, str], ...] = (
    ("pages", "pages", "Pages the run downloaded."),
    ("items", "ads", "Ads the run read (new, changed or re-read)."),
    ("new", "new_ads", "Ads the run stored for the first time."),
    ("flagged", "flagged_ads", "Ads the run scored at or above the model's threshold."),
    ("errors", "errors", "Errors the run logged."),
    ("degraded_pages", "degraded_pages", "Pages without the expected content (layout changed?)."),
)


def seconds(value: Any) -> float | None:
    """An ISO 8601 time as Unix seconds, or None."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


def run_registry(run: Mapping[str, Any]) -> CollectorRegistry:
    """The metrics of one run record (``schema.RUN_FIELDS``), in a registry of their own."""
    registry = CollectorRegistry()
    for field, suffix, help_text in RUN_COUNTS:
        Gauge(f"patroli_crawl_{suffix}", help_text, registry=registry).set(int(run.get(field) or 0))
    status = Gauge(
        "patroli_crawl_status",
        "1 for the run's status (ok, degraded, failed).",
        ["status"],
        registry=registry,
    )
    for name in RUN_STATUSES:
        status.labels(name).set(1 if run.get("status") == name else 0)
    started, finished = seconds(run.get("started_at")), seconds(run.get("finished_at"))
    if finished is not None:
        Gauge(
            "patroli_crawl_finished_timestamp_seconds",
            "When the run ended (Unix time).",
            registry=registry,
        ).set(finished)
        if started is not None:
            Gauge(
                "patroli_crawl_duration_seconds", "How long the run took.", registry=registry
            ).set(max(0.0, finished - started))
    return registry


def push_run(run: Mapping[str, Any], gateway: str, timeout: float = 10.0) -> None:
    """Replace the source's group on the Pushgateway with this run's numbers (raises OSError)."""
    push_to_gateway(
        gateway,
        job=PUSH_JOB,
        grouping_key={"source": str(run.get("source") or "unknown")},
        registry=run_registry(run),
        timeout=timeout,
    )
