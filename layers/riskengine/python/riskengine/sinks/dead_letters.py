"""Dead letters of the downstream functions (alerts that cannot be decoded, documents that cannot be indexed).

The scorer writes its dead letters through :class:`KafkaSink` with its results; functions that
have no other Kafka output use this writer, which says exactly which letters were not stored so
their source records are reported as failed (and retried) instead of being lost.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from riskengine.sinks.base import DeadLetter
from riskengine.sinks.kafka import unacknowledged

logger = logging.getLogger(__name__)


class DeadLetterWriter:
    """Writes to ``topic`` with a producer made on first use: most batches have no dead letters at all."""

    def __init__(
        self, producer_factory: Callable[[], KafkaProducer], topic: str, flush_timeout_s: float = 30.0
    ) -> None:
        self._producer_factory = producer_factory
        self._producer: KafkaProducer | None = None
        self._topic = topic
        self._flush_timeout_s = flush_timeout_s

    @property
    def topic(self) -> str:
        return self._topic

    def write(self, letters: Sequence[DeadLetter]) -> list[DeadLetter]:
        """Send and flush ``letters``; return the ones Kafka did not acknowledge."""
        if not letters:
            return []
        try:
            producer = self._connected()
        except KafkaError:
            logger.exception("cannot connect to write %d dead letters to %s", len(letters), self._topic)
            return list(letters)
        sent: list[tuple[DeadLetter, Any]] = []
        failed: list[DeadLetter] = []
        for letter in letters:
            try:
                sent.append((letter, producer.send(self._topic, **_message(letter))))
            except KafkaError:
                failed.append(letter)
        with contextlib.suppress(KafkaError):  # the futures below say which letters made it
            producer.flush(timeout=self._flush_timeout_s)
        failed.extend(letter for letter, future in sent if unacknowledged(future))
        return failed

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=self._flush_timeout_s)
            self._producer = None

    def _connected(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = self._producer_factory()
        return self._producer


def _message(letter: DeadLetter) -> dict[str, Any]:
    """The original key and bytes, so the record can be replayed once its cause is fixed."""
    return {"key": letter.record.key, "value": letter.record.value or b"", "headers": letter.headers()}
