"""The order events' trigger as the local tools run it (``triggers.scoring``: crypto-orders -> score_orders) on a
real broker and redis-server: every record delivered to the real score_orders handler, offsets committed, bad
records dead-lettered with the order validator's reasons, no analysed record for an order event."""

from __future__ import annotations

import json
import time
import uuid
from contextlib import closing
from typing import Any

import pytest
import redis
from builders import BASE_TS, order
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from test_end_to_end import drain

from riskengine.codec import ORDERS_SUBJECT, AvroCodec, FixedIdRegistry
from riskengine.sinks import Topics
from riskengine_tools.local import EmbeddedBroker, EmbeddedRedis
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.triggers import scoring

pytestmark = pytest.mark.integration

CODEC = AvroCodec(FixedIdRegistry())
PARTITIONS = 2
RUN_TIMEOUT_S = 40.0


def order_flow(start: int) -> list[dict[str, Any]]:
    """Ordinary orders of three users: placed, partly filled, filled, amended, cancelled (no pattern)."""
    events: list[dict[str, Any]] = []
    for n, user in enumerate(("U-A", "U-B", "U-C")):
        at, same = start + n * 1_000, {"order_id": f"ord-{user}", "user": user, "price": 3_000.0}
        events += [
            order(f"{user}-1", "NEW", quantity=2.0, at=at, **same),
            order(f"{user}-2", "PARTIAL_FILL", quantity=1.0, filled=1.0, at=at + 300, **same),
            order(f"{user}-3", "AMEND", quantity=1.0, filled=1.0, at=at + 600, **same),
            order(f"{user}-4", "CANCEL", quantity=0.0, filled=1.0, at=at + 900, **same),
        ]
    return events


def test_the_order_trigger_delivers_crypto_orders_to_score_orders(
    kafka_broker: EmbeddedBroker, redis_server: EmbeddedRedis
) -> None:
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    run = uuid.uuid4().hex[:8]
    topics = Topics(f"trades-{run}", f"analyzed-{run}", f"alerts-{run}", f"dlq-{run}", orders=f"orders-{run}")
    kafka_broker.create_topics([topics.orders], partitions=PARTITIONS)
    kafka_broker.create_topics([topics.analyzed, topics.alerts, topics.dead_letter], partitions=1)
    events = order_flow(start=0)
    replaced = order(f"{run}-bad", "REPLACE", user="U-D", at=5_000)  # only an order validator knows why
    values = [(e["userId"], CODEC.encode(ORDERS_SUBJECT, e), e["timestamp"]) for e in events]
    values += [("U-D", json.dumps(replaced).encode(), replaced["timestamp"]), ("U-E", b"\xde\xad", BASE_TS + 6_000)]
    with closing(KafkaProducer(bootstrap_servers=kafka_broker.bootstrap_servers, acks="all")) as producer:
        for key, value, at in values:
            producer.send(topics.orders, key=key.encode(), value=value, timestamp_ms=at)
        producer.flush()

    (trades_trigger, orders_trigger) = scoring(topics)
    assert (trades_trigger.topic, orders_trigger.topic, orders_trigger.function) == (
        topics.trades,
        topics.orders,
        "score_orders",
    )
    env = {
        "REDIS_URL": redis_server.url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "RISKENGINE_SINK": "kafka",
        "ORDERS_TOPIC": topics.orders,
        "ANALYZED_TOPIC": topics.analyzed,
        "ALERTS_TOPIC": topics.alerts,
        "DEAD_LETTER_TOPIC": topics.dead_letter,
    }
    deadline = time.monotonic() + RUN_TIMEOUT_S
    with handler_environment(env):
        bridge = orders_trigger.bridge(kafka_broker.bootstrap_servers, batch_size=5, batching_window_ms=100)
        try:
            stats = bridge.run(until=lambda s: s.records >= len(values) or time.monotonic() > deadline)
        finally:
            bridge.close()

    assert (stats.records, stats.retries) == (len(values), 0)
    outputs = drain(kafka_broker, [topics.analyzed, topics.alerts, topics.dead_letter])
    letters = [dict(record.headers) for record in outputs[topics.dead_letter]]
    assert sorted(h["dlq.reason"] for h in letters) == [b"bad_magic_byte", b"unknown_event_type"]
    assert {h["dlq.source.topic"] for h in letters} == {topics.orders.encode()}
    assert outputs[topics.analyzed] == []  # an order event is not a scored record
    consumer = KafkaConsumer(
        bootstrap_servers=kafka_broker.bootstrap_servers, group_id=orders_trigger.group_id, enable_auto_commit=False
    )
    with closing(consumer):
        committed = sum(consumer.committed(TopicPartition(topics.orders, p)) or 0 for p in range(PARTITIONS))
    assert committed == len(values)
