"""Building RiskAlert records from rule matches, with deterministic ids."""

from __future__ import annotations

import hashlib
from typing import Any

from riskengine.detectors.base import Match, Rule
from riskengine.model import OrderEvent, RiskLevel, Trade

RECOMMENDED_ACTIONS = {
    "WASH_TRADING": "Review the account's round-trip trades and counterparties; file a report if intent is confirmed.",
    "FLASH_CRASH": "Check the market for manipulation or a liquidity event; consider a circuit breaker.",
    "LARGE_ORDER": "Verify the source of funds and the order's purpose with the customer.",
    "RAPID_BURST": "Check for automated trading outside the API agreement; rate-limit the account.",
    "VOLUME_SPIKE": "Watch the account for continued escalation; review recent deposits.",
    "SPOOFING": (
        "Review the cancelled order against the trades on the other side; restrict the account's order entry "
        "and file a report if intent is confirmed."
    ),
    "LAYERING": (
        "Review the cancelled layers against the trades on the other side; restrict the account's order entry "
        "and file a report if intent is confirmed."
    ),
    "EXCESSIVE_CANCELS": (
        "Check the account's order-to-trade ratio against the venue's limits; throttle its order entry."
    ),
}
ESCALATION = {RiskLevel.CRITICAL: "Act now: ", RiskLevel.HIGH: "Review today: "}


def alert_id(pattern: str, window_key: str, evidence: tuple[str, ...]) -> str:
    """Same pattern, window and evidence give the same id, however often a batch is retried."""
    digest = hashlib.blake2b(f"{pattern}|{window_key}|{','.join(evidence)}".encode(), digest_size=16)
    return digest.hexdigest()


def build_alert(
    rule: Rule, match: Match, severity: RiskLevel, trigger: Trade | OrderEvent, window_key: str, detected_at: int
) -> dict[str, Any]:
    """A RiskAlert record (camelCase Avro fields) about ``trigger``, the event that completed the match.

    A match that names its episode gets the episode's id, so whichever event completes it first (and
    whatever evidence was there by then), every copy of the alert has the same id.
    """
    return {
        "alertId": alert_id(rule.pattern, window_key, (match.episode,) if match.episode else match.evidence),
        "patternType": rule.pattern,
        "rule": rule.rule_id,
        "timestamp": match.timestamp,
        "detectedAt": detected_at,
        "severity": severity.value,
        "userId": trigger.user_id,
        "customerId": trigger.customer_id,
        "symbol": trigger.symbol,
        "exchange": trigger.exchange,
        "description": f"{rule.pattern} by {trigger.user_id} on {trigger.symbol}@{trigger.exchange}: "
        f"{match.description}",
        "recommendedAction": ESCALATION.get(severity, "") + RECOMMENDED_ACTIONS.get(rule.pattern, "Review."),
        "triggeredEvents": list(match.evidence),
        "metrics": {name: float(value) for name, value in match.metrics.items()},
        "acknowledged": False,
    }
