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

    def write(
        self, analyzed: Sequence[dict[str, Any]], alerts: Sequence[dict[str, Any]], dead_letters: Sequence[DeadLetter]
    ) -> None:
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

    def write(
        self, analyzed: Sequence[dict[str, Any]], alerts: Sequence[dict[str, Any]], dead_letters: Sequence[DeadLetter]
    ) -> None:
        encode = self._codec.encode
        for record in analyzed:
            self.bytes += len(encode(ANALYZED_TRADES_SUBJECT, record))
        for alert in alerts:
            self.bytes += len(encode(ALERTS_SUBJECT, alert))
        self.records += len(analyzed) + len(alerts) + len(dead_letters)

    def close(self) -> None:
        return None
