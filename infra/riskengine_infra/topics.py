"""The Kafka topics of the deployment, by role; the streaming stack creates them, the functions stack wires them."""

from __future__ import annotations

from dataclasses import astuple, dataclass

__all__ = ["Topics"]


@dataclass(frozen=True, slots=True)
class Topics:
    trades: str = "crypto-trades"
    analyzed: str = "risk-analyzed-trades"
    alerts: str = "risk-alerts"
    trades_dlq: str = "crypto-trades-dlq"
    alerts_dlq: str = "risk-alerts-dlq"
    search_dlq: str = "risk-search-dlq"
    # The MSK triggers' on-failure destination: batches a function gave up on (retries exhausted).
    trigger_failures: str = "riskengine-trigger-failures"

    def all(self) -> tuple[str, ...]:
        return astuple(self)

    def dead_letters(self) -> tuple[str, ...]:
        """Topics of records that need a person; kept ``dead-letter-retention-hours`` instead of the default."""
        return (self.trades_dlq, self.alerts_dlq, self.search_dlq, self.trigger_failures)
