"""The compliance report as CSV: one rectangular table (section, key, metric, value), one fact per row.

One table rather than several stacked ones, so any CSV reader (a spreadsheet, pandas, ``csv``) reads
every row the same way and can pivot it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from riskengine.reporting.models import ComplianceReport
from riskengine.reporting.params import format_instant

__all__ = ["CSV_COLUMNS", "compliance_csv", "compliance_csv_filename"]

CSV_COLUMNS = ("section", "key", "metric", "value")
# A cell starting with one of these is run as a formula by spreadsheets (CSV injection); user ids and
# exchange names come from upstream systems, so text cells get a leading quote that disarms it.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Row = tuple[str, str, str, str | int | float | None]


def compliance_csv(report: ComplianceReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerow(CSV_COLUMNS)
    writer.writerows(tuple(_cell(value) for value in row) for row in _rows(report))
    return buffer.getvalue()


def compliance_csv_filename(report: ComplianceReport) -> str:
    return f"compliance-report_{_stamp(report.period.start)}_{_stamp(report.period.end)}.csv"


def _rows(report: ComplianceReport) -> Iterator[Row]:
    yield "period", "from", "", format_instant(report.period.start)
    yield "period", "to", "", format_instant(report.period.end)
    yield "period", "generatedAt", "", format_instant(report.generated_at)
    for name, value in report.totals.model_dump(by_alias=True).items():
        yield "totals", "", name, value
    for section, metric, table in (
        ("alertsByPattern", "alerts", report.alerts_by_pattern),
        ("alertsByCategory", "alerts", report.alerts_by_category),
        ("alertsBySeverity", "alerts", report.alerts_by_severity),
        ("alertsByExchange", "alerts", report.alerts_by_exchange),
        ("tradesByRiskLevel", "trades", report.trades_by_risk_level),
    ):
        for key, count in table.items():
            yield section, key, metric, count
    for rank, user in enumerate(report.riskiest_users, start=1):
        yield "riskiestUsers", user.user_id, "rank", rank
        yield "riskiestUsers", user.user_id, "alerts", user.alerts
        yield "riskiestUsers", user.user_id, "maxRiskScore", user.max_risk_score
        yield "riskiestUsers", user.user_id, "trades", user.trades


def _cell(value: str | int | float | None) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y%m%dT%H%M%SZ}"
