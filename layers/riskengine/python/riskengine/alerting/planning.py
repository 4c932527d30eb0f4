"""Which alerts of a batch go out one by one, which are rolled into a digest, which were already sent."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskengine.alerting.messages import SnsMessage, format_alert, format_digest
from riskengine.model import SourceRecord

Decoded = tuple[SourceRecord, Mapping[str, Any]]


@dataclass(slots=True)
class Plan:
    messages: list[SnsMessage] = field(default_factory=list)
    individual_per_pattern: dict[str, int] = field(default_factory=dict)
    digested: int = 0
    digests: int = 0
    already_sent: int = 0


def plan_batch(
    alerts: Sequence[Decoded],
    sent: Collection[str],
    counts: Mapping[str, int],
    limit: int,
    dashboard_url: str,
) -> Plan:
    """Skip what was sent, then per pattern allow ``limit - counts[pattern]`` messages and digest the rest.

    ``counts`` are the messages already sent for each pattern in the current minute (by earlier
    batches or containers), so the limit holds across invocations, not just within one.
    """
    plan = Plan()
    by_pattern: dict[str, list[Decoded]] = {}
    seen: set[str] = set()
    for record, alert in alerts:
        if alert["alertId"] in sent or alert["alertId"] in seen:
            plan.already_sent += 1
            continue
        seen.add(alert["alertId"])
        by_pattern.setdefault(alert["patternType"], []).append((record, alert))
    for pattern, items in by_pattern.items():
        allowed = max(0, limit - counts.get(pattern, 0))
        individual, rest = items[:allowed], items[allowed:]
        plan.messages.extend(format_alert(alert, dashboard_url, record) for record, alert in individual)
        if individual:
            plan.individual_per_pattern[pattern] = len(individual)
        if rest:
            plan.messages.append(format_digest(pattern, [a for _, a in rest], dashboard_url, [r for r, _ in rest]))
            plan.digested += len(rest)
            plan.digests += 1
    return plan
