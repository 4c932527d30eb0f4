"""The compliance report as CSV: one rectangular table any CSV reader can load, safe to open in a spreadsheet."""

import csv
import io
from datetime import UTC, datetime

from riskengine.reporting import (
    CSV_COLUMNS,
    ComplianceReport,
    ComplianceTotals,
    Period,
    RiskyUser,
    compliance_csv,
    compliance_csv_filename,
)


def report(*users: RiskyUser) -> ComplianceReport:
    return ComplianceReport(
        period=Period(start=datetime(2025, 11, 1, tzinfo=UTC), end=datetime(2025, 11, 30, 23, 59, 59, tzinfo=UTC)),
        generated_at=datetime(2025, 12, 1, 8, 0, tzinfo=UTC),
        totals=ComplianceTotals(
            alerts=5,
            users_with_alerts=2,
            trades=40,
            users_traded=9,
            high_risk_trades=3,
            avg_risk_score=0.25,
            max_risk_score=None,
        ),
        alerts_by_pattern={"WASH_TRADING": 4, "SPOOFING": 1},
        alerts_by_category={"trades": 4, "order_book": 1},
        alerts_by_severity={"CRITICAL": 1, "HIGH": 4, "MEDIUM": 0, "LOW": 0},
        alerts_by_exchange={"BINANCE": 5},
        trades_by_risk_level={"CRITICAL": 1, "HIGH": 2, "MEDIUM": 7, "LOW": 30},
        riskiest_users=list(users),
    )


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_one_header_and_four_columns_on_every_row() -> None:
    table = rows(compliance_csv(report(RiskyUser(user_id="U1", alerts=4, max_risk_score=0.91, trades=12))))
    assert table[0] == list(CSV_COLUMNS)
    assert {len(row) for row in table} == {4}


def test_every_section_of_the_report_is_there() -> None:
    table = rows(compliance_csv(report(RiskyUser(user_id="U1", alerts=4, max_risk_score=0.91, trades=12))))
    assert table[1:4] == [
        ["period", "from", "", "2025-11-01T00:00:00.000Z"],
        ["period", "to", "", "2025-11-30T23:59:59.000Z"],
        ["period", "generatedAt", "", "2025-12-01T08:00:00.000Z"],
    ]
    assert ["totals", "", "alerts", "5"] in table
    assert ["totals", "", "maxRiskScore", ""] in table  # no trades scored: an empty cell, not "None"
    assert ["alertsByPattern", "WASH_TRADING", "alerts", "4"] in table
    assert [row for row in table if row[0] == "alertsByCategory"] == [
        ["alertsByCategory", "trades", "alerts", "4"],
        ["alertsByCategory", "order_book", "alerts", "1"],
    ]
    assert ["alertsBySeverity", "MEDIUM", "alerts", "0"] in table
    assert ["tradesByRiskLevel", "LOW", "trades", "30"] in table
    assert [row for row in table if row[0] == "riskiestUsers"] == [
        ["riskiestUsers", "U1", "rank", "1"],
        ["riskiestUsers", "U1", "alerts", "4"],
        ["riskiestUsers", "U1", "maxRiskScore", "0.91"],
        ["riskiestUsers", "U1", "trades", "12"],
    ]


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_disarmed() -> None:
    formula = '=HYPERLINK("http://x","y")'
    text = compliance_csv(report(RiskyUser(user_id=formula, alerts=1, max_risk_score=None, trades=0)))
    user_cells = {row[1] for row in rows(text) if row[0] == "riskiestUsers"}
    assert user_cells == {"'" + formula}


def test_quotes_commas_and_newlines_survive_the_round_trip() -> None:
    awkward = 'user, "quoted"\nline'
    table = rows(compliance_csv(report(RiskyUser(user_id=awkward, alerts=1, max_risk_score=0.5, trades=1))))
    assert ["riskiestUsers", awkward, "alerts", "1"] in table


def test_the_filename_names_the_period() -> None:
    assert compliance_csv_filename(report()) == "compliance-report_20251101T000000Z_20251130T235959Z.csv"
