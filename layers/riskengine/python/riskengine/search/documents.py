"""Decoded Avro records -> the flat documents the index mappings describe.

Flat, because compliance queries and dashboards filter on these fields directly (userId,
symbol, riskLevel) and nested Avro records would force nested queries for every one of them.
"""

from __future__ import annotations

from typing import Any

from riskengine.search.categories import alert_category

_TRADE_FIELDS = (
    "tradeId", "userId", "customerId", "symbol", "baseAsset", "quoteAsset", "exchange", "side", "orderType",
    "quantity", "price", "notional", "timestamp",
    "walletAddress", "sessionId", "ipAddress", "country", "orderId", "counterpartyUserId",
)  # fmt: skip

_ALERT_FIELDS = (
    "alertId", "patternType", "rule", "severity", "userId", "customerId", "symbol", "exchange", "timestamp",
    "detectedAt", "description", "recommendedAction", "triggeredEvents", "metrics", "acknowledged",
)  # fmt: skip


def analyzed_trade_document(record: dict[str, Any]) -> dict[str, Any]:
    """One RiskAnalyzedTrade as a document with ``_id`` = tradeId."""
    trade = record["originalTrade"]
    document = {name: trade[name] for name in _TRADE_FIELDS if trade.get(name) is not None}
    volume, behaviour, market = record["volumeAnalysis"], record["behavioralAnalysis"], record["marketImpactAnalysis"]
    document.update(
        riskScore=record["riskScore"],
        riskLevel=record["finalRiskLevel"],
        triggeredPatterns=list(record["triggeredPatterns"]),
        alertIds=list(record["alertIds"]),
        complianceFlags=list(record["complianceFlags"]),
        riskMitigationActions=list(record["riskMitigationActions"]),
        scoreContributions=dict(record["scoreContributions"]),
        volumeZScore=volume["zScore"],
        baselineTrades=volume["baselineTrades"],
        patternCount=behaviour["patternCount"],
        maxPatternStrength=behaviour["maxPatternStrength"],
        symbolVolume5m=market["symbolVolume5m"],
        lateEvent=record["lateEvent"],
        processedAt=record["processedAt"],
        engineVersion=record["engineVersion"],
    )
    if market.get("impactRatio") is not None:
        document["impactRatio"] = market["impactRatio"]
    return document


def alert_document(alert: dict[str, Any]) -> dict[str, Any]:
    """One RiskAlert as a document with ``_id`` = alertId, plus its ``category`` (order_book or trades).

    An order-book alert's ``triggeredEvents`` are order eventIds (and the ids of opposite-side
    trades); they are indexed as they are, like trade ids.
    """
    document = {name: alert[name] for name in _ALERT_FIELDS}
    document["triggeredEvents"] = list(alert["triggeredEvents"])
    document["metrics"] = dict(alert["metrics"])
    # Derived from patternType alone, so re-indexing a redelivered alert writes the same document.
    document["category"] = alert_category(alert["patternType"]).value
    return document
