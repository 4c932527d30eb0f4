"""The whole path on real processes: Confluent-Avro trades on a real Kafka-protocol broker, consumed
by the trigger bridge, scored by the real score_trades handler against a real redis-server, and
the alerts, analysed trades and dead letters read back from Kafka and decoded."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections import Counter, defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import builders
import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from riskengine.codec import ALERTS_SUBJECT, ANALYZED_TRADES_SUBJECT, TRADES_SUBJECT, AvroCodec, FixedIdRegistry
from riskengine.sinks import Topics
from riskengine_tools.local import EmbeddedBroker, EmbeddedRedis
from riskengine_tools.local.bridge import BridgeConfig, BridgeStats, EventSourceMappingBridge, load_handler
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.paths import function_handler

pytestmark = pytest.mark.integration

CODEC = AvroCodec(FixedIdRegistry())
TRADE_PARTITIONS = 2
RUN_TIMEOUT_S = 30.0
QUIET_S = 1.5


@dataclass
class Input:
    """What was produced to the trades topic, and where the broker put it."""

    topics: Topics
    valid: dict[str, dict[str, Any]] = field(default_factory=dict)  # tradeId -> trade
    bad: dict[tuple[int, int], tuple[bytes, str]] = field(default_factory=dict)  # position -> (value, reason)
    per_partition: Counter[int] = field(default_factory=Counter)
    wash_ids: list[str] = field(default_factory=list)
    large_id: str = ""

    @property
    def total(self) -> int:
        return sum(self.per_partition.values())


def trade(trade_id: str, user: str, at_ms: int, **fields: Any) -> dict[str, Any]:
    """A valid CryptoTrade at absolute event time ``at_ms``."""
    return builders.trade(trade_id, user=user, at=at_ms - builders.BASE_TS, **fields)


def background(start_ms: int, count: int) -> list[dict[str, Any]]:
    return builders.normal_flow(11, start_ms, count)


def scenario(run: str, start_ms: int) -> tuple[list[tuple[bytes, bytes, int, str | None]], list[str], str]:
    """(key, value, timestamp, dead-letter reason or None) in event-time order, the wash ids, the large id."""
    washer, whale = f"WASHER-{run}", f"WHALE-{run}"
    wash = [
        trade(
            f"wash-{run}-{i}", washer, start_ms + 1_000 * (i + 1), symbol="SOL/USDT", side=side, quantity=q, price=150.0
        )
        for i, (side, q) in enumerate((("BUY", 10.0), ("SELL", 10.5), ("BUY", 10.0)))
    ]
    large = trade(f"large-{run}", whale, start_ms + 2_500, symbol="BTC/USDT", side="BUY", quantity=12.0, price=50_000.0)
    anonymous = trade(f"anon-{run}", "ANON", start_ms + 2_000, symbol="ETH/USDT", side="SELL", quantity=1.0, price=3e3)
    del anonymous["userId"]
    rows: list[tuple[bytes, bytes, int, str | None]] = [
        (t["userId"].encode(), CODEC.encode(TRADES_SUBJECT, t), t["timestamp"], None)
        for t in [*background(start_ms, 120), *wash, large]
    ]
    rows.append((b"garbage", b"\xde\xad\xbe\xef not a trade", start_ms + 1_500, "bad_magic_byte"))
    rows.append((b"anonymous", json.dumps(anonymous).encode(), anonymous["timestamp"], "missing_field"))
    rows.sort(key=lambda row: row[2])
    return rows, [t["tradeId"] for t in wash], large["tradeId"]


def produce(broker: EmbeddedBroker, topics: Topics, run: str) -> Input:
    rows, wash_ids, large_id = scenario(run, start_ms=int(time.time() * 1000) - 600_000)
    produced = Input(topics, wash_ids=wash_ids, large_id=large_id)
    with closing(KafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")) as producer:
        futures = [producer.send(topics.trades, key=k, value=v, timestamp_ms=ts) for k, v, ts, _ in rows]
        producer.flush()
        for (_, value, _, reason), future in zip(rows, futures, strict=True):
            meta = future.get(timeout=10)
            produced.per_partition[meta.partition] += 1
            if reason is None:
                decoded = CODEC.decode(TRADES_SUBJECT, value)
                produced.valid[decoded["tradeId"]] = decoded
            else:
                produced.bad[(meta.partition, meta.offset)] = (value, reason)
    return produced


def score_with_the_real_handler(broker: EmbeddedBroker, redis_url: str, produced: Input, group: str) -> BridgeStats:
    topics = produced.topics
    env = {
        "REDIS_URL": redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "RISKENGINE_SINK": "kafka",
        "TRADES_TOPIC": topics.trades,
        "ANALYZED_TOPIC": topics.analyzed,
        "ALERTS_TOPIC": topics.alerts,
        "DEAD_LETTER_TOPIC": topics.dead_letter,
    }
    config = BridgeConfig(broker.bootstrap_servers, topic=topics.trades, group_id=group, batch_size=50)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    with handler_environment(env):
        bridge = EventSourceMappingBridge(config, load_handler(function_handler("score_trades")))
        try:
            return bridge.run(until=lambda stats: stats.records >= produced.total or time.monotonic() > deadline)
        finally:
            bridge.close()


def drain(broker: EmbeddedBroker, topics: list[str]) -> dict[str, list[ConsumerRecord]]:
    """Every record of the (single-partition) ``topics``, read from the beginning until quiet."""
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers, group_id=None, enable_auto_commit=False)
    records: dict[str, list[ConsumerRecord]] = defaultdict(list)
    with closing(consumer):
        consumer.assign([TopicPartition(topic, 0) for topic in topics])
        consumer.seek_to_beginning()
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < QUIET_S:
            polled = consumer.poll(timeout_ms=200)
            for tp, batch in polled.items():
                records[tp.topic].extend(batch)
            if polled:
                quiet_since = time.monotonic()
    return records


def committed(broker: EmbeddedBroker, group: str, topic: str) -> dict[int, int | None]:
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers, group_id=group, enable_auto_commit=False)
    with closing(consumer):
        return {p: consumer.committed(TopicPartition(topic, p)) for p in range(TRADE_PARTITIONS)}


@dataclass(frozen=True)
class Pipeline:
    produced: Input
    stats: BridgeStats
    outputs: dict[str, list[ConsumerRecord]]
    committed: dict[int, int | None]

    def decoded(self, topic: str, subject: str) -> list[dict[str, Any]]:
        return [CODEC.decode(subject, record.value) for record in self.outputs[topic]]


@pytest.fixture(scope="module")
def pipeline(kafka_broker: EmbeddedBroker, redis_server: EmbeddedRedis) -> Pipeline:
    """Produce, run the bridge over the real handler once, and read every output topic back."""
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    run = uuid.uuid4().hex[:8]
    topics = Topics(f"trades-{run}", f"analyzed-{run}", f"alerts-{run}", f"dlq-{run}")
    kafka_broker.create_topics([topics.trades], partitions=TRADE_PARTITIONS)
    kafka_broker.create_topics([topics.analyzed, topics.alerts, topics.dead_letter], partitions=1)
    produced = produce(kafka_broker, topics, run)
    group = f"score-trades-{run}"
    stats = score_with_the_real_handler(kafka_broker, redis_server.url, produced, group)
    outputs = drain(kafka_broker, [topics.analyzed, topics.alerts, topics.dead_letter])
    return Pipeline(produced, stats, outputs, committed(kafka_broker, group, topics.trades))


def test_every_record_was_delivered_once_and_offsets_committed_after_success(pipeline: Pipeline) -> None:
    produced = pipeline.produced
    assert len(produced.per_partition) == TRADE_PARTITIONS  # keys really spread over both partitions
    assert (pipeline.stats.records, pipeline.stats.retries) == (produced.total, 0)
    assert pipeline.committed == {p: produced.per_partition[p] for p in range(TRADE_PARTITIONS)}


def test_alerts_are_exactly_the_injected_abuse(pipeline: Pipeline) -> None:
    produced = pipeline.produced
    alerts = pipeline.decoded(produced.topics.alerts, ALERTS_SUBJECT)
    assert sorted((a["patternType"], a["userId"], a["triggeredEvents"]) for a in alerts) == [
        ("LARGE_ORDER", produced.valid[produced.large_id]["userId"], [produced.large_id]),
        ("WASH_TRADING", produced.valid[produced.wash_ids[0]]["userId"], produced.wash_ids),
    ]
    keys = [record.key for record in pipeline.outputs[produced.topics.alerts]]
    assert keys == [a["userId"].encode() for a in alerts]  # keyed by user
    assert len({a["alertId"] for a in alerts}) == 2
    for alert in alerts:
        assert alert["severity"] in {"LOW", "MEDIUM", "HIGH", "CRITICAL"}
        assert alert["symbol"] == produced.valid[alert["triggeredEvents"][-1]]["symbol"]
        assert alert["description"] and not alert["acknowledged"]


def test_one_analysed_trade_per_valid_trade_linked_to_its_alerts(pipeline: Pipeline) -> None:
    produced = pipeline.produced
    analyzed = pipeline.decoded(produced.topics.analyzed, ANALYZED_TRADES_SUBJECT)
    by_id = {a["originalTrade"]["tradeId"]: a for a in analyzed}
    assert len(analyzed) == len(by_id) == len(produced.valid)
    assert set(by_id) == set(produced.valid)
    for trade_id, record in by_id.items():
        assert record["originalTrade"] == produced.valid[trade_id]
        assert 0.0 <= record["riskScore"] <= 1.0
        assert math.isclose(sum(record["scoreContributions"].values()), record["riskScore"], abs_tol=1e-6)
        assert record["lateEvent"] is False
    flagged = {tid: (a["triggeredPatterns"], len(a["alertIds"])) for tid, a in by_id.items() if a["alertIds"]}
    assert flagged == {produced.large_id: (["LARGE_ORDER"], 1), produced.wash_ids[-1]: (["WASH_TRADING"], 1)}
    alert_ids = {a["alertId"] for a in pipeline.decoded(produced.topics.alerts, ALERTS_SUBJECT)}
    assert {by_id[tid]["alertIds"][0] for tid in flagged} == alert_ids
    behaviour = {tid for tid, a in by_id.items() if a["scoreContributions"]["behaviour"] > 0}
    assert behaviour == set(flagged)  # only the abusive trades carry a behavioural score


def test_bad_records_are_dead_lettered_with_their_original_bytes_and_reason(pipeline: Pipeline) -> None:
    produced = pipeline.produced
    letters = {}
    for record in pipeline.outputs[produced.topics.dead_letter]:
        headers = dict(record.headers)
        position = (int(headers["dlq.source.partition"]), int(headers["dlq.source.offset"]))
        assert headers["dlq.source.topic"] == produced.topics.trades.encode()
        assert headers["dlq.detail"]
        letters[position] = (record.value, headers["dlq.reason"].decode())
    assert len(pipeline.outputs[produced.topics.dead_letter]) == len(produced.bad) == 2
    assert letters == produced.bad
