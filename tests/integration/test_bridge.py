"""The trigger bridge on a real broker, invoking a fake function: batch cutting, the exact MSK event
shape, partial-batch rewinds, whole-batch retries, the retry limit and event-time alignment."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from riskengine.model import SourceRecord
from riskengine.msk import parse_event
from riskengine_tools.local import EmbeddedBroker
from riskengine_tools.local.bridge import (
    LOCAL_CLUSTER_ARN,
    BridgeConfig,
    BridgeError,
    BridgeStats,
    EventSourceMappingBridge,
)

pytestmark = pytest.mark.integration

BASE_TS = 1_763_900_000_000
RUN_TIMEOUT_S = 20.0
# Half the consumer session timeout is what a group join costs on tansu; 3 s keeps joins short.
SESSION_TIMEOUT_MS = 3_000

Response = dict[str, Any] | None
Position = tuple[int, int]  # (partition, offset)
# (partition, timestamp, key, value, headers) of one record to produce.
Spec = tuple[int, int, bytes | None, bytes, list[tuple[str, bytes]]]


class FakeFunction:
    """Records every event it is invoked with; ``respond(call, records)`` decides the response."""

    def __init__(self, respond: Callable[[int, list[SourceRecord]], Response] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.batches: list[list[SourceRecord]] = []
        self.times: list[tuple[float, float]] = []  # (called, returned), time.monotonic()
        self._respond = respond

    def __call__(self, event: dict[str, Any]) -> Response:
        called = time.monotonic()
        records = parse_event(event)
        self.events.append(event)
        self.batches.append(records)
        try:
            return self._respond(len(self.batches), records) if self._respond else None
        finally:
            self.times.append((called, time.monotonic()))

    def positions(self, call: int) -> list[Position]:
        """Positions of the records of the ``call``-th invocation (1-based)."""
        return [(r.partition, r.offset) for r in self.batches[call - 1]]


@pytest.fixture
def new_topic(kafka_broker: EmbeddedBroker) -> Callable[[int], str]:
    def create(partitions: int) -> str:
        name = f"bridge-{uuid.uuid4().hex[:10]}"
        kafka_broker.create_topics([name], partitions=partitions)
        return name

    return create


def config(broker: EmbeddedBroker, topic: str, **overrides: Any) -> BridgeConfig:
    settings: dict[str, Any] = {
        "bootstrap_servers": broker.bootstrap_servers,
        "topic": topic,
        "group_id": f"group-{topic}",
        "session_timeout_ms": SESSION_TIMEOUT_MS,
        "retry_backoff_s": 0.01,
        "alignment_wait_ms": 200,
    }
    return BridgeConfig(**(settings | overrides))


def specs(partition: int, timestamps: Sequence[int]) -> list[Spec]:
    return [
        (partition, ts, f"key-{partition}".encode(), f"p{partition}-{i}".encode(), [])
        for i, ts in enumerate(timestamps)
    ]


def produce(broker: EmbeddedBroker, topic: str, records: Sequence[Spec]) -> dict[Position, Spec]:
    """Send ``records`` in order and return where the broker placed each."""
    with closing(KafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")) as producer:
        futures = [
            producer.send(topic, partition=p, key=key, value=value, timestamp_ms=ts, headers=headers)
            for p, ts, key, value, headers in records
        ]
        producer.flush()
        metas = [future.get(timeout=10) for future in futures]
    return {(meta.partition, meta.offset): spec for meta, spec in zip(metas, records, strict=True)}


def run_bridge(cfg: BridgeConfig, function: FakeFunction, records: int) -> BridgeStats:
    """Deliver until ``records`` records were acknowledged (or the timeout passed)."""
    bridge = EventSourceMappingBridge(cfg, function)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    try:
        return bridge.run(until=lambda stats: stats.records >= records or time.monotonic() > deadline)
    finally:
        bridge.close()


def committed(cfg: BridgeConfig, partitions: int) -> dict[int, int | None]:
    """The group's committed offset of every partition (None when nothing was committed)."""
    consumer = KafkaConsumer(bootstrap_servers=cfg.bootstrap_servers, group_id=cfg.group_id, enable_auto_commit=False)
    with closing(consumer):
        return {p: consumer.committed(TopicPartition(cfg.topic, p)) for p in range(partitions)}


def delivered(function: FakeFunction) -> Iterator[Position]:
    for batch in function.batches:
        yield from ((r.partition, r.offset) for r in batch)


# --- batch cutting --------------------------------------------------------------------------------


def test_batches_never_exceed_the_batch_size(kafka_broker: EmbeddedBroker, new_topic: Callable[[int], str]) -> None:
    topic = new_topic(2)
    placed = produce(
        kafka_broker, topic, [*specs(0, range(BASE_TS, BASE_TS + 29)), *specs(1, range(BASE_TS, BASE_TS + 28))]
    )
    cfg = config(kafka_broker, topic, batch_size=10, batching_window_ms=200)
    function = FakeFunction()

    stats = run_bridge(cfg, function, len(placed))

    sizes = [len(batch) for batch in function.batches]
    assert max(sizes) == 10 and all(size <= 10 for size in sizes), sizes
    assert sorted(delivered(function)) == sorted(placed)  # every record once, none twice
    assert (stats.records, stats.batches, stats.retries) == (57, len(sizes), 0)
    for batch in function.batches:  # within a partition, a batch is a run of consecutive offsets
        for partition in {r.partition for r in batch}:
            offsets = [r.offset for r in batch if r.partition == partition]
            assert offsets == list(range(offsets[0], offsets[0] + len(offsets)))
    assert committed(cfg, 2) == {0: 29, 1: 28}


def test_the_batching_window_cuts_a_batch_when_fewer_records_are_available(
    kafka_broker: EmbeddedBroker, new_topic: Callable[[int], str]
) -> None:
    topic = new_topic(1)
    produce(kafka_broker, topic, specs(0, [BASE_TS, BASE_TS + 1, BASE_TS + 2]))
    window_ms = 800

    def produce_two_more(call: int, _records: list[SourceRecord]) -> Response:
        if call == 1:  # available as soon as the function returns, yet fewer than batch_size
            produce(kafka_broker, topic, specs(0, [BASE_TS + 3, BASE_TS + 4]))
        return None

    function = FakeFunction(produce_two_more)
    run_bridge(config(kafka_broker, topic, batch_size=100, batching_window_ms=window_ms), function, 5)

    assert [function.positions(call) for call in (1, 2)] == [[(0, 0), (0, 1), (0, 2)], [(0, 3), (0, 4)]]
    waited_s = function.times[1][0] - function.times[0][1]
    assert window_ms / 1000 * 0.9 <= waited_s < window_ms / 1000 + 1.5, waited_s


# --- the event ------------------------------------------------------------------------------------


def test_the_event_has_exactly_the_msk_trigger_shape(
    kafka_broker: EmbeddedBroker, new_topic: Callable[[int], str]
) -> None:
    topic = new_topic(2)
    headers = [("source", b"bridge-test"), ("trace", b"\x00\x7f\xff")]
    records: list[Spec] = [
        (0, BASE_TS, b"user-a", b"\x00\x00\x00\x00\x01avro-ish", headers),
        (1, BASE_TS + 1, None, b'{"tradeId": "t-2"}', []),
        (0, BASE_TS + 2, b"user-a", b"\xde\xad\xbe\xef", [("empty", b"")]),
    ]
    placed = produce(kafka_broker, topic, records)
    function = FakeFunction()
    run_bridge(config(kafka_broker, topic, batch_size=100, batching_window_ms=300), function, len(records))

    assert len(function.events) == 1
    event = function.events[0]
    assert set(event) == {"eventSource", "eventSourceArn", "bootstrapServers", "records"}
    assert event["eventSource"] == "aws:kafka"
    assert event["eventSourceArn"] == LOCAL_CLUSTER_ARN
    assert event["bootstrapServers"] == kafka_broker.bootstrap_servers
    assert set(event["records"]) == {f"{topic}-0", f"{topic}-1"}
    seen = {}
    for group, raw_records in event["records"].items():
        for raw in raw_records:
            assert f"{raw['topic']}-{raw['partition']}" == group
            seen[(raw["partition"], raw["offset"])] = raw
    assert set(seen) == set(placed)
    for position, (_, ts, key, value, record_headers) in placed.items():
        _assert_msk_record(seen[position], topic, ts, key, value, record_headers)


def _assert_msk_record(
    raw: dict[str, Any], topic: str, ts: int, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
) -> None:
    assert set(raw) == {"topic", "partition", "offset", "timestamp", "timestampType", "key", "value", "headers"}
    assert raw["topic"] == topic
    assert (raw["timestamp"], raw["timestampType"]) == (ts, "CREATE_TIME")
    assert raw["key"] == (None if key is None else base64.b64encode(key).decode())
    assert isinstance(raw["value"], str) and base64.b64decode(raw["value"], validate=True) == value
    assert raw["headers"] == [{name: list(data)} for name, data in headers]
    for header in raw["headers"]:
        (data,) = header.values()
        assert all(isinstance(byte, int) and 0 <= byte <= 255 for byte in data)


# --- failures and retries -------------------------------------------------------------------------


def test_a_partial_batch_response_rewinds_only_the_failed_partition(
    kafka_broker: EmbeddedBroker, new_topic: Callable[[int], str]
) -> None:
    topic = new_topic(2)
    placed = produce(
        kafka_broker, topic, [*specs(0, range(BASE_TS, BASE_TS + 5)), *specs(1, range(BASE_TS, BASE_TS + 5))]
    )
    cfg = config(kafka_broker, topic, batch_size=100, batching_window_ms=300)
    during_retry: dict[int, int | None] = {}

    def fail_partition_0_from_offset_2(call: int, _records: list[SourceRecord]) -> Response:
        if call == 1:
            return {"batchItemFailures": [{"itemIdentifier": {"partition": f"{topic}-0", "offset": 2}}]}
        during_retry.update(committed(cfg, 2))
        return {"batchItemFailures": []}

    function = FakeFunction(fail_partition_0_from_offset_2)
    stats = run_bridge(cfg, function, len(placed))

    assert sorted(function.positions(1)) == sorted(placed)
    assert function.positions(2) == [(0, 2), (0, 3), (0, 4)]  # nothing before offset 2, nothing of partition 1
    assert len(function.batches) == 2
    assert during_retry == {0: 2, 1: 5}  # what succeeded was committed before the retry
    assert committed(cfg, 2) == {0: 5, 1: 5}
    assert (stats.batches, stats.records, stats.retries) == (1, 10, 1)


def test_a_function_error_retries_the_whole_batch(
    kafka_broker: EmbeddedBroker, new_topic: Callable[[int], str]
) -> None:
    topic = new_topic(2)
    placed = produce(
        kafka_broker, topic, [*specs(0, range(BASE_TS, BASE_TS + 3)), *specs(1, range(BASE_TS, BASE_TS + 3))]
    )
    cfg = config(kafka_broker, topic, batch_size=100, batching_window_ms=300)
    before_success: dict[int, int | None] = {}

    def raise_twice(call: int, _records: list[SourceRecord]) -> Response:
        if call < 3:
            raise RuntimeError(f"simulated function error {call}")
        before_success.update(committed(cfg, 2))
        return None

    function = FakeFunction(raise_twice)
    stats = run_bridge(cfg, function, len(placed))

    assert len(function.batches) == 3
    assert [sorted(function.positions(call)) for call in (1, 2, 3)] == [sorted(placed)] * 3
    assert function.events[0]["records"] == function.events[2]["records"]
    assert before_success == {0: None, 1: None}  # a raising function commits nothing
    assert committed(cfg, 2) == {0: 3, 1: 3}
    assert (stats.batches, stats.records, stats.retries) == (1, 6, 2)


@pytest.mark.parametrize(
    ("failure", "expected_commit"),
    [("raises", 3), ("fails_from_offset_4", 4)],
)
def test_exhausted_retries_raise_and_commit_only_what_succeeded(
    kafka_broker: EmbeddedBroker, new_topic: Callable[[int], str], failure: str, expected_commit: int
) -> None:
    topic = new_topic(1)
    produce(kafka_broker, topic, specs(0, range(BASE_TS, BASE_TS + 6)))
    cfg = config(kafka_broker, topic, batch_size=3, batching_window_ms=200, max_retry_attempts=2)

    def second_batch_keeps_failing(_call: int, records: list[SourceRecord]) -> Response:
        if records[-1].offset < 3:
            return None
        if failure == "raises":
            raise RuntimeError("simulated function error")
        return {"batchItemFailures": [{"itemIdentifier": {"partition": f"{topic}-0", "offset": 4}}]}

    function = FakeFunction(second_batch_keeps_failing)
    bridge = EventSourceMappingBridge(cfg, function)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    try:
        with pytest.raises(BridgeError, match="after 2 retries"):
            bridge.run(until=lambda _stats: time.monotonic() > deadline)
    finally:
        bridge.close()

    assert function.positions(1) == [(0, 0), (0, 1), (0, 2)]
    assert len(function.batches) == 1 + 1 + cfg.max_retry_attempts
    assert function.positions(2) == [(0, 3), (0, 4), (0, 5)]
    retried = [(0, 3), (0, 4), (0, 5)] if failure == "raises" else [(0, 4), (0, 5)]
    assert [function.positions(call) for call in (3, 4)] == [retried, retried]
    assert committed(cfg, 1) == {0: expected_commit}
    assert (bridge.stats.batches, bridge.stats.records) == (1, 3)


# --- event-time alignment -------------------------------------------------------------------------


def test_partitions_advance_together_in_event_time(
    kafka_broker: EmbeddedBroker, new_topic: Callable[[int], str]
) -> None:
    topic = new_topic(3)
    dense = specs(0, [BASE_TS + i * 1_000 for i in range(40)])  # 0 s .. 39 s
    sparse = specs(1, [BASE_TS + i * 5_000 for i in range(10)])  # 0 s .. 45 s
    late_start = specs(2, [BASE_TS + 20_000 + i * 2_000 for i in range(15)])  # 20 s .. 48 s
    placed = produce(kafka_broker, topic, [*late_start, *sparse, *dense])  # skewed: the latest data first
    function = FakeFunction()
    run_bridge(config(kafka_broker, topic, batch_size=8, batching_window_ms=100), function, len(placed))

    assert sorted(delivered(function)) == sorted(placed)
    assert any(len({r.partition for r in batch}) > 1 for batch in function.batches)
    remaining = {position: spec[1] for position, spec in placed.items()}
    for number, batch in enumerate(function.batches, start=1):
        for record in batch:
            del remaining[(record.partition, record.offset)]
        newest = max(record.timestamp for record in batch)
        for partition in range(3):
            pending = [ts for (p, _), ts in remaining.items() if p == partition]
            # No partition that still holds older records is left behind by this batch.
            assert not pending or min(pending) >= newest, (number, partition, min(pending) - newest)
