"""Request and response bodies of the reporting API (pydantic, so the OpenAPI spec comes from them).

Field names are snake_case in Python and camelCase on the wire, like the documents they come from.
Instants are ISO-8601 UTC strings with milliseconds: these responses are read by people and spreadsheets.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from pydantic.alias_generators import to_camel

from riskengine.reporting.params import format_instant
from riskengine.search.categories import ORDER_BOOK_PATTERNS, AlertCategory

__all__ = [
    "AcknowledgeRequest",
    "Acknowledgement",
    "AlertPage",
    "AlertView",
    "ComplianceReport",
    "ComplianceTotals",
    "DailyRisk",
    "ErrorBody",
    "Period",
    "RiskSummary",
    "RiskyUser",
    "TradeView",
    "UserRisk",
]

# Identifiers and names the engine writes never contain control characters (validation.py rejects them).
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
Instant = Annotated[
    datetime,
    PlainSerializer(format_instant, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2025-11-23T12:26:40.000Z"]}),
]
_BY_CATEGORY = "Both categories, trades then order_book (the order-book patterns), zeros included."


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, frozen=True)


class ErrorBody(_Wire):
    message: str = Field(description="What was wrong and what to do about it.")


class AcknowledgeRequest(_Wire):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    acknowledged_by: Annotated[
        str, Field(min_length=1, max_length=200, pattern=PRINTABLE, description="Who acknowledges (name or e-mail).")
    ]
    note: Annotated[str | None, Field(max_length=2000, description="Why, or what was done.")] = None


class Acknowledgement(_Wire):
    ack_id: str
    alert_id: str
    acknowledged_by: str
    acknowledged_at: Instant
    note: str | None = None
    user_id: str
    pattern_type: str
    severity: str


class AlertView(_Wire):
    alert_id: str
    pattern_type: str
    category: AlertCategory = Field(
        description=f"order_book for the order-book patterns ({', '.join(sorted(ORDER_BOOK_PATTERNS))}), else trades."
    )
    rule: str
    severity: str
    user_id: str
    customer_id: str
    symbol: str
    exchange: str
    timestamp: Instant = Field(
        description="Event time of the last evidence (a trade; for order-book alerts an order event or a trade)."
    )
    detected_at: Instant
    description: str
    recommended_action: str
    triggered_events: list[str] = Field(
        description="The evidence: tradeIds; for order-book alerts order eventIds and opposite-side tradeIds."
    )
    metrics: dict[str, float]
    acknowledged: bool = Field(description="Whether the audit trail holds at least one acknowledgement.")
    acknowledgement: Acknowledgement | None = Field(default=None, description="The first acknowledgement.")
    acknowledgements: int = Field(default=0, description="How many acknowledgements the audit trail holds.")


class AlertPage(_Wire):
    alerts: list[AlertView] = Field(description="Newest first (timestamp desc, then alertId).")
    total: int = Field(description="How many alerts match the filters, over all pages.")
    next_cursor: str | None = Field(description="Pass as search_after for the next page; null on the last page.")


class Period(_Wire):
    start: Instant = Field(alias="from")
    end: Instant = Field(alias="to")


class RiskSummary(_Wire):
    trades: int
    alerts: int
    avg_risk_score: float | None
    max_risk_score: float | None


class DailyRisk(_Wire):
    day: date = Field(description="UTC day.")
    trades: int
    avg_risk_score: float | None
    max_risk_score: float | None


class TradeView(_Wire):
    trade_id: str
    timestamp: Instant
    symbol: str
    exchange: str
    side: str
    order_type: str
    quantity: float
    price: float
    notional: float
    risk_score: float
    risk_level: str
    triggered_patterns: list[str]
    alert_ids: list[str]
    late_event: bool


class UserRisk(_Wire):
    user_id: str
    period: Period
    summary: RiskSummary
    alerts_by_pattern: dict[str, int] = Field(description="Most frequent first.")
    alerts_by_category: dict[str, int] = Field(description=_BY_CATEGORY)
    alerts_by_severity: dict[str, int] = Field(description="Every severity, CRITICAL first.")
    daily: list[DailyRisk] = Field(description="One entry per UTC day of the period, oldest first.")
    latest_trades: list[TradeView] = Field(description="Newest first.")


class ComplianceTotals(_Wire):
    alerts: int
    users_with_alerts: int
    trades: int
    users_traded: int
    high_risk_trades: int = Field(description="Analysed trades whose risk level is HIGH or CRITICAL.")
    avg_risk_score: float | None
    max_risk_score: float | None


class RiskyUser(_Wire):
    user_id: str
    alerts: int
    max_risk_score: float | None = Field(description="Highest risk score of the user's trades in the period.")
    trades: int


class ComplianceReport(_Wire):
    period: Period
    generated_at: Instant
    totals: ComplianceTotals
    alerts_by_pattern: dict[str, int] = Field(description="Most frequent first.")
    alerts_by_category: dict[str, int] = Field(description=_BY_CATEGORY)
    alerts_by_severity: dict[str, int] = Field(description="Every severity, CRITICAL first.")
    alerts_by_exchange: dict[str, int] = Field(description="Most frequent first.")
    trades_by_risk_level: dict[str, int] = Field(description="Every risk level, CRITICAL first.")
    riskiest_users: list[RiskyUser] = Field(description="Most alerts first, then highest max risk score.")
