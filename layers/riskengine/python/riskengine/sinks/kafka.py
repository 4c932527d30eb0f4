"""Results to Kafka: analysed trades, alerts and dead letters, keyed by user.

The producer is created once per container (see :mod:`riskengine.runtime`) and flushed
before the handler returns, so no offset is acknowledged before its results are written. Each
batch's sends are checked on their own: a failed batch leaves nothing behind for the next one.
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

    def write(
        self, analyzed: Sequence[dict[str, Any]], alerts: Sequence[dict[str, Any]], dead_letters: Sequence[DeadLetter]
    ) -> None:
        sent: list[Any] = []
        encode, send, topics = self._codec.encode, self._send, self._topics
        for record in analyzed:
            sent.append(
                send(topics.analyzed, record["originalTrade"]["userId"], encode(ANALYZED_TRADES_SUBJECT, record))
            )
        for alert in alerts:
            sent.append(send(topics.alerts, alert["userId"], encode(ALERTS_SUBJECT, alert)))
        for letter in dead_letters:
            key = letter.record.key.decode(errors="replace") if letter.record.key is not None else None
            sent.append(send(topics.dead_letter, key, letter.record.value or b"", letter.headers()))
        try:
            self._producer.flush(timeout=self._flush_timeout_s)
        except KafkaError as exc:
            raise SinkError(f"Kafka flush failed: {exc}") from exc
        failures = [f.exception for f in sent if unacknowledged(f)]
        if failures:
            raise SinkError(f"{len(failures)} of {len(sent)} Kafka writes failed; first: {failures[0]!r}")

    def close(self) -> None:
        self._producer.close(timeout=self._flush_timeout_s)

    def _send(self, topic: str, key: str | None, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> Any:
        try:
            return self._producer.send(topic, key=None if key is None else key.encode(), value=value, headers=headers)
        except KafkaError as exc:
            raise SinkError(f"cannot send to {topic}: {exc}") from exc


def unacknowledged(future: Any) -> bool:
    """A send's future after ``flush``: still pending (flush timed out) or failed means not durable."""
    return not future.is_done or future.failed()
