"""Results to Kafka: analysed trades, alerts and dead letters, keyed by user.

The producer is created once per container (see :mod:`riskengine.runtime`) and flushed
before the handler returns, so no offset is acknowledged before its results are written. Each
batch's sends are checked on their own: a failed batch leaves nothing behind for the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

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

    def prepare(
        self, analyzed: Sequence[dict[str, Any]], alerts: Sequence[dict[str, Any]], dead_letters: Sequence[DeadLetter]
    ) -> list[_Message]:
        encode, topics = self._codec.encode, self._topics
        messages = [
            _Message(topics.analyzed, r["originalTrade"]["userId"], encode(ANALYZED_TRADES_SUBJECT, r))
            for r in analyzed
        ]
        messages += [_Message(topics.alerts, alert["userId"], encode(ALERTS_SUBJECT, alert)) for alert in alerts]
        for letter in dead_letters:
            key = letter.record.key.decode(errors="replace") if letter.record.key is not None else None
            messages.append(_Message(topics.dead_letter, key, letter.record.value or b"", letter.headers()))
        return messages

    def send(self, prepared: list[_Message]) -> None:
        sent = [self._send(message) for message in prepared]
        try:
            self._producer.flush(timeout=self._flush_timeout_s)
        except KafkaError as exc:
            raise SinkError(f"Kafka flush failed: {exc}") from exc
        failures = [f.exception for f in sent if unacknowledged(f)]
        if failures:
            raise SinkError(f"{len(failures)} of {len(sent)} Kafka writes failed; first: {failures[0]!r}")

    def close(self) -> None:
        self._producer.close(timeout=self._flush_timeout_s)

    def _send(self, message: _Message) -> Any:
        key = None if message.key is None else message.key.encode()
        try:
            return self._producer.send(message.topic, key=key, value=message.value, headers=message.headers)
        except KafkaError as exc:
            raise SinkError(f"cannot send to {message.topic}: {exc}") from exc


class _Message(NamedTuple):
    topic: str
    key: str | None
    value: bytes
    headers: list[tuple[str, bytes]] | None = None


def unacknowledged(future: Any) -> bool:
    """A send's future after ``flush``: still pending (flush timed out) or failed means not durable."""
    return not future.is_done or future.failed()
