"""The Kibana / OpenSearch Dashboards saved objects (deploy/dashboards/patroli.ndjson): valid NDJSON
in the saved-objects import format, attributes only of each type's (strict) mapping, every
reference resolving inside the file, and every field a visualization uses an aggregatable field of
patroli's index mappings (patroli/storage/engine/indices.py). Kibana and Dashboards are not run
here; the import call itself is tested against a loopback stand-in."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from patroli.storage.engine.dashboards import export_ndjson, import_ndjson, saved_objects
from patroli.storage.engine.indices import KINDS, IndexNames, kind_properties
from tests.helpers.cli import ROOT, run_patroli

SHIPPED = ROOT / "deploy" / "dashboards" / "patroli.ndjson"
# The attributes each type's saved-object mapping allows (Kibana 7.10 and OpenSearch Dashboards
# keep these mappings "strict": an unknown attribute fails the import).
ATTRIBUTES = {
    "index-pattern": {
        "title",
        "timeFieldName",
        "fields",
        "fieldFormatMap",
        "intervalName",
        "notExpandable",
        "sourceFilters",
        "type",
        "typeMeta",
    },
    "visualization": {
        "title",
        "description",
        "visState",
        "uiStateJSON",
        "version",
        "kibanaSavedObjectMeta",
        "savedSearchRefName",
    },
    "dashboard": {
        "title",
        "description",
        "hits",
        "panelsJSON",
        "optionsJSON",
        "version",
        "timeRestore",
        "timeFrom",
        "timeTo",
        "refreshInterval",
        "kibanaSavedObjectMeta",
    },
}
SAVED_OBJECT = {
    "type": "object",
    "required": ["id", "type", "attributes", "references"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "type": {"enum": list(ATTRIBUTES)},
        "attributes": {"type": "object", "required": ["title"]},
        "references": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "type", "id"],
                "properties": {k: {"type": "string"} for k in ("name", "type", "id")},
                "additionalProperties": False,
            },
        },
        "migrationVersion": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}
AGGREGATABLE = {"keyword", "date", "long", "integer", "float", "boolean"}
VISUALIZATION_TYPES = {"histogram", "horizontal_bar", "pie", "table", "metric"}


def objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SHIPPED.read_text(encoding="utf-8").splitlines()]


def test_the_shipped_file_is_the_export_and_the_command_writes_it(tmp_path: Any) -> None:
    assert SHIPPED.read_text(encoding="utf-8") == export_ndjson("patroli"), (
        "regenerate: .venv/bin/patroli index dashboards export -o deploy/dashboards/patroli.ndjson"
    )
    out = tmp_path / "x.ndjson"
    result = run_patroli("index", "dashboards", "export", "--prefix", "kasus", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8") == export_ndjson("kasus")
    assert '"title": "kasus-ads"' in out.read_text(encoding="utf-8")


def test_each_line_is_a_saved_object_with_only_its_types_attributes() -> None:
    validator = Draft202012Validator(SAVED_OBJECT)
    found = objects()
    assert len({(o["type"], o["id"]) for o in found}) == len(found)
    for obj in found:
        assert list(validator.iter_errors(obj)) == [], obj["id"]
        assert set(obj["attributes"]) <= ATTRIBUTES[obj["type"]], (
            obj["id"],
            set(obj["attributes"]),
        )
        assert obj["type"] in obj["migrationVersion"]
    assert {o["type"] for o in found} == set(ATTRIBUTES)


def test_the_schema_check_can_fail() -> None:
    bad = {**objects()[2], "attributes": {"title": "x", "visStat": "{}"}}
    assert not set(bad["attributes"]) <= ATTRIBUTES["visualization"]
    assert list(Draft202012Validator(SAVED_OBJECT).iter_errors({**bad, "type": "lens"}))


def _by_key() -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["type"], o["id"]): o for o in objects()}


def test_every_reference_resolves_and_every_ref_name_is_referenced() -> None:
    index = _by_key()
    for obj in objects():
        names = {r["name"] for r in obj["references"]}
        for reference in obj["references"]:
            assert (reference["type"], reference["id"]) in index, (obj["id"], reference)
        meta = obj["attributes"].get("kibanaSavedObjectMeta")
        if meta:
            source = json.loads(meta["searchSourceJSON"])
            if "indexRefName" in source:
                assert source["indexRefName"] in names
            assert source["query"]["language"] == "kuery"
        if obj["type"] == "dashboard":
            panels = json.loads(obj["attributes"]["panelsJSON"])
            assert panels
            assert {p["panelRefName"] for p in panels} == names
            for panel in panels:
                assert set(panel["gridData"]) == {"x", "y", "w", "h", "i"}
                assert panel["gridData"]["x"] + panel["gridData"]["w"] <= 48


def _mapping_of(title: str) -> dict[str, Any]:
    names = IndexNames("patroli")
    kinds = {names.alias(kind): kind for kind in KINDS}
    assert title in kinds, f"{title} is no alias of patroli's indices"
    return kind_properties(kinds[title])


def _aggregatable(mapping: dict[str, Any], field: str) -> bool:
    spec = mapping.get(field)
    return bool(spec) and spec.get("type") in AGGREGATABLE and spec.get("enabled", True)


def test_every_field_a_visualization_uses_is_an_aggregatable_field_of_the_mappings() -> None:
    index = _by_key()
    used: set[str] = set()
    for obj in objects():
        if obj["type"] == "index-pattern":
            mapping = _mapping_of(obj["attributes"]["title"])
            if "timeFieldName" in obj["attributes"]:
                assert mapping[obj["attributes"]["timeFieldName"]]["type"] == "date"
            continue
        if obj["type"] != "visualization":
            continue
        pattern = index[("index-pattern", obj["references"][0]["id"])]
        mapping = _mapping_of(pattern["attributes"]["title"])
        state = json.loads(obj["attributes"]["visState"])
        assert state["type"] in VISUALIZATION_TYPES
        assert state["title"] == obj["attributes"]["title"]
        for agg in state["aggs"]:
            field = agg["params"].get("field")
            if agg["type"] == "count":
                assert field is None
                continue
            assert _aggregatable(mapping, field), (obj["attributes"]["title"], field)
            if agg["type"] == "date_histogram":
                assert mapping[field]["type"] == "date"
            if agg["type"] in ("sum", "max", "avg"):
                assert mapping[field]["type"] in ("long", "integer", "float"), field
            used.add(field)
        query = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"][
            "query"
        ]
        for field in (part.split(":")[0].strip() for part in query.split(" and ") if ":" in part):
            assert _aggregatable(mapping, field), (obj["attributes"]["title"], field)
    assert {"countries", "source", "status", "first_seen", "pages", "degraded_pages"} <= used


def test_a_field_missing_from_the_mappings_is_caught() -> None:
    mapping = _mapping_of("patroli-ads")
    assert not _aggregatable(mapping, "destination")  # no such field
    assert not _aggregatable(mapping, "text")  # analysed text: not aggregatable
    assert not _aggregatable(mapping, "fees")  # stored, not indexed


def test_the_dashboards_are_the_ones_the_issue_asks_for() -> None:
    titles = {o["attributes"]["title"] for o in saved_objects() if o["type"] == "dashboard"}
    assert titles == {
        "patroli: patrol overview",
        "patroli: flagged ads by destination and source",
        "patroli: runs",
    }
    patterns = {o["attributes"]["title"] for o in saved_objects() if o["type"] == "index-pattern"}
    assert patterns == {"patroli-ads", "patroli-runs"}


class SavedObjectsApi:
    """Answers ``POST /api/saved_objects/_import`` as Kibana and Dashboards document it, after
    checking the XSRF header and the multipart file; keeps what it got."""

    def __init__(self, header: str) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = self.headers.get(header) == "true" and self.path.endswith(
                    "_import?overwrite=true"
                )
                lines = [
                    json.loads(x)
                    for x in body.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0].splitlines()
                ]
                received.append(
                    {"path": self.path, "objects": lines, "auth": self.headers.get("Authorization")}
                )
                answer = {"success": ok, "successCount": len(lines) if ok else 0}
                data = json.dumps(
                    answer if ok else {"statusCode": 400, "message": "missing xsrf"}
                ).encode()
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("flavour", "header"), [("kibana", "kbn-xsrf"), ("opensearch-dashboards", "osd-xsrf")]
)
def test_the_import_command_posts_every_object_with_the_flavours_header(
    flavour: str, header: str
) -> None:
    api = SavedObjectsApi(header)
    try:
        result = run_patroli(
            "index",
            "dashboards",
            "import",
            api.url,
            "--flavour",
            flavour,
            env={
                "PATROLI_ENGINE_USERNAME": "kibana_admin",
                "PATROLI_ENGINE_PASSWORD": "pw-from-env",
            },
        )
        assert result.returncode == 0, result.stderr
        assert f"{len(objects())} saved objects imported" in result.stdout
        assert api.received[0]["objects"] == objects()
        assert api.received[0]["auth"].startswith("Basic ")
        wrong = "kibana" if flavour != "kibana" else "opensearch-dashboards"
        import urllib.error

        with pytest.raises(urllib.error.HTTPError):
            import_ndjson(api.url, export_ndjson(), wrong)
    finally:
        api.close()
