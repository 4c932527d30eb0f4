"""KafkaSink: a batch's sends are judged on their own; a failed batch leaves nothing for the next one."""

from __future__ import annotations

from typing import Any

import pytest
from kafka.errors import KafkaTimeoutError

from riskengine.codec import AvroCodec, FixedIdRegistry
from riskengine.errors import SinkError
from riskengine.model import SourceRecord
from riskengine.sinks import DeadLetter, KafkaSink


class Future:
    def __init__(self, failed: bool) -> None:
        self.is_done = True
        self._failed = failed
        self.exception = KafkaTimeoutError("no ack") if failed else None

    def failed(self) -> bool:
        return self._failed


class FakeProducer:
    """Records what was sent; sends fail while ``failing`` is set."""

    def __init__(self) -> None:
        self.failing = False
        self.sent: list[tuple[str, bytes | None, bytes, Any]] = []
        self.flushes = 0

    def send(self, topic: str, *, key: bytes | None, value: bytes, headers: Any = None) -> Future:
        self.sent.append((topic, key, value, headers))
        return Future(self.failing)

    def flush(self, timeout: float | None = None) -> None:
        self.flushes += 1


def letter(offset: int) -> DeadLetter:
    record = SourceRecord("crypto-trades", 2, offset, 0, b"user-1", b"garbage")
    return DeadLetter(record, "bad_magic_byte", "first byte is 0x67")


def test_a_failed_batch_does_not_fail_the_next_one() -> None:
    producer = FakeProducer()
    sink = KafkaSink(producer, AvroCodec(FixedIdRegistry()))  # type: ignore[arg-type]
    producer.failing = True
    with pytest.raises(SinkError, match="1 of 1 Kafka writes failed"):
        sink.send(sink.prepare([], [], [letter(7)]))
    producer.failing = False
    sink.send(sink.prepare([], [], [letter(8)]))  # nothing of the failed batch is checked again
    assert [headers for *_, headers in producer.sent][-1] is not None
    assert producer.flushes == 2


def test_preparing_writes_nothing_and_dead_letters_keep_their_key_value_and_a_stable_id() -> None:
    producer = FakeProducer()
    sink = KafkaSink(producer, AvroCodec(FixedIdRegistry()))  # type: ignore[arg-type]
    prepared = sink.prepare([], [], [letter(7)])
    assert producer.sent == []
    sink.send(prepared)
    ((topic, key, value, headers),) = producer.sent
    assert (topic, key, value) == ("crypto-trades-dlq", b"user-1", b"garbage")
    assert dict(headers)["dlq.id"] == b"crypto-trades-2@7"
    assert dict(headers)["dlq.reason"] == b"bad_magic_byte"
