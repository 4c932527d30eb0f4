"""Reading a test's own Kafka topic back (tansu reports end offsets wrongly: read until enough arrived)."""

from __future__ import annotations

import time

from kafka import KafkaConsumer, TopicPartition


def read_topic(
    bootstrap_servers: str, topic: str, expected: int, wait_s: float = 15.0
) -> list[tuple[bytes, dict[str, bytes]]]:
    """Values and headers of partition 0 of ``topic``, read until ``expected`` arrived or ``wait_s`` passed."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    found: list[tuple[bytes, dict[str, bytes]]] = []
    deadline = time.monotonic() + wait_s
    try:
        while len(found) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=300).values():
                found.extend((record.value, dict(record.headers)) for record in batch)
    finally:
        consumer.close()
    return found
