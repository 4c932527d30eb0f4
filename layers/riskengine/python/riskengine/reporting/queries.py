"""Search bodies of every report, as plain dicts (OpenSearch query DSL), built without a client.

All of them run against the aliases, so they span every daily index. Features the local emulator
lacks (terms ordered by a sub-aggregation, percentiles, composite) are either not used or only used
as a hint that real OpenSearch honours while the caller sorts the buckets itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from riskengine.model import RiskLevel
from riskengine.reporting.params import AlertCursor, AlertFilters, TimeRange
from riskengine.search.categories import ORDER_BOOK_PATTERNS, AlertCategory

__all__ = [
    "ALERT_FIELDS",
    "CANDIDATE_USERS",
    "TRADE_FIELDS",
    "acknowledgements_query",
    "alert_by_id_query",
    "alerts_page_query",
    "compliance_alerts_query",
    "compliance_trades_query",
    "user_alerts_query",
    "user_trades_query",
]

# Users ranked per report: far more than any top-N asked for, so ties at the cut-off and the
# emulator's unordered buckets still leave the real top N among the candidates.
CANDIDATE_USERS = 1_000
PATTERN_BUCKETS = 100
EXCHANGE_BUCKETS = 100
LEVEL_BUCKETS = len(RiskLevel)

ALERT_FIELDS = (
    "alertId", "patternType", "rule", "severity", "userId", "customerId", "symbol", "exchange", "timestamp",
    "detectedAt", "description", "recommendedAction", "triggeredEvents", "metrics",
)  # fmt: skip
TRADE_FIELDS = (
    "tradeId", "timestamp", "symbol", "exchange", "side", "orderType", "quantity", "price", "notional",
    "riskScore", "riskLevel", "triggeredPatterns", "alertIds", "lateEvent",
)  # fmt: skip
ACK_FIELDS = ("ackId", "alertId", "acknowledgedBy", "acknowledgedAt", "note", "userId", "patternType", "severity")


def _in_period(period: TimeRange, field: str = "timestamp") -> dict[str, Any]:
    return {"range": {field: {"gte": period.start_ms, "lte": period.end_ms, "format": "epoch_millis"}}}


def _filtered(*clauses: dict[str, Any]) -> dict[str, Any]:
    # filter context: no scoring, and the clauses are cacheable per shard
    return {"bool": {"filter": list(clauses)}}


def _terms(field: str, size: int, **extra: Any) -> dict[str, Any]:
    return {"terms": {"field": field, "size": size, **extra}}


def _in_category(category: AlertCategory) -> dict[str, Any]:
    """The alerts of one category, told by their patternType rather than their ``category`` field:
    alerts indexed before template version 2 have none, and every one of them still has a pattern."""
    order_book = {"terms": {"patternType": sorted(ORDER_BOOK_PATTERNS)}}
    return order_book if category is AlertCategory.ORDER_BOOK else {"bool": {"must_not": [order_book]}}


def alerts_page_query(filters: AlertFilters, size: int, after: AlertCursor | None) -> dict[str, Any]:
    """One page of alerts, newest first; one alert more than ``size`` tells whether another page exists."""
    clauses = [_in_period(filters.period)] + [{"term": {field: value}} for field, value in filters.terms().items()]
    if filters.category is not None:
        clauses.append(_in_category(filters.category))
    body: dict[str, Any] = {
        "size": size + 1,
        "query": _filtered(*clauses),
        "sort": [{"timestamp": {"order": "desc"}}, {"alertId": {"order": "asc"}}],
        "track_total_hits": True,
        "_source": list(ALERT_FIELDS),
    }
    if after is not None:
        body["search_after"] = after.search_after()
    return body


def acknowledgements_query(alert_ids: Sequence[str]) -> dict[str, Any]:
    """The first acknowledgement and the count of acknowledgements of each of ``alert_ids``, in one search."""
    first = {"top_hits": {"size": 1, "sort": [{"acknowledgedAt": {"order": "asc"}}], "_source": list(ACK_FIELDS)}}
    return {
        "size": 0,
        "query": _filtered({"terms": {"alertId": list(alert_ids)}}),
        "aggs": {"byAlert": {**_terms("alertId", len(alert_ids)), "aggs": {"first": first}}},
    }


def alert_by_id_query(alert_id: str) -> dict[str, Any]:
    """The alert fields an acknowledgement copies, so the audit trail can be searched by user and pattern."""
    return {"size": 1, "query": {"ids": {"values": [alert_id]}}, "_source": ["userId", "patternType", "severity"]}


def user_alerts_query(user_id: str, period: TimeRange) -> dict[str, Any]:
    return {
        "size": 0,
        "track_total_hits": True,
        "query": _filtered({"term": {"userId": user_id}}, _in_period(period)),
        "aggs": {
            "byPattern": _terms("patternType", PATTERN_BUCKETS),
            "bySeverity": _terms("severity", LEVEL_BUCKETS),
        },
    }


def user_trades_query(user_id: str, period: TimeRange, latest: int) -> dict[str, Any]:
    """The ``latest`` trades, the period's risk statistics and one bucket per UTC day that has trades."""
    risk = {"avg": {"avg": {"field": "riskScore"}}, "max": {"max": {"field": "riskScore"}}}
    return {
        "size": latest,
        "track_total_hits": True,
        "query": _filtered({"term": {"userId": user_id}}, _in_period(period)),
        "sort": [{"timestamp": {"order": "desc"}}, {"tradeId": {"order": "asc"}}],
        "_source": list(TRADE_FIELDS),
        "aggs": {
            **risk,
            # Empty days are filled in by the caller: that works the same with no index at all.
            "daily": {
                "date_histogram": {"field": "timestamp", "calendar_interval": "1d", "time_zone": "UTC"},
                "aggs": risk,
            },
        },
    }


def compliance_alerts_query(period: TimeRange) -> dict[str, Any]:
    """Alert counts of the period by pattern, severity, exchange and user (most alerts first)."""
    return {
        "size": 0,
        "track_total_hits": True,
        "query": _filtered(_in_period(period)),
        "aggs": {
            "byPattern": _terms("patternType", PATTERN_BUCKETS),
            "bySeverity": _terms("severity", LEVEL_BUCKETS),
            "byExchange": _terms("exchange", EXCHANGE_BUCKETS),
            "byUser": _terms("userId", CANDIDATE_USERS),
            "users": {"cardinality": {"field": "userId", "precision_threshold": 40_000}},
        },
    }


def compliance_trades_query(period: TimeRange, alerted_users: Sequence[str]) -> dict[str, Any]:
    """Trade statistics of the period, the max risk score of every alerted user, and the users with the
    highest max risk score (who rank after alerted users)."""
    max_risk = {"maxRisk": {"max": {"field": "riskScore"}}}
    aggs: dict[str, Any] = {
        "risk": {"stats": {"field": "riskScore"}},
        "byRiskLevel": _terms("riskLevel", LEVEL_BUCKETS),
        "users": {"cardinality": {"field": "userId", "precision_threshold": 40_000}},
        # OpenSearch orders these buckets by maxRisk; an emulator that ignores the order still returns
        # CANDIDATE_USERS buckets, which the caller sorts itself.
        "byRisk": {
            **_terms("userId", CANDIDATE_USERS, order=[{"maxRisk": "desc"}, {"_key": "asc"}]),
            "aggs": max_risk,
        },
    }
    if alerted_users:
        aggs["alerted"] = {
            "filter": {"terms": {"userId": list(alerted_users)}},
            "aggs": {"byUser": {**_terms("userId", len(alerted_users)), "aggs": max_risk}},
        }
    return {"size": 0, "track_total_hits": True, "query": _filtered(_in_period(period)), "aggs": aggs}
