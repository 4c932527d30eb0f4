"""The search bodies: filters, sort and pagination, and the aggregations each report reads back."""

from riskengine.model import RiskLevel
from riskengine.reporting import AlertCursor, AlertFilters, TimeRange
from riskengine.reporting.queries import (
    CANDIDATE_USERS,
    acknowledgements_query,
    alerts_page_query,
    compliance_alerts_query,
    compliance_trades_query,
    user_trades_query,
)
from riskengine.search import AlertCategory

PERIOD = TimeRange(1_000, 2_000)
IN_PERIOD = {"range": {"timestamp": {"gte": 1_000, "lte": 2_000, "format": "epoch_millis"}}}


def test_alert_page_filters_sorts_newest_first_and_asks_one_more_to_know_if_a_page_follows() -> None:
    body = alerts_page_query(AlertFilters(PERIOD, user_id="U1", severity=RiskLevel.CRITICAL), 50, None)
    assert body["size"] == 51
    assert body["query"] == {
        "bool": {"filter": [IN_PERIOD, {"term": {"userId": "U1"}}, {"term": {"severity": "CRITICAL"}}]}
    }
    assert body["sort"] == [{"timestamp": {"order": "desc"}}, {"alertId": {"order": "asc"}}]
    assert body["track_total_hits"] is True
    assert "search_after" not in body


def test_alert_page_of_one_category_selects_its_patterns_so_alerts_indexed_without_a_category_count_too() -> None:
    order_book = {"terms": {"patternType": ["EXCESSIVE_CANCELS", "LAYERING", "SPOOFING"]}}
    body = alerts_page_query(AlertFilters(PERIOD, category=AlertCategory.ORDER_BOOK), 50, None)
    assert body["query"] == {"bool": {"filter": [IN_PERIOD, order_book]}}
    body = alerts_page_query(AlertFilters(PERIOD, pattern_type="WASH_TRADING", category=AlertCategory.TRADES), 50, None)
    assert body["query"] == {
        "bool": {"filter": [IN_PERIOD, {"term": {"patternType": "WASH_TRADING"}}, {"bool": {"must_not": [order_book]}}]}
    }


def test_alert_page_continues_after_the_cursor() -> None:
    body = alerts_page_query(AlertFilters(), 10, AlertCursor(1_500, "a7"))
    assert body["search_after"] == [1_500, "a7"]


def test_acknowledgements_of_a_page_are_one_search_with_the_first_per_alert() -> None:
    body = acknowledgements_query(["a1", "a2"])
    assert body["query"] == {"bool": {"filter": [{"terms": {"alertId": ["a1", "a2"]}}]}}
    by_alert = body["aggs"]["byAlert"]
    assert by_alert["terms"] == {"field": "alertId", "size": 2}
    assert by_alert["aggs"]["first"]["top_hits"]["size"] == 1
    assert by_alert["aggs"]["first"]["top_hits"]["sort"] == [{"acknowledgedAt": {"order": "asc"}}]


def test_user_trades_bring_the_latest_trades_and_a_daily_histogram() -> None:
    body = user_trades_query("U1", PERIOD, 20)
    assert body["size"] == 20 and body["sort"][0] == {"timestamp": {"order": "desc"}}
    assert body["query"]["bool"]["filter"] == [{"term": {"userId": "U1"}}, IN_PERIOD]
    histogram = body["aggs"]["daily"]
    assert histogram["date_histogram"]["calendar_interval"] == "1d"
    assert set(histogram["aggs"]) == {"avg", "max"}


def test_compliance_alerts_break_down_by_pattern_severity_exchange_and_user() -> None:
    aggs = compliance_alerts_query(PERIOD)["aggs"]
    assert {name: agg.get("terms", {}).get("field") for name, agg in aggs.items()} == {
        "byPattern": "patternType",
        "bySeverity": "severity",
        "byExchange": "exchange",
        "byUser": "userId",
        "users": None,
    }
    assert aggs["byUser"]["terms"]["size"] == CANDIDATE_USERS


def test_compliance_trades_fetch_the_max_risk_of_exactly_the_alerted_users() -> None:
    aggs = compliance_trades_query(PERIOD, ["U1", "U2"])["aggs"]
    assert aggs["alerted"]["filter"] == {"terms": {"userId": ["U1", "U2"]}}
    assert aggs["alerted"]["aggs"]["byUser"]["terms"]["size"] == 2
    # real OpenSearch returns the highest max risk first; the caller sorts anyway
    assert aggs["byRisk"]["terms"]["order"] == [{"maxRisk": "desc"}, {"_key": "asc"}]
    assert "alerted" not in compliance_trades_query(PERIOD, [])["aggs"]
