"""What every sink implements: one batch's results encoded first, then written, durable on return.

Encoding and writing are two steps so that the pipeline can record the batch's decisions in Redis
while the results are being encoded, and write nothing until they are recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from riskengine import ENGINE_VERSION
from riskengine.model import SourceRecord


@dataclass(frozen=True, slots=True)
class Topics:
    trades: str = "crypto-trades"
    analyzed: str = "risk-analyzed-trades"
    alerts: str = "risk-alerts"
    dead_letter: str = "crypto-trades-dlq"
    # Order events (OrderEvent, keyed by userId); last, so the positional order of the others stays.
    orders: str = "crypto-orders"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record that could not be scored, with the reason the producer needs to fix it."""

    record: SourceRecord
    reason: str
    detail: str

    @property
    def identity(self) -> str:
        """``topic-partition@offset`` of the source record: the same for every write of this letter.

        A retried batch writes its dead letters again; consumers deduplicate them by this id
        (header ``dlq.id``).
        """
        return self.record.position

    def headers(self) -> list[tuple[str, bytes]]:
        """The original headers plus where the record came from and why it was rejected."""
        source = self.record
        return [
            *source.headers,
            ("dlq.id", self.identity.encode()),
            ("dlq.reason", self.reason.encode()),
            ("dlq.detail", self.detail.encode()),
            ("dlq.source.topic", source.topic.encode()),
            ("dlq.source.partition", str(source.partition).encode()),
            ("dlq.source.offset", str(source.offset).encode()),
            ("dlq.source.timestamp", str(source.timestamp).encode()),
            ("dlq.engine.version", ENGINE_VERSION.encode()),
        ]


class Sink(Protocol):
    def prepare(
        self, analyzed: Sequence[dict[str, Any]], alerts: Sequence[dict[str, Any]], dead_letters: Sequence[DeadLetter]
    ) -> Any:
        """Encode one batch's results (a RiskAnalyzedTrade per trade, its RiskAlerts, its dead
        letters) without writing anything; the value is for ``send``."""

    def send(self, prepared: Any) -> None:
        """Write what ``prepare`` returned and return once all of it is durable; raise SinkError if
        any of it is not. Nothing of one batch is carried into the next."""

    def close(self) -> None:
        """Release connections and files (local runs; Lambda simply freezes the container)."""
