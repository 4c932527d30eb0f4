"""Reading aggregation results into the shapes the responses use, whatever bucket order the server chose."""

from __future__ import annotations

from typing import Any

from riskengine.model import RiskLevel
from riskengine.reporting.models import Period
from riskengine.reporting.params import TimeRange, to_datetime
from riskengine.search.categories import AlertCategory, alert_category

__all__ = ["by_category", "by_level", "counts", "metric", "period_of"]


def counts(aggregations: dict[str, Any], name: str) -> dict[str, int]:
    """A terms aggregation as {key: doc_count}, largest first, then by key."""
    buckets = aggregations.get(name, {}).get("buckets", [])
    return {b["key"]: b["doc_count"] for b in sorted(buckets, key=lambda b: (-b["doc_count"], b["key"]))}


def by_level(found: dict[str, int]) -> dict[str, int]:
    """Every risk level, CRITICAL first, with zeros for those that did not occur."""
    return {level.value: found.get(level.value, 0) for level in reversed(RiskLevel)}


def by_category(by_pattern: dict[str, int]) -> dict[str, int]:
    """Alert counts per pattern summed per category: every category (trades, order_book), zeros included."""
    totals = dict.fromkeys(AlertCategory, 0)
    for pattern, count in by_pattern.items():
        totals[alert_category(pattern)] += count
    return {category.value: count for category, count in totals.items()}


def metric(aggregations: dict[str, Any], name: str) -> float | None:
    """A single-value metric (avg, max); None when nothing was aggregated or the index does not exist."""
    return aggregations.get(name, {}).get("value")


def period_of(period: TimeRange) -> Period:
    return Period(start=to_datetime(period.start_ms), end=to_datetime(period.end_ms))
