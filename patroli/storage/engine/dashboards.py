"""Saved objects for Kibana and OpenSearch Dashboards over patroli's aliases: index patterns (data
views) of ads and runs, visualizations, and three dashboards (a patrol overview, flagged ads by
destination and source, runs).

They are made here from the index names (``indices.IndexNames``) so that another ``--prefix``
gets its own set, and written as NDJSON (``export_ndjson``), the format both tools import at
``POST /api/saved_objects/_import`` (``import_ndjson``; ``patroli index dashboards``). The
objects use the aggregation-based ``visualization`` type that Kibana 8/9 and OpenSearch Dashboards
2/3 both still import; the two flavours differ only in the XSRF header of the import call.
``deploy/dashboards/*.ndjson`` are the exports for the default prefix (the tests check them, and
that every field a visualization uses is an aggregatable field of the mappings).
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

from patroli.storage.engine.indices import IndexNames

FLAVOURS = ("kibana", "opensearch-dashboards")
XSRF_HEADER = {"kibana": "kbn-xsrf", "opensearch-dashboards": "osd-xsrf"}
# The saved-object versions these objects are written in: both tools migrate from them on import.
MIGRATION = {"index-pattern": "7.6.0", "visualization": "7.10.0", "dashboard": "7.9.3"}
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
FLAGGED = "flagged : true"
QUEUE = 'flagged : true and status : "new"'

Obj = dict[str, Any]


def _id(prefix: str, name: str) -> str:
    """A stable id per prefix and object: re-importing overwrites instead of duplicating."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"patroli:{prefix}:{name}"))


def _search_source(query: str = "", with_index: bool = True) -> str:
    source: dict[str, Any] = {"query": {"query": query, "language": "kuery"}, "filter": []}
    if with_index:
        source["indexRefName"] = INDEX_REF
    return json.dumps(source)


def _count() -> dict[str, Any]:
    return {"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}}


def _metric(agg_id: str, kind: str, field: str, label: str) -> dict[str, Any]:
    return {
        "id": agg_id,
        "enabled": True,
        "type": kind,
        "schema": "metric",
        "params": {"field": field, "customLabel": label},
    }


def _terms(
    agg_id: str, field: str, schema: str, size: int = 10, label: str = "", order_by: str = "1"
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "field": field,
        "size": size,
        "order": "desc",
        "orderBy": order_by,
        "otherBucket": False,
        "missingBucket": False,
    }
    if label:
        params["customLabel"] = label
    return {"id": agg_id, "enabled": True, "type": "terms", "schema": schema, "params": params}


def _days(agg_id: str, field: str) -> dict[str, Any]:
    return {
        "id": agg_id,
        "enabled": True,
        "type": "date_histogram",
        "schema": "segment",
        "params": {
            "field": field,
            "useNormalizedEsInterval": True,
            "interval": "d",
            "drop_partials": False,
            "min_doc_count": 1,
            "extended_bounds": {},
        },
    }


def _bars(horizontal: bool = False) -> dict[str, Any]:
    value_axis = {
        "id": "ValueAxis-1",
        "name": "LeftAxis-1",
        "type": "value",
        "position": "bottom" if horizontal else "left",
        "show": True,
        "style": {},
        "scale": {"type": "linear", "mode": "normal"},
        "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
        "title": {},
    }
    return {
        "type": "horizontal_bar" if horizontal else "histogram",
        "grid": {"categoryLines": False},
        "categoryAxes": [
            {
                "id": "CategoryAxis-1",
                "type": "category",
                "position": "left" if horizontal else "bottom",
                "show": True,
                "style": {},
                "scale": {"type": "linear"},
                "labels": {"show": True, "filter": not horizontal, "truncate": 200},
                "title": {},
            }
        ],
        "valueAxes": [value_axis],
        "seriesParams": [
            {
                "show": True,
                "type": "histogram",
                "mode": "stacked",
                "data": {"label": "Count", "id": "1"},
                "valueAxis": "ValueAxis-1",
                "drawLinesBetweenPoints": True,
                "lineWidth": 2,
                "showCircles": True,
            }
        ],
        "addTooltip": True,
        "addLegend": True,
        "legendPosition": "right",
        "times": [],
        "addTimeMarker": False,
        "labels": {"show": False},
        "thresholdLine": {
            "show": False,
            "value": 10,
            "width": 1,
            "style": "full",
            "color": "#E7664C",
        },
    }


PIE = {
    "type": "pie",
    "addTooltip": True,
    "addLegend": True,
    "legendPosition": "right",
    "isDonut": True,
    "labels": {"show": True, "values": True, "last_level": True, "truncate": 100},
}
TABLE = {
    "perPage": 20,
    "showPartialRows": False,
    "showMetricsAtAllLevels": False,
    "sort": {"columnIndex": None, "direction": None},
    "showTotal": True,
    "totalFunc": "sum",
    "percentageCol": "",
}
METRIC = {
    "addTooltip": True,
    "addLegend": False,
    "type": "metric",
    "metric": {
        "percentageMode": False,
        "useRanges": False,
        "colorSchema": "Green to Red",
        "metricColorMode": "None",
        "colorsRange": [{"from": 0, "to": 10000}],
        "labels": {"show": True},
        "invertColors": False,
        "style": {
            "bgFill": "#000",
            "bgColor": False,
            "labelColor": False,
            "subText": "",
            "fontSize": 60,
        },
    },
}


def _visualization(
    prefix: str,
    name: str,
    title: str,
    vis_type: str,
    params: dict[str, Any],
    aggs: list[dict[str, Any]],
    pattern: str,
    query: str = "",
    description: str = "",
) -> Obj:
    state = {"title": title, "type": vis_type, "params": params, "aggs": aggs}
    return {
        "id": _id(prefix, name),
        "type": "visualization",
        "migrationVersion": {"visualization": MIGRATION["visualization"]},
        "attributes": {
            "title": title,
            "description": description,
            "visState": json.dumps(state),
            "uiStateJSON": "{}",
            "version": 1,
            "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(query)},
        },
        "references": [{"name": INDEX_REF, "type": "index-pattern", "id": pattern}],
    }


def _dashboard(prefix: str, name: str, title: str, description: str, panels: list[Obj]) -> Obj:
    layout, references = [], []
    for i, panel in enumerate(panels):
        width = 24 if len(panels) > 1 else 48
        layout.append(
            {
                "version": "7.10.0",
                "panelIndex": str(i + 1),
                "embeddableConfig": {},
                "gridData": {
                    "x": (i % 2) * 24,
                    "y": (i // 2) * 15,
                    "w": width,
                    "h": 15,
                    "i": str(i + 1),
                },
                "panelRefName": f"panel_{i}",
            }
        )
        references.append({"name": f"panel_{i}", "type": "visualization", "id": panel["id"]})
    return {
        "id": _id(prefix, name),
        "type": "dashboard",
        "migrationVersion": {"dashboard": MIGRATION["dashboard"]},
        "attributes": {
            "title": title,
            "description": description,
            "hits": 0,
            "panelsJSON": json.dumps(layout),
            "optionsJSON": json.dumps({"hidePanelTitles": False, "useMargins": True}),
            "version": 1,
            "timeRestore": True,
            "timeFrom": "now-30d",
            "timeTo": "now",
            "refreshInterval": {"pause": True, "value": 0},
            "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(with_index=False)},
        },
        "references": references,
    }


def saved_objects(prefix: str = "patroli") -> list[Obj]:
    """Every object, index patterns first (the order an import needs)."""
    names = IndexNames(prefix)
    ads, runs = names.alias("ads"), names.alias("runs")
    patterns = [
        {
            "id": ads,
            "type": "index-pattern",
            "migrationVersion": {"index-pattern": MIGRATION["index-pattern"]},
            "attributes": {"title": ads, "timeFieldName": "first_seen"},
            "references": [],
        },
        # Runs keep their times as keywords (storage.engine.indices): no time field, sorted by key.
        {
            "id": runs,
            "type": "index-pattern",
            "migrationVersion": {"index-pattern": MIGRATION["index-pattern"]},
            "attributes": {"title": runs},
            "references": [],
        },
    ]
    per_day = _visualization(
        prefix,
        "ads-per-day",
        f"{prefix}: ads first seen per day, by source",
        "histogram",
        _bars(),
        [_count(), _days("2", "first_seen"), _terms("3", "source", "group")],
        ads,
    )
    by_destination = _visualization(
        prefix,
        "flagged-by-destination",
        f"{prefix}: flagged ads by destination",
        "horizontal_bar",
        _bars(horizontal=True),
        [_count(), _terms("2", "countries", "segment", 20, "Destination")],
        ads,
        FLAGGED,
    )
    by_source = _visualization(
        prefix,
        "flagged-by-source",
        f"{prefix}: flagged ads by source",
        "pie",
        PIE,
        [_count(), _terms("2", "source", "segment", 20, "Source")],
        ads,
        FLAGGED,
    )
    matrix = _visualization(
        prefix,
        "flagged-destination-source",
        f"{prefix}: flagged ads, destination × source",
        "table",
        TABLE,
        [
            _count(),
            _terms("2", "countries", "bucket", 20, "Destination"),
            _terms("3", "source", "bucket", 20, "Source"),
            _metric("4", "max", "risk", "Highest risk"),
        ],
        ads,
        FLAGGED,
    )
    status = _visualization(
        prefix,
        "review-status",
        f"{prefix}: flagged ads by review status",
        "pie",
        PIE,
        [_count(), _terms("2", "status", "segment", 5, "Status")],
        ads,
        FLAGGED,
    )
    queue = _visualization(
        prefix,
        "review-queue",
        f"{prefix}: review queue (flagged, undecided)",
        "metric",
        METRIC,
        [_count()],
        ads,
        QUEUE,
    )
    run_counts = ("pages", "items", "new", "flagged", "errors", "degraded_pages")
    recent_runs = _visualization(
        prefix,
        "recent-runs",
        f"{prefix}: recent runs",
        "table",
        TABLE,
        [
            _count(),
            _terms("2", "started_at", "bucket", 30, "Started", order_by="_key"),
            _terms("3", "source", "bucket", 20, "Source"),
            _terms("4", "status", "bucket", 3, "Status"),
            *[_metric(str(5 + i), "sum", name, name) for i, name in enumerate(run_counts)],
        ],
        runs,
    )
    per_source_runs = _visualization(
        prefix,
        "runs-by-source-status",
        f"{prefix}: runs by source and status",
        "histogram",
        _bars(),
        [
            _count(),
            {**_terms("2", "source", "segment", 20, "Source"), "schema": "segment"},
            _terms("3", "status", "group", 3, "Status"),
        ],
        runs,
    )
    visualizations = [
        per_day,
        by_destination,
        by_source,
        matrix,
        status,
        queue,
        recent_runs,
        per_source_runs,
    ]
    dashboards = [
        _dashboard(
            prefix,
            "overview",
            f"{prefix}: patrol overview",
            "Ads crawled per day, the review queue, flagged ads by destination, source and status.",
            [per_day, queue, by_destination, by_source, status, recent_runs],
        ),
        _dashboard(
            prefix,
            "flagged",
            f"{prefix}: flagged ads by destination and source",
            "Where flagged ads send workers, and where they were found.",
            [by_destination, by_source, matrix],
        ),
        _dashboard(
            prefix,
            "runs",
            f"{prefix}: runs",
            "Each source's crawl runs: pages, ads, new, "
            "flagged, errors and degraded pages, by status.",
            [recent_runs, per_source_runs],
        ),
    ]
    return [*patterns, *visualizations, *dashboards]


def export_ndjson(prefix: str = "patroli") -> str:
    """The saved objects as NDJSON, one object per line (what ``_import`` takes)."""
    return "".join(
        json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n" for obj in saved_objects(prefix)
    )


def import_ndjson(
    url: str,
    ndjson: str,
    flavour: str,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """POST the objects to ``url``'s ``/api/saved_objects/_import?overwrite=true`` (multipart, as
    the tools' own UI does); return the tool's answer (``success``, ``successCount``, ``errors``)."""
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {', '.join(FLAVOURS)}")
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="patroli.ndjson"\r\n'
        f"Content-Type: application/ndjson\r\n\r\n{ndjson}\r\n--{boundary}--\r\n"
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - the operator's own dashboards URL
        url.rstrip("/") + "/api/saved_objects/_import?overwrite=true",
        data=body,
        method="POST",
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            XSRF_HEADER[flavour]: "true",
            **(headers or {}),
        },
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        answer: dict[str, Any] = json.loads(response.read() or b"{}")
    return answer
