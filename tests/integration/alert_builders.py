"""RiskAlert records of the order-book patterns, shaped as the engine raises them (issue 11's contract).

An order-book alert is raised by an order event: its evidence is order eventIds (and the ids of the
opposite-side trades), its metrics are the rule's (names below, as the rules report them), and no
analysed trade carries its id.
"""

from __future__ import annotations

from typing import Any

from builders import BASE_TS
from opensearchpy import OpenSearch, helpers

from riskengine.search import ALERTS, alert_document

# Match.metrics of each order-book rule, with values a matching episode would have.
ORDER_BOOK_ALERT_METRICS: dict[str, dict[str, float]] = {
    "SPOOFING": {
        "orderNotional": 250_000.0, "medianOrderNotional": 20_000.0, "notionalRatio": 12.5,
        "notionalRatioThreshold": 5.0, "cancelAfterMs": 4_000.0, "cancelWithinMs": 30_000.0, "oppositeTrades": 1.0,
    },
    "LAYERING": {
        "orders": 5.0, "ordersThreshold": 4.0, "priceLevels": 5.0, "priceLevelsThreshold": 4.0,
        "placementSpanMs": 12_000.0, "cancelSpanMs": 41_000.0, "oppositeTrades": 2.0,
    },
    "EXCESSIVE_CANCELS": {
        "ordersPlaced": 31.0, "cancels": 28.0, "fills": 2.0, "cancelsPerFill": 14.0, "cancelsPerFillThreshold": 6.0,
        "orderEvents": 61.0, "orderEventsThreshold": 45.0, "windowMs": 1_800_000.0,
    },
}  # fmt: skip


def raised_alert(
    alert_id: str,
    pattern: str,
    user: str,
    *,
    at: int = 0,
    metrics: dict[str, float] | None = None,
    evidence: list[str] | None = None,
    symbol: str = "BTC/USDT",
    exchange: str = "BINANCE",
    severity: str = "HIGH",
) -> dict[str, Any]:
    """A RiskAlert record ``at`` ms after BASE_TS; an order-book pattern gets its rule's metrics and
    order-event evidence unless given."""
    timestamp = BASE_TS + at
    order_events = [f"{alert_id}-OE-NEW", "T-OPP-1", f"{alert_id}-OE-CXL"]  # the bait, a trade, the cancel
    return {
        "alertId": alert_id,
        "patternType": pattern,
        "rule": f"{pattern}@1",
        "timestamp": timestamp,
        "detectedAt": timestamp + 120,
        "severity": severity,
        "userId": user,
        "customerId": f"C-{user}",
        "symbol": symbol,
        "exchange": exchange,
        "description": f"{pattern} by {user} on {symbol}@{exchange}",
        "recommendedAction": "Review today: Review.",
        "triggeredEvents": evidence if evidence is not None else order_events,
        "metrics": metrics if metrics is not None else dict(ORDER_BOOK_ALERT_METRICS[pattern]),
        "acknowledged": False,
    }


def index_alerts(client: OpenSearch, alerts: list[dict[str, Any]]) -> None:
    """Index each alert's document (as functions/index_search builds it) into its daily index, searchable at once."""
    actions = [
        {"_index": ALERTS.index_for(alert["timestamp"]), "_id": alert["alertId"], "_source": alert_document(alert)}
        for alert in alerts
    ]
    assert helpers.bulk(client, actions, refresh=True) == (len(actions), [])
