"""The reports read from canned search responses: pagination, acknowledgement status, ranking, empty
indices, and how OpenSearch failures reach the caller."""

from typing import Any

import pytest
from opensearchpy.exceptions import ConnectionError as SearchConnectionError
from opensearchpy.exceptions import NotFoundError, RequestError, TransportError
from reporting_fakes import FakeSearch, hits, nothing

from riskengine.reporting import (
    AcknowledgeRequest,
    AlertCursor,
    AlertFilters,
    AlertNotFound,
    SearchUnavailable,
    TimeRange,
    acknowledge,
    compliance_report,
    list_alerts,
    rank_users,
    user_risk,
)

DAY = 86_400_000
NOV_23 = 1_763_856_000_000


def alert(alert_id: str, timestamp: int = NOV_23, pattern: str = "WASH_TRADING") -> dict[str, Any]:
    return {
        "alertId": alert_id,
        "patternType": pattern,
        "rule": f"{pattern}@1",
        "severity": "HIGH",
        "userId": "U1",
        "customerId": "C1",
        "symbol": "BTC/USDT",
        "exchange": "BINANCE",
        "timestamp": timestamp,
        "detectedAt": timestamp + 5,
        "description": "d",
        "recommendedAction": "r",
        "triggeredEvents": ["t1"],
        "metrics": {"x": 1.0},
    }


def ack_bucket(alert_id: str, by: str, count: int) -> dict[str, Any]:
    source = {
        "ackId": f"k-{alert_id}",
        "alertId": alert_id,
        "acknowledgedBy": by,
        "acknowledgedAt": NOV_23 + DAY,
        "userId": "U1",
        "patternType": "WASH_TRADING",
        "severity": "HIGH",
    }
    return {"key": alert_id, "doc_count": count, "first": {"hits": {"hits": [{"_source": source}]}}}


def test_a_full_page_plus_one_gives_a_cursor_at_the_last_alert_shown() -> None:
    found = hits(alert("a3"), alert("a2"), alert("a1"), sorts=[[3, "a3"], [2, "a2"], [1, "a1"]], total=7)
    client = FakeSearch(found, {"aggregations": {"byAlert": {"buckets": [ack_bucket("a2", "jane", 2)]}}})
    page = list_alerts(client, AlertFilters(), size=2)  # type: ignore[arg-type]
    assert [a.alert_id for a in page.alerts] == ["a3", "a2"] and page.total == 7
    assert AlertCursor.decode(page.next_cursor or "") == AlertCursor(2, "a2")
    acknowledged = page.alerts[1]
    assert acknowledged.acknowledged and acknowledged.acknowledgements == 2
    assert acknowledged.acknowledgement is not None and acknowledged.acknowledgement.acknowledged_by == "jane"
    assert not page.alerts[0].acknowledged and page.alerts[0].acknowledgement is None
    # the acknowledgements of the page's alerts only, in one search on the audit alias
    index, body, _ = client.searches[1]
    assert index == "risk-alert-acks" and body["query"]["bool"]["filter"] == [{"terms": {"alertId": ["a3", "a2"]}}]


def test_each_alert_shows_its_category_even_when_indexed_without_one() -> None:
    spoofing = alert("a2", pattern="SPOOFING") | {"category": "order_book"}
    client = FakeSearch(hits(spoofing, alert("a1"), sorts=[[2, "a2"], [1, "a1"]]), nothing())
    page = list_alerts(client, AlertFilters(), size=5)  # type: ignore[arg-type]
    shown = [(a.pattern_type, a.category) for a in page.alerts]
    assert shown == [("SPOOFING", "order_book"), ("WASH_TRADING", "trades")]


def test_the_last_page_has_no_cursor_and_every_read_tolerates_a_missing_alias() -> None:
    client = FakeSearch(hits(alert("a1"), sorts=[[1, "a1"]]), nothing())
    page = list_alerts(client, AlertFilters(), size=2, cursor=AlertCursor(5, "a9").encode())  # type: ignore[arg-type]
    assert page.next_cursor is None and [a.alert_id for a in page.alerts] == ["a1"]
    assert client.searches[0][1]["search_after"] == [5, "a9"]
    assert all(params == {"ignore_unavailable": True} for _, _, params in client.searches)


def test_an_empty_page_does_not_search_the_audit_trail() -> None:
    client = FakeSearch(nothing())
    assert list_alerts(client, AlertFilters(), size=10).alerts == []  # type: ignore[arg-type]
    assert len(client.searches) == 1


def test_acknowledging_creates_one_audit_document_visible_at_once() -> None:
    client = FakeSearch(hits({"userId": "U1", "patternType": "WASH_TRADING", "severity": "HIGH"}))
    request = AcknowledgeRequest(acknowledged_by=" jane ", note="checked")
    ack = acknowledge(client, "a1", request, now_ms=NOV_23 + 1, new_id=lambda: "k1")  # type: ignore[arg-type]
    assert ack.ack_id == "k1" and ack.acknowledged_by == "jane" and ack.acknowledged_at.year == 2025
    [write] = client.writes
    assert write == {
        "index": "risk-alert-acks-2025.11.23",
        "id": "k1",
        "body": {
            "ackId": "k1",
            "alertId": "a1",
            "acknowledgedBy": "jane",
            "acknowledgedAt": NOV_23 + 1,
            "userId": "U1",
            "patternType": "WASH_TRADING",
            "severity": "HIGH",
            "note": "checked",
        },
        "op_type": "create",  # never overwrites an earlier acknowledgement
        "refresh": "wait_for",
    }


def test_acknowledging_an_alert_that_is_not_indexed_writes_nothing() -> None:
    client = FakeSearch(nothing())
    with pytest.raises(AlertNotFound, match="'nope'"):
        acknowledge(client, "nope", AcknowledgeRequest(acknowledged_by="jane"), now_ms=0)  # type: ignore[arg-type]
    assert client.writes == []


def test_riskiest_users_rank_by_alerts_then_max_risk_then_user_id() -> None:
    alerts = {"U1": 3, "U2": 1, "U3": 1, "U4": 1}
    risk = {"U2": (0.4, 2), "U3": (0.9, 1), "U5": (0.99, 8), "U6": (None, 1)}
    ranked = rank_users(alerts, risk, top=10)
    assert [(u.user_id, u.alerts, u.max_risk_score, u.trades) for u in ranked] == [
        ("U1", 3, None, 0),
        ("U3", 1, 0.9, 1),
        ("U2", 1, 0.4, 2),
        ("U4", 1, None, 0),
        ("U5", 0, 0.99, 8),
        ("U6", 0, None, 1),
    ]
    assert [u.user_id for u in rank_users(alerts, risk, top=2)] == ["U1", "U3"]


def test_user_risk_without_any_index_is_empty_with_one_entry_per_day() -> None:
    client = FakeSearch(nothing(), nothing())
    risk = user_risk(client, "U1", TimeRange(NOV_23 + 5, NOV_23 + 2 * DAY), latest=5)  # type: ignore[arg-type]
    assert [str(d.day) for d in risk.daily] == ["2025-11-23", "2025-11-24", "2025-11-25"]
    assert all(d.trades == 0 and d.max_risk_score is None for d in risk.daily)
    assert risk.alerts_by_severity == {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0}
    assert risk.summary.alerts == 0 and risk.latest_trades == []


def test_compliance_report_without_any_index_is_all_zeros() -> None:
    report = compliance_report(FakeSearch(nothing(), nothing()), TimeRange(0, DAY), 10, now_ms=DAY)  # type: ignore[arg-type]
    assert report.totals.alerts == 0 and report.totals.users_with_alerts == 0 and report.totals.high_risk_trades == 0
    assert report.alerts_by_pattern == {} and report.riskiest_users == []
    assert report.alerts_by_category == {"trades": 0, "order_book": 0}


def test_terms_buckets_are_ordered_whatever_order_the_server_used() -> None:
    buckets = [{"key": "B", "doc_count": 1}, {"key": "C", "doc_count": 5}, {"key": "A", "doc_count": 1}]
    alerts = {"hits": {"total": {"value": 7}}, "aggregations": {"byPattern": {"buckets": buckets}}}
    report = compliance_report(FakeSearch(alerts, nothing()), TimeRange(0, DAY), 10, now_ms=DAY)  # type: ignore[arg-type]
    assert list(report.alerts_by_pattern.items()) == [("C", 5), ("A", 1), ("B", 1)]


def test_alert_counts_per_category_sum_the_patterns_of_each() -> None:
    buckets = [
        {"key": "SPOOFING", "doc_count": 2},
        {"key": "WASH_TRADING", "doc_count": 4},
        {"key": "EXCESSIVE_CANCELS", "doc_count": 1},
        {"key": "LARGE_ORDER", "doc_count": 3},
    ]
    alerts = {"hits": {"total": {"value": 10}}, "aggregations": {"byPattern": {"buckets": buckets}}}
    report = compliance_report(FakeSearch(alerts, nothing()), TimeRange(0, DAY), 10, now_ms=DAY)  # type: ignore[arg-type]
    assert list(report.alerts_by_category.items()) == [("trades", 7), ("order_book", 3)]
    risk = user_risk(FakeSearch(alerts, nothing()), "U1", TimeRange(0, DAY), latest=1)  # type: ignore[arg-type]
    assert risk.alerts_by_category == {"trades": 7, "order_book": 3}


@pytest.mark.parametrize(
    "failure",
    [
        SearchConnectionError("N/A", "Connection refused", None),
        TransportError(503, "unavailable", {}),
        TransportError(429, "too_many_requests", {}),
    ],
)
def test_an_unreachable_or_overloaded_cluster_is_search_unavailable(failure: Exception) -> None:
    with pytest.raises(SearchUnavailable, match="try again"):
        list_alerts(FakeSearch(failure), AlertFilters(), size=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "failure", [RequestError(400, "parsing_exception", {}), NotFoundError(404, "index_not_found_exception", {})]
)
def test_other_search_errors_are_not_mistaken_for_an_outage(failure: Exception) -> None:
    with pytest.raises(type(failure)):
        list_alerts(FakeSearch(failure), AlertFilters(), size=1)  # type: ignore[arg-type]
