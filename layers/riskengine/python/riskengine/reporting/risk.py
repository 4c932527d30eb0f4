"""One user's risk over a period: alerts by pattern and severity, a daily risk trend, the latest trades."""

from __future__ import annotations

from typing import Any

from opensearchpy import OpenSearch

from riskengine.reporting.models import DailyRisk, RiskSummary, TradeView, UserRisk
from riskengine.reporting.params import DAY_MS, TimeRange, to_datetime
from riskengine.reporting.queries import user_alerts_query, user_trades_query
from riskengine.reporting.results import by_category, by_level, counts, metric, period_of
from riskengine.reporting.store import search
from riskengine.search import ALERTS, ANALYZED_TRADES

__all__ = ["user_risk"]


def user_risk(client: OpenSearch, user_id: str, period: TimeRange, latest: int) -> UserRisk:
    alerts = search(client, ALERTS.alias, user_alerts_query(user_id, period))
    trades = search(client, ANALYZED_TRADES.alias, user_trades_query(user_id, period, latest))
    alert_aggs, trade_aggs = alerts.get("aggregations", {}), trades.get("aggregations", {})
    alerts_by_pattern = counts(alert_aggs, "byPattern")
    return UserRisk(
        user_id=user_id,
        period=period_of(period),
        summary=RiskSummary(
            trades=trades["hits"]["total"]["value"],
            alerts=alerts["hits"]["total"]["value"],
            avg_risk_score=metric(trade_aggs, "avg"),
            max_risk_score=metric(trade_aggs, "max"),
        ),
        alerts_by_pattern=alerts_by_pattern,
        alerts_by_category=by_category(alerts_by_pattern),
        alerts_by_severity=by_level(counts(alert_aggs, "bySeverity")),
        daily=_daily(trade_aggs, period),
        latest_trades=[_trade_view(hit["_source"]) for hit in trades["hits"]["hits"]],
    )


def _daily(aggregations: dict[str, Any], period: TimeRange) -> list[DailyRisk]:
    """One entry per UTC day of the period; days without trades have zero trades and no scores."""
    buckets = {int(b["key"]): b for b in aggregations.get("daily", {}).get("buckets", [])}
    first_day = period.start_ms - period.start_ms % DAY_MS
    days = []
    for day_ms in range(first_day, period.end_ms + 1, DAY_MS):
        bucket = buckets.get(day_ms, {})
        days.append(
            DailyRisk(
                day=to_datetime(day_ms).date(),
                trades=bucket.get("doc_count", 0),
                avg_risk_score=metric(bucket, "avg"),
                max_risk_score=metric(bucket, "max"),
            )
        )
    return days


def _trade_view(source: dict[str, Any]) -> TradeView:
    return TradeView(
        trade_id=source["tradeId"],
        timestamp=to_datetime(source["timestamp"]),
        symbol=source["symbol"],
        exchange=source["exchange"],
        side=source["side"],
        order_type=source["orderType"],
        quantity=source["quantity"],
        price=source["price"],
        notional=source["notional"],
        risk_score=source["riskScore"],
        risk_level=source["riskLevel"],
        triggered_patterns=source.get("triggeredPatterns", []),
        alert_ids=source.get("alertIds", []),
        late_event=source.get("lateEvent", False),
    )
