"""The compliance report of a period: alert counts, trade risk statistics and the riskiest users."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opensearchpy import OpenSearch

from riskengine.model import RiskLevel
from riskengine.reporting.models import ComplianceReport, ComplianceTotals, RiskyUser
from riskengine.reporting.params import TimeRange, to_datetime
from riskengine.reporting.queries import compliance_alerts_query, compliance_trades_query
from riskengine.reporting.results import by_category, by_level, counts, metric, period_of
from riskengine.reporting.store import search
from riskengine.search import ALERTS, ANALYZED_TRADES

__all__ = ["compliance_report", "rank_users"]

_HIGH_RISK = (RiskLevel.HIGH.value, RiskLevel.CRITICAL.value)


def compliance_report(client: OpenSearch, period: TimeRange, top: int, *, now_ms: int) -> ComplianceReport:
    """Two searches: alerts first, then trades with the max risk score of every alerted user."""
    alerts = search(client, ALERTS.alias, compliance_alerts_query(period))
    alert_aggs = alerts.get("aggregations", {})
    alerts_per_user = counts(alert_aggs, "byUser")
    trades = search(client, ANALYZED_TRADES.alias, compliance_trades_query(period, list(alerts_per_user)))
    trade_aggs = trades.get("aggregations", {})
    trades_by_level = by_level(counts(trade_aggs, "byRiskLevel"))
    alerts_by_pattern = counts(alert_aggs, "byPattern")
    return ComplianceReport(
        period=period_of(period),
        generated_at=to_datetime(now_ms),
        totals=ComplianceTotals(
            alerts=alerts["hits"]["total"]["value"],
            users_with_alerts=int(metric(alert_aggs, "users") or 0),
            trades=trades["hits"]["total"]["value"],
            users_traded=int(metric(trade_aggs, "users") or 0),
            high_risk_trades=sum(trades_by_level[level] for level in _HIGH_RISK),
            avg_risk_score=trade_aggs.get("risk", {}).get("avg"),
            max_risk_score=trade_aggs.get("risk", {}).get("max"),
        ),
        alerts_by_pattern=alerts_by_pattern,
        alerts_by_category=by_category(alerts_by_pattern),
        alerts_by_severity=by_level(counts(alert_aggs, "bySeverity")),
        alerts_by_exchange=counts(alert_aggs, "byExchange"),
        trades_by_risk_level=trades_by_level,
        riskiest_users=rank_users(alerts_per_user, _user_risk(trade_aggs), top),
    )


def _user_risk(trade_aggs: dict[str, Any]) -> dict[str, tuple[float | None, int]]:
    """userId -> (max risk score, trades) from both user breakdowns of the trades search."""
    buckets = [
        *trade_aggs.get("byRisk", {}).get("buckets", []),
        *trade_aggs.get("alerted", {}).get("byUser", {}).get("buckets", []),
    ]
    return {b["key"]: (metric(b, "maxRisk"), b["doc_count"]) for b in buckets}


def rank_users(
    alerts_per_user: Mapping[str, int], risk_per_user: Mapping[str, tuple[float | None, int]], top: int
) -> list[RiskyUser]:
    """The ``top`` users by alert count, then by max risk score (users without alerts rank last), then userId.

    Sorted here rather than by the search: the local emulator ignores a terms order on a sub-aggregation.
    """
    users = [
        RiskyUser(
            user_id=user,
            alerts=alerts_per_user.get(user, 0),
            max_risk_score=risk_per_user.get(user, (None, 0))[0],
            trades=risk_per_user.get(user, (None, 0))[1],
        )
        for user in alerts_per_user.keys() | risk_per_user.keys()
    ]
    users.sort(key=lambda u: (-u.alerts, -(u.max_risk_score if u.max_risk_score is not None else -1.0), u.user_id))
    return users[:top]
