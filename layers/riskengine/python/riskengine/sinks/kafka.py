"""Results to Kafka: analysed trades, alerts and dead letters, keyed by user.

The producer is created once per container (see :mod:`riskengine.runtime`) and flushed
before the handler returns, so no offset is acknowledged before its results are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from riskengine.codec import ALERTS_SUBJECT, ANALYZED_TRADES_SUBJECT, AvroCodec
from riskengine.errors import SinkError
from riskengine.sinks.base import DeadLetter, Topics


class KafkaSink:
    def __init__(
        self, producer: KafkaProducer, codec: AvroCodec, topics: Topics | None = None, flush_timeout_s: float = 30.0
    ) -> None:
        self._producer = producer
        self._codec = codec
        self._topics = topics or Topics()
        self._flush_timeout_s = flush_timeout_s
        self._pending: list[Any] = []

    def publish(self, analyzed: Sequence[dict[str, Any]], alerts: Sequence[dict[str, Any]]) -> None:
        encode, send = self._codec.encode, self._send
        for record in analyzed:
            send(self._topics.analyzed, record["originalTrade"]["userId"], encode(ANALYZED_TRADES_SUBJECT, record))
        for alert in alerts:
            send(self._topics.alerts, alert["userId"], encode(ALERTS_SUBJECT, alert))

    def dead_letter(self, letter: DeadLetter) -> None:
        key = letter.record.key.decode(errors="replace") if letter.record.key is not None else None
        self._send(self._topics.dead_letter, key, letter.record.value or b"", letter.headers())

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        try:
            self._producer.flush(timeout=self._flush_timeout_s)
        except KafkaError as exc:
            raise SinkError(f"Kafka flush failed: {exc}") from exc
        failures = [f.exception for f in pending if unacknowledged(f)]
        if failures:
            raise SinkError(f"{len(failures)} of {len(pending)} Kafka writes failed; first: {failures[0]!r}")

    def close(self) -> None:
        self._producer.close(timeout=self._flush_timeout_s)

    def _send(self, topic: str, key: str | None, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> None:
        try:
            future = self._producer.send(topic, key=None if key is None else key.encode(), value=value, headers=headers)
        except KafkaError as exc:
            raise SinkError(f"cannot send to {topic}: {exc}") from exc
        self._pending.append(future)


def unacknowledged(future: Any) -> bool:
    """A send's future after ``flush``: still pending (flush timed out) or failed means not durable."""
    return not future.is_done or future.failed()
