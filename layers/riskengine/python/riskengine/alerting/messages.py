"""SNS messages written for a compliance officer: one per alert, or one digest for an alert storm."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskengine.model import RiskLevel, SourceRecord

# SNS: subjects must be under 100 characters, with no line breaks or control characters.
MAX_SUBJECT = 99
MAX_DIGEST_LINES = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SEVERITY_RANK = {level.value: rank for rank, level in enumerate(RiskLevel)}


@dataclass(frozen=True, slots=True)
class SnsMessage:
    """What is published, plus which alerts and source records it stands for (to mark or retry them)."""

    subject: str
    body: str
    attributes: Mapping[str, str]
    alert_ids: tuple[str, ...]
    records: tuple[SourceRecord, ...] = field(default=(), compare=False)
    is_digest: bool = False

    def entry(self, entry_id: str) -> dict[str, Any]:
        """One PublishBatchRequestEntries item."""
        return {
            "Id": entry_id,
            "Subject": self.subject,
            "Message": self.body,
            "MessageAttributes": {
                name: {"DataType": "String", "StringValue": value} for name, value in self.attributes.items()
            },
        }


def clean(text: object) -> str:
    """Alert fields come from trade data: no control characters may reach a subject or an attribute."""
    return _CONTROL.sub(" ", str(text)).strip()


def subject_of(alert: Mapping[str, Any]) -> str:
    subject = (
        f"[{clean(alert['severity'])}] {clean(alert['patternType'])} — {clean(alert['userId'])} "
        f"on {clean(alert['symbol'])}@{clean(alert['exchange'])}"
    )
    return _truncate(subject)


def alert_url(dashboard_url: str, alert_id: str) -> str:
    return f"{dashboard_url}/alerts/{alert_id}" if dashboard_url else "(DASHBOARD_URL not configured)"


def format_alert(alert: Mapping[str, Any], dashboard_url: str, record: SourceRecord | None = None) -> SnsMessage:
    """Subject, body and filterable attributes for one RiskAlert record."""
    body = "\n".join(
        [
            f"What happened: {alert['description']}",
            "",
            f"Who: user {alert['userId']} (customer {alert['customerId']})",
            f"Where: {alert['symbol']} on {alert['exchange']}",
            f"Severity: {alert['severity']}    Rule: {alert['rule']}    Alert id: {alert['alertId']}",
            "",
            "Evidence:",
            f"  Trades: {', '.join(alert['triggeredEvents']) or '(none)'}",
            *(f"  {line}" for line in metric_lines(alert["metrics"])),
            "",
            f"Recommended action: {alert['recommendedAction']}",
            "",
            f"Dashboard: {alert_url(dashboard_url, alert['alertId'])}",
        ]
    )
    return SnsMessage(
        subject=subject_of(alert),
        body=body,
        attributes=attributes_of(alert["severity"], alert["patternType"], alert["symbol"], alert["exchange"]),
        alert_ids=(alert["alertId"],),
        records=() if record is None else (record,),
    )


def metric_lines(metrics: Mapping[str, float]) -> list[str]:
    """Each measured value next to the threshold it crossed (its "...Threshold" companion), if any."""
    lines = []
    for name in sorted(metrics):
        if name.endswith("Threshold") and name.removesuffix("Threshold") in metrics:
            continue
        threshold = metrics.get(f"{name}Threshold")
        suffix = "" if threshold is None else f" (threshold {_number(threshold)})"
        lines.append(f"{name}: {_number(metrics[name])}{suffix}")
    return lines


def format_digest(
    pattern: str, alerts: Sequence[Mapping[str, Any]], dashboard_url: str, records: Sequence[SourceRecord] = ()
) -> SnsMessage:
    """One message for the alerts of a storm beyond the per-minute limit, so nobody gets paged 500 times."""
    severity = max((a["severity"] for a in alerts), key=lambda s: _SEVERITY_RANK.get(s, -1))
    lines = [
        f"{len(alerts)} more {pattern} alerts arrived within a minute, beyond the per-minute limit.",
        "They are listed here instead of one message each. Highest severity: " + severity,
        "",
    ]
    for alert in alerts[:MAX_DIGEST_LINES]:
        lines.append(
            f"- [{alert['severity']}] {alert['alertId']}  user {alert['userId']}  "
            f"{alert['symbol']}@{alert['exchange']}  {alert_url(dashboard_url, alert['alertId'])}"
        )
    if len(alerts) > MAX_DIGEST_LINES:
        lines.append(f"... and {len(alerts) - MAX_DIGEST_LINES} more (see the dashboard)")
    return SnsMessage(
        subject=_truncate(f"[DIGEST] {len(alerts)} more {clean(pattern)} alerts"),
        body="\n".join(lines),
        attributes=attributes_of(
            severity, pattern, _common(a["symbol"] for a in alerts), _common(a["exchange"] for a in alerts)
        ),
        alert_ids=tuple(a["alertId"] for a in alerts),
        records=tuple(records),
        is_digest=True,
    )


def attributes_of(severity: str, pattern: str, symbol: str, exchange: str) -> dict[str, str]:
    """String attributes subscribers filter on; SNS rejects empty values, hence the placeholder."""
    values = {"severity": severity, "patternType": pattern, "symbol": symbol, "exchange": exchange}
    return {name: clean(value) or "UNKNOWN" for name, value in values.items()}


def _common(values: Any) -> str:
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else "MULTIPLE"


def _number(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e15 else f"{value:.6g}"


def _truncate(subject: str) -> str:
    return subject if len(subject) <= MAX_SUBJECT else subject[: MAX_SUBJECT - 1] + "…"
