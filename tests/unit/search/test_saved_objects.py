"""The compliance saved objects, checked structurally (no OpenSearch Dashboards runs here).

Every line parses, every reference resolves inside the file, every field a visualisation
aggregates or queries exists in the index family's mappings with an aggregatable type, and the
dashboard shows every visualisation.
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from riskengine.detectors import available_rules
from riskengine.search import ALERTS, FAMILIES, ORDER_BOOK_PATTERNS, AlertCategory, IndexFamily, load_saved_objects
from riskengine.search.dashboards import saved_objects_ndjson
from riskengine_tools.cli.app import app

OBJECTS = load_saved_objects()
BY_ID = {obj["id"]: obj for obj in OBJECTS}
MIGRATION_VERSIONS = {"index-pattern": "7.6.0", "visualization": "7.10.0", "dashboard": "7.9.3"}
AGGREGATABLE = {"keyword", "double", "integer", "long", "float", "date", "boolean"}
NUMERIC = {"double", "integer", "long", "float"}
# `field:value` terms of a KQL query (the saved objects use nothing more elaborate)
KQL_TERM = re.compile(r"([A-Za-z_][\w.]*)\s*:\s*\"?([^\s\")]+)")


def of_type(kind: str) -> list[dict[str, Any]]:
    return [obj for obj in OBJECTS if obj["type"] == kind]


def family_of(index_pattern_id: str) -> IndexFamily:
    title = BY_ID[index_pattern_id]["attributes"]["title"]
    return next(family for family in FAMILIES if title == f"{family.alias}*")


def field_type(family: IndexFamily, dotted: str) -> str | None:
    properties: Any = family.properties
    spec: Any = None
    for part in dotted.split("."):
        spec = properties.get(part) if properties is not None else None
        if spec is None:
            return None
        properties = spec.get("properties")
    return spec.get("type")


def query_of(vis: dict[str, Any]) -> str:
    search_source = json.loads(vis["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    assert search_source["query"]["language"] == "kuery" and search_source["filter"] == []
    return search_source["query"]["query"]


def aggs_of(vis_id: str) -> list[tuple[str, str | None, str]]:
    state = json.loads(BY_ID[vis_id]["attributes"]["visState"])
    return [(a["type"], a["params"].get("field"), a["schema"]) for a in state["aggs"]]


def index_pattern_of(vis: dict[str, Any]) -> str:
    search_source = json.loads(vis["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    (reference,) = [ref for ref in vis["references"] if ref["name"] == search_source["indexRefName"]]
    assert reference["type"] == "index-pattern"
    return reference["id"]


def test_every_line_is_one_json_object_with_the_export_shape() -> None:
    lines = [line for line in saved_objects_ndjson().decode().splitlines() if line.strip()]
    assert len(lines) == len(OBJECTS) == 9
    for line in lines:
        obj = json.loads(line)
        assert set(obj) >= {"type", "id", "attributes", "references", "migrationVersion"}
        assert obj["migrationVersion"] == {obj["type"]: MIGRATION_VERSIONS[obj["type"]]}
        assert obj["id"].startswith("riskengine-") and obj["id"].islower() and " " not in obj["id"]
    assert len(BY_ID) == len(OBJECTS), "ids must be unique"


def test_index_patterns_cover_alerts_and_analysed_trades_with_their_time_field() -> None:
    titles = {p["attributes"]["title"]: p["attributes"]["timeFieldName"] for p in of_type("index-pattern")}
    assert titles == {"risk-alerts*": "timestamp", "risk-analyzed-trades*": "timestamp"}
    for pattern in of_type("index-pattern"):
        # Empty: Dashboards reads the fields from the cluster on first use, so they never drift from the mappings.
        assert json.loads(pattern["attributes"]["fields"]) == []
        assert family_of(pattern["id"]).time_field == pattern["attributes"]["timeFieldName"]


def test_every_reference_resolves_to_an_object_in_the_file() -> None:
    for obj in OBJECTS:
        for ref in obj["references"]:
            assert ref["id"] in BY_ID, f"{obj['id']} references missing {ref['id']}"
            assert BY_ID[ref["id"]]["type"] == ref["type"]


@pytest.mark.parametrize("vis", of_type("visualization"), ids=lambda v: v["id"])
def test_visualisations_aggregate_fields_that_exist_and_are_aggregatable(vis: dict[str, Any]) -> None:
    state = json.loads(vis["attributes"]["visState"])
    assert state["title"] == vis["attributes"]["title"]
    assert json.loads(vis["attributes"]["uiStateJSON"]) == {}
    family = family_of(index_pattern_of(vis))
    assert {agg["schema"] for agg in state["aggs"]} >= {"metric"}
    for agg in state["aggs"]:
        field = agg["params"].get("field")
        if agg["type"] == "count":
            assert field is None
            continue
        kind = field_type(family, field)
        assert kind in AGGREGATABLE, f"{vis['id']}: {field} is {kind!r} in {family.alias}"
        if agg["type"] == "date_histogram":
            assert kind == "date" and field == family.time_field
        if agg["type"] in {"sum", "max", "avg", "min"}:
            assert kind in NUMERIC


@pytest.mark.parametrize("vis", of_type("visualization"), ids=lambda v: v["id"])
def test_visualisations_query_fields_that_exist_with_values_they_can_hold(vis: dict[str, Any]) -> None:
    query = query_of(vis)
    family = family_of(index_pattern_of(vis))
    terms = KQL_TERM.findall(query)
    assert len(terms) == query.count(":"), f"{vis['id']}: a query this test cannot read: {query!r}"
    for field, value in terms:
        assert field_type(family, field) == "keyword", f"{vis['id']}: {field} is not a keyword of {family.alias}"
        if field == "category":
            assert value in set(AlertCategory)
        # Order-book alerts are picked by their category, never by a list of patterns that could go stale.
        assert field != "patternType", f"{vis['id']} names patterns: filter on category instead"


def test_alert_panels_split_by_pattern_have_room_for_every_pattern() -> None:
    patterns = {rule.pattern for rule in available_rules().values()} | ORDER_BOOK_PATTERNS
    for vis in of_type("visualization"):
        state = json.loads(vis["attributes"]["visState"])
        for agg in state["aggs"]:
            if agg["type"] == "terms" and agg["params"]["field"] == "patternType":
                assert agg["params"]["size"] >= len(patterns), f"{vis['id']}: some patterns would be lumped as Other"


def test_the_order_book_panels_show_order_book_alerts_by_pattern_over_time_and_by_user() -> None:
    over_time, by_user = BY_ID["riskengine-order-book-alerts-over-time"], BY_ID["riskengine-top-order-book-users"]
    for vis in (over_time, by_user):
        assert family_of(index_pattern_of(vis)) is ALERTS  # order-book alerts have no analysed trade
        assert query_of(vis) == f"category:{AlertCategory.ORDER_BOOK}"
    assert aggs_of(over_time["id"])[1:] == [
        ("date_histogram", "timestamp", "segment"),
        ("terms", "patternType", "group"),
    ]
    by_user_aggs = aggs_of(by_user["id"])
    assert by_user_aggs[0] == ("count", None, "metric")
    assert by_user_aggs[-1] == ("terms", "userId", "bucket")
    (bucket,) = [a for a in json.loads(by_user["attributes"]["visState"])["aggs"] if a["schema"] == "bucket"]
    assert bucket["params"]["orderBy"] == "1"  # users with the most order-book alerts first
    assert {("max", "metrics.orderNotional", "metric"), ("max", "metrics.cancelsPerFill", "metric")} <= set(
        by_user_aggs
    )


def test_the_four_trade_and_alert_visualisations_say_what_the_compliance_team_asked_for() -> None:
    assert ("terms", "patternType", "group") in aggs_of("riskengine-alerts-over-time")
    assert ("date_histogram", "timestamp", "segment") in aggs_of("riskengine-alerts-over-time")
    assert aggs_of("riskengine-risk-level-distribution")[1] == ("terms", "riskLevel", "segment")
    assert {
        ("terms", "userId", "bucket"),
        ("max", "riskScore", "metric"),
        ("cardinality", "alertIds", "metric"),
    } <= set(aggs_of("riskengine-top-risky-users"))
    assert aggs_of("riskengine-volume-by-exchange-symbol")[:3] == [
        ("sum", "notional", "metric"),
        ("terms", "exchange", "segment"),
        ("terms", "symbol", "group"),
    ]
    assert family_of(index_pattern_of(BY_ID["riskengine-alerts-over-time"])).alias == "risk-alerts"
    assert query_of(BY_ID["riskengine-alerts-over-time"]) == ""  # every alert, trade and order-book patterns alike


def test_the_compliance_dashboard_shows_every_visualisation_once() -> None:
    (dashboard,) = of_type("dashboard")
    assert dashboard["attributes"]["title"] == "Compliance"
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    refs = {ref["name"]: ref for ref in dashboard["references"]}
    assert sorted(refs[p["panelRefName"]]["id"] for p in panels) == sorted(v["id"] for v in of_type("visualization"))
    assert len({p["panelIndex"] for p in panels}) == len(panels)
    for panel in panels:
        grid = panel["gridData"]
        assert grid["i"] == panel["panelIndex"] and grid["x"] >= 0 and grid["x"] + grid["w"] <= 48
    json.loads(dashboard["attributes"]["optionsJSON"])
    json.loads(dashboard["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])


def test_export_dashboards_writes_the_packaged_file(tmp_path: Path) -> None:
    out = tmp_path / "compliance.ndjson"
    result = CliRunner().invoke(app, ["search", "export-dashboards", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == saved_objects_ndjson()
    assert "wrote 9 saved objects" in result.output
