"""What every sink implements: results of a batch in, durable (after ``flush``) out."""

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


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record that could not be scored, with the reason the producer needs to fix it."""

    record: SourceRecord
    reason: str
    detail: str

    def headers(self) -> list[tuple[str, bytes]]:
        """The original headers plus where the record came from and why it was rejected."""
        source = self.record
        return [
            *source.headers,
            ("dlq.reason", self.reason.encode()),
            ("dlq.detail", self.detail.encode()),
            ("dlq.source.topic", source.topic.encode()),
            ("dlq.source.partition", str(source.partition).encode()),
            ("dlq.source.offset", str(source.offset).encode()),
            ("dlq.source.timestamp", str(source.timestamp).encode()),
            ("dlq.engine.version", ENGINE_VERSION.encode()),
        ]


class Sink(Protocol):
    def publish(self, analyzed: Sequence[dict[str, Any]], alerts: Sequence[dict[str, Any]]) -> None:
        """Queue one RiskAnalyzedTrade per trade and one RiskAlert per new alert."""

    def dead_letter(self, letter: DeadLetter) -> None:
        """Queue a rejected record with its reason."""

    def flush(self) -> None:
        """Block until everything queued is durable; raise SinkError if any of it is not."""

    def close(self) -> None:
        """Release connections and files (local runs; Lambda simply freezes the container)."""
