"""The embedded services behave like the real thing: data round-trips, offsets stick, processes die."""

import json
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord

from riskengine_tools.local import EmbeddedBroker, EmbeddedRedis, EmbeddedShardedCluster, ServiceUnavailable
from riskengine_tools.local.ports import LOOPBACK

pytestmark = pytest.mark.integration

MESSAGES = 50
KEYS = 5
WAIT_S = 15.0

# (topic, partition, offset) -> (key, value): where the broker says each record landed.
Placement = dict[tuple[str, int, int], tuple[bytes, bytes]]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_redis_set_get_round_trip(redis_client: redis.Redis) -> None:
    assert redis_client.dbsize() == 0
    assert redis_client.set("position:BTC-USD", "1.5", ex=60)
    assert redis_client.get("position:BTC-USD") == b"1.5"


def test_redis_stop_ends_the_process() -> None:
    server = EmbeddedRedis().start()
    pid = server.pid
    assert _alive(pid)
    server.stop()
    assert not _alive(pid)
    server.stop()  # idempotent: the atexit fallback may call it again


def test_redis_port_clash_fails_with_the_server_log() -> None:
    with socket.socket() as squatter:
        squatter.bind((LOOPBACK, 0))
        squatter.listen()
        server = EmbeddedRedis(port=squatter.getsockname()[1])
        with pytest.raises(ServiceUnavailable, match=r"(?i)address already in use"):
            server.start()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.pid


def test_a_sharded_cluster_spreads_slots_over_its_masters_and_stops_them_all() -> None:
    with EmbeddedShardedCluster(shards=3) as cluster:
        pids = cluster.pids
        with redis.cluster.RedisCluster.from_url(cluster.url) as client:
            assert len(client.get_primaries()) == 3
            keys = [f"{{u:{n}}}" for n in range(60)]
            for key in keys:
                client.set(key, key)
            owners = {client.get_node_from_key(key).port for key in keys}
            assert owners == {node.port for node in cluster.nodes}  # every master holds some keys
            assert [client.get(key) for key in keys] == [key.encode() for key in keys]
    assert not any(_alive(pid) for pid in pids)


def test_missing_redis_binary_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServiceUnavailable, match=r"apt-get install -y redis-server"):
        EmbeddedRedis().start()


def _produce(broker: EmbeddedBroker, topics: Sequence[str]) -> Placement:
    """Send keyed records round-robin over the topics and return where acks='all' says they landed."""
    with closing(KafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")) as producer:
        futures = {}
        for seq in range(MESSAGES):
            key, value = f"acct-{seq % KEYS}".encode(), json.dumps({"seq": seq}).encode()
            futures[key, value] = producer.send(topics[seq % len(topics)], key=key, value=value)
        producer.flush()
        placement: Placement = {}
        for record, future in futures.items():
            meta = future.get(timeout=WAIT_S)
            placement[meta.topic, meta.partition, meta.offset] = record
        return placement


def _consumer(broker: EmbeddedBroker, topics: Sequence[str], group: str) -> KafkaConsumer:
    """A group member configured for tansu's quirks: short session (join waits half of it), 'earliest'."""
    return KafkaConsumer(
        *topics,
        bootstrap_servers=broker.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
    )


def _poll(consumer: KafkaConsumer, *, until_count: int, max_wait_s: float) -> list[ConsumerRecord]:
    """Poll until ``until_count`` records arrived or ``max_wait_s`` passed, in arrival order."""
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + max_wait_s
    while len(records) < until_count and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=200).values():
            records.extend(batch)
    return records


def _wait_for_assignment(consumer: KafkaConsumer, partitions: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while len(consumer.assignment()) < partitions and time.monotonic() < deadline:
        assert not consumer.poll(timeout_ms=200), "records arrived although every offset was committed"
    assert len(consumer.assignment()) == partitions


def _assert_partition_order(records: Sequence[ConsumerRecord]) -> None:
    """Within a partition, offsets are consecutive and producer sequence numbers only grow."""
    by_partition: dict[tuple[str, int], list[ConsumerRecord]] = defaultdict(list)
    for record in records:
        by_partition[record.topic, record.partition].append(record)
    for partition_records in by_partition.values():
        offsets = [r.offset for r in partition_records]
        seqs = [json.loads(r.value)["seq"] for r in partition_records]
        assert offsets == list(range(offsets[0], offsets[0] + len(offsets)))
        assert seqs == sorted(seqs)


def test_broker_consumer_group_round_trip_honours_committed_offsets(kafka_broker: EmbeddedBroker) -> None:
    run = uuid.uuid4().hex[:8]
    topics = [f"trades-{run}", f"alerts-{run}"]
    kafka_broker.create_topics(topics, partitions=3)
    kafka_broker.create_topics(topics, partitions=3)  # idempotent
    placement = _produce(kafka_broker, topics)
    assert len({(topic, partition) for topic, partition, _ in placement}) > 2  # keys really spread

    with closing(_consumer(kafka_broker, topics, f"group-{run}")) as first:
        records = _poll(first, until_count=MESSAGES, max_wait_s=WAIT_S)
        assert {(r.topic, r.partition, r.offset): (r.key, r.value) for r in records} == placement
        assert len(records) == MESSAGES
        _assert_partition_order(records)
        first.commit()

    with closing(_consumer(kafka_broker, topics, f"group-{run}")) as second:
        _wait_for_assignment(second, partitions=6)
        assert _poll(second, until_count=1, max_wait_s=1.0) == []
        fresh = _produce(kafka_broker, topics[:1])
        records = _poll(second, until_count=MESSAGES, max_wait_s=WAIT_S)
        assert {(r.topic, r.partition, r.offset): (r.key, r.value) for r in records} == fresh


def test_broker_stop_ends_the_process() -> None:
    broker = EmbeddedBroker().start()
    pid = broker.pid
    assert _alive(pid)
    broker.stop()
    assert not _alive(pid)
