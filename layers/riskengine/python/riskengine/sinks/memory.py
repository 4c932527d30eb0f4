"""Results kept in memory: for tests, the local bridge's summaries and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from riskengine.codec import ALERTS_SUBJECT, ANALYZED_TRADES_SUBJECT, AvroCodec
from riskengine.sinks.base import DeadLetter


class MemorySink:
    """Keeps every result: memory is as durable as it gets here."""

    def __init__(self) -> None:
        self.analyzed: list[dict[str, Any]] = []
        self.alerts: list[dict[str, Any]] = []
        self.dead_letters: list[DeadLetter] = []

    def prepare(
        self, analyzed: Sequence[dict[str, Any]], alerts: Sequence[dict[str, Any]], dead_letters: Sequence[DeadLetter]
    ) -> tuple[Sequence[dict[str, Any]], Sequence[dict[str, Any]], Sequence[DeadLetter]]:
        return analyzed, alerts, dead_letters

    def send(self, prepared: tuple[Sequence[dict[str, Any]], Sequence[dict[str, Any]], Sequence[DeadLetter]]) -> None:
        analyzed, alerts, dead_letters = prepared
        self.analyzed.extend(analyzed)
        self.alerts.extend(alerts)
        self.dead_letters.extend(dead_letters)

    def close(self) -> None:
        return None


class DiscardSink:
    """Encodes every result as the Kafka sink would, then drops it: the benchmark's null sink.

    Encoding is kept so a benchmark measures the handler's real serialisation cost.
    """

    def __init__(self, codec: AvroCodec) -> None:
        self._codec = codec
        self.records = 0
        self.bytes = 0

    def prepare(
        self, analyzed: Sequence[dict[str, Any]], alerts: Sequence[dict[str, Any]], dead_letters: Sequence[DeadLetter]
    ) -> tuple[int, int]:
        """(records, bytes) of the batch, encoded as the Kafka sink would."""
        encode = self._codec.encode
        size = sum(len(encode(ANALYZED_TRADES_SUBJECT, record)) for record in analyzed)
        size += sum(len(encode(ALERTS_SUBJECT, alert)) for alert in alerts)
        return len(analyzed) + len(alerts) + len(dead_letters), size

    def send(self, prepared: tuple[int, int]) -> None:
        records, size = prepared
        self.records += records
        self.bytes += size

    def close(self) -> None:
        return None
