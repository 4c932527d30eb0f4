"""Compliance reporting over the OpenSearch indices: alert lists, user risk, period reports, acknowledgements.

Everything reads through the index aliases (every daily index at once) and takes the client as an
argument, so ``functions/report_api`` passes the container's client and tests pass their own.
"""

from riskengine.reporting.alerts import acknowledge, list_alerts
from riskengine.reporting.compliance import compliance_report, rank_users
from riskengine.reporting.csv_report import CSV_COLUMNS, compliance_csv, compliance_csv_filename
from riskengine.reporting.errors import AlertNotFound, InvalidParameter, SearchUnavailable
from riskengine.reporting.models import (
    Acknowledgement,
    AcknowledgeRequest,
    AlertPage,
    AlertView,
    ComplianceReport,
    ComplianceTotals,
    DailyRisk,
    ErrorBody,
    Period,
    RiskSummary,
    RiskyUser,
    TradeView,
    UserRisk,
)
from riskengine.reporting.params import AlertCursor, AlertFilters, TimeRange, parse_instant
from riskengine.reporting.risk import user_risk

__all__ = [
    "CSV_COLUMNS",
    "AcknowledgeRequest",
    "Acknowledgement",
    "AlertCursor",
    "AlertFilters",
    "AlertNotFound",
    "AlertPage",
    "AlertView",
    "ComplianceReport",
    "ComplianceTotals",
    "DailyRisk",
    "ErrorBody",
    "InvalidParameter",
    "Period",
    "RiskSummary",
    "RiskyUser",
    "SearchUnavailable",
    "TimeRange",
    "TradeView",
    "UserRisk",
    "acknowledge",
    "compliance_csv",
    "compliance_csv_filename",
    "compliance_report",
    "list_alerts",
    "parse_instant",
    "rank_users",
    "user_risk",
]
