"""What a compliance officer reads: subjects, bodies, attributes, digests."""

from typing import Any

from riskengine.alerting import format_alert, format_digest, metric_lines
from riskengine.alerting.messages import MAX_DIGEST_LINES, MAX_SUBJECT


def alert(alert_id: str = "a1", **overrides: Any) -> dict[str, Any]:
    return {
        "alertId": alert_id,
        "patternType": "WASH_TRADING",
        "rule": "WASH_TRADING@1",
        "timestamp": 1,
        "detectedAt": 2,
        "severity": "CRITICAL",
        "userId": "USER_42",
        "customerId": "CUST_7",
        "symbol": "BTC/USDT",
        "exchange": "BINANCE",
        "description": "WASH_TRADING by USER_42 on BTC/USDT@BINANCE: 4 offsetting trades",
        "recommendedAction": "Act now: Review the account's round-trip trades.",
        "triggeredEvents": ["t1", "t2"],
        "metrics": {"quantityRatio": 0.99, "quantityRatioThreshold": 0.95, "roundTrips": 2.0},
        "acknowledged": False,
    } | overrides


def test_subject_names_severity_pattern_user_and_market() -> None:
    assert format_alert(alert(), "").subject == "[CRITICAL] WASH_TRADING — USER_42 on BTC/USDT@BINANCE"


def test_subject_is_short_and_has_no_control_characters() -> None:
    subject = format_alert(alert(userId="U\n" + "x" * 200), "").subject
    assert len(subject) <= MAX_SUBJECT < 100
    assert "\n" not in subject


def test_body_says_what_who_evidence_action_and_link() -> None:
    body = format_alert(alert(), "https://dash.example").body
    assert "What happened: WASH_TRADING by USER_42" in body
    assert "user USER_42 (customer CUST_7)" in body
    assert "Trades: t1, t2" in body
    assert "quantityRatio: 0.99 (threshold 0.95)" in body
    assert "roundTrips: 2" in body
    assert "Recommended action: Act now:" in body
    assert "Dashboard: https://dash.example/alerts/a1" in body


def test_metric_threshold_companions_are_folded_into_their_metric() -> None:
    lines = metric_lines({"a": 3.0, "aThreshold": 2.0, "lonelyThreshold": 1.0})
    assert lines == ["a: 3 (threshold 2)", "lonelyThreshold: 1"]


def test_attributes_are_the_filterable_strings() -> None:
    message = format_alert(alert(symbol=""), "")
    assert message.attributes == {
        "severity": "CRITICAL",
        "patternType": "WASH_TRADING",
        "symbol": "UNKNOWN",
        "exchange": "BINANCE",
    }
    entry = message.entry("m0")
    assert entry["MessageAttributes"]["severity"] == {"DataType": "String", "StringValue": "CRITICAL"}
    assert entry["Id"] == "m0"


def test_digest_lists_alerts_and_carries_highest_severity() -> None:
    alerts = [
        alert("a1", severity="MEDIUM", patternType="FLASH_CRASH"),
        alert("a2", severity="HIGH", patternType="FLASH_CRASH", symbol="ETH/USDT"),
    ]
    digest = format_digest("FLASH_CRASH", alerts, "https://d")
    assert digest.subject == "[DIGEST] 2 more FLASH_CRASH alerts"
    assert digest.is_digest
    assert digest.alert_ids == ("a1", "a2")
    assert digest.attributes == {
        "severity": "HIGH",
        "patternType": "FLASH_CRASH",
        "symbol": "MULTIPLE",
        "exchange": "BINANCE",
    }
    assert "a1  user USER_42  BTC/USDT@BINANCE  https://d/alerts/a1" in digest.body
    assert "ETH/USDT@BINANCE" in digest.body


def test_long_digest_is_capped() -> None:
    alerts = [alert(f"a{i}") for i in range(MAX_DIGEST_LINES + 5)]
    body = format_digest("WASH_TRADING", alerts, "").body
    assert "... and 5 more" in body
    assert f"a{MAX_DIGEST_LINES + 4}" not in body
