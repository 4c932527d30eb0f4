"""The Compliance dashboard's order-book panels, asked of a provisioned OpenSearch-compatible server (noida-db).

No OpenSearch Dashboards runs here, so each panel's search is rebuilt from its saved object (its
query and aggregations, the date histogram by day) and run against the alerts alias: the panels
must find order-book alerts, leave trade alerts out and aggregate fields the alerts carry.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from alert_builders import index_alerts, raised_alert
from opensearchpy import OpenSearch

from riskengine.search import ALERTS, ProvisionOptions, load_saved_objects, provision

pytestmark = pytest.mark.integration

PANELS = {obj["id"]: obj for obj in load_saved_objects() if obj["type"] == "visualization"}
MINUTE = 60_000


@pytest.fixture
def alerts(search_client: OpenSearch) -> OpenSearch:
    """U7 spoofs twice and layers once, U8 cancels excessively, and U7 has a trade alert too."""
    raised = [
        raised_alert("ob-1", "SPOOFING", "U7"),
        raised_alert("ob-2", "SPOOFING", "U7", at=10 * MINUTE, metrics={"orderNotional": 400_000.0}),
        raised_alert("ob-3", "LAYERING", "U7", at=20 * MINUTE, symbol="ETH/USDT"),
        raised_alert("ob-4", "EXCESSIVE_CANCELS", "U8", at=30 * MINUTE),
        raised_alert("tr-1", "WASH_TRADING", "U7", at=40 * MINUTE, metrics={"quantityRatio": 1.0}, evidence=["T-1"]),
    ]
    assert provision(search_client, ProvisionOptions(replicas=0)).ok
    index_alerts(search_client, raised)
    return search_client


def panel_search(panel: dict[str, Any]) -> dict[str, Any]:
    """The search a panel makes: its `field:value` query, its bucket aggregations nested in order, its metrics."""
    source = json.loads(panel["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    field, value = source["query"]["query"].split(":")
    aggs = json.loads(panel["attributes"]["visState"])["aggs"]
    metrics = [a for a in aggs if a["schema"] == "metric" and a["type"] != "count"]
    nested: dict[str, Any] = {a["id"]: {a["type"]: {"field": a["params"]["field"]}} for a in metrics}
    for agg in reversed([a for a in aggs if a["schema"] != "metric"]):
        params = agg["params"]
        if agg["type"] == "terms":
            bucket = {"terms": {"field": params["field"], "size": params["size"]}}
        else:
            bucket = {"date_histogram": {"field": params["field"], "calendar_interval": "1d"}}
        nested = {agg["id"]: {**bucket, "aggs": nested}}
    return {"size": 0, "track_total_hits": True, "query": {"term": {field: value}}, "aggs": nested}


def test_order_book_alerts_over_time_count_each_order_book_pattern_and_no_trade_alert(alerts: OpenSearch) -> None:
    answer = alerts.search(index=ALERTS.alias, body=panel_search(PANELS["riskengine-order-book-alerts-over-time"]))
    assert answer["hits"]["total"]["value"] == 4
    (day,) = answer["aggregations"]["2"]["buckets"]
    by_pattern = {bucket["key"]: bucket["doc_count"] for bucket in day["3"]["buckets"]}
    assert by_pattern == {"SPOOFING": 2, "LAYERING": 1, "EXCESSIVE_CANCELS": 1}


def test_top_users_by_order_book_alerts_rank_users_with_their_patterns_symbols_and_measures(alerts: OpenSearch) -> None:
    answer = alerts.search(index=ALERTS.alias, body=panel_search(PANELS["riskengine-top-order-book-users"]))
    rows = {
        bucket["key"]: (
            bucket["doc_count"],
            bucket["2"]["value"],
            bucket["3"]["value"],
            bucket["4"]["value"],
            bucket["5"]["value"],
        )
        for bucket in answer["aggregations"]["6"]["buckets"]
    }
    # user: (order-book alerts, patterns, symbols, largest spoofing order, most cancels per fill)
    assert rows == {"U7": (3, 2, 2, 400_000.0, None), "U8": (1, 1, 1, None, 14.0)}
