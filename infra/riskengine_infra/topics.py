"""The Kafka topics of the deployment, by role; the streaming stack creates them, the functions stack wires them."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from riskengine_infra.config import DeploymentConfig

__all__ = ["Topics", "topic_settings"]


@dataclass(frozen=True, slots=True)
class Topics:
    trades: str = "crypto-trades"
    orders: str = "crypto-orders"
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


def topic_settings(config: DeploymentConfig, topics: Topics | None = None) -> dict[str, dict[str, int]]:
    """Topic -> ``partitions`` and ``retentionHours``; dead letters are kept ``dead-letter-retention-hours``.

    What the configuration stack publishes and the LocalStack paths create (localstack/deploy.py).
    """
    topics = topics or Topics()
    return {
        name: {
            "partitions": config.topic_partitions,
            "retentionHours": config.dead_letter_retention_hours
            if name in topics.dead_letters()
            else config.topic_retention_hours,
        }
        for name in topics.all()
    }
