"""Cluster mode: the same engine on a (one-node) Redis Cluster, which enforces that a script only
touches keys of one hash slot, gives exactly the results of standalone Redis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster

from riskengine.codec import TRADES_SUBJECT, AvroCodec, FixedIdRegistry
from riskengine.model import SourceRecord
from riskengine.pipeline import BatchProcessor
from riskengine.runtime import build_engine
from riskengine.settings import Settings
from riskengine.simulation import SimulatorConfig, TradingSimulator
from riskengine.sinks import MemorySink
from riskengine.windows.store import part_sizes
from riskengine_tools.local import EmbeddedRedis, EmbeddedRedisCluster

pytestmark = pytest.mark.integration

CODEC = AvroCodec(FixedIdRegistry())
START_MS = 1_763_900_000_000
BATCH = 500


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedRedisCluster]:
    with EmbeddedRedisCluster() as server:
        yield server


def records() -> list[SourceRecord]:
    rates = {"LARGE_ORDER": 20.0, "VOLUME_SPIKE": 20.0, "WASH_TRADING": 10.0, "FLASH_CRASH": 10.0}
    config = SimulatorConfig(seed=11, users=200, start_ms=START_MS, rate_per_s=80, episodes_per_10k=rates)
    simulator = TradingSimulator(config)
    values = []
    for trade in simulator.trades(3_000):
        try:
            values.append(CODEC.encode(TRADES_SUBJECT, trade))
        except Exception:  # malformed simulator trades are dead-lettered in both runs alike
            values.append(b"{}")
    return [SourceRecord("crypto-trades", 0, offset, 0, None, value) for offset, value in enumerate(values)]


def run(client: redis.Redis | RedisCluster, settings: Settings) -> tuple[BatchProcessor, MemorySink]:
    sink = MemorySink()
    processor = BatchProcessor(
        engine=build_engine(client, settings), codec=CODEC, sink=sink, clock_ms=lambda: START_MS + 3_600_000
    )
    batch = records()
    for start in range(0, len(batch), BATCH):
        assert processor.process(batch[start : start + BATCH]).failure is None
    return processor, sink


def comparable(sink: MemorySink) -> tuple[list[Any], list[Any]]:
    alerts = sorted((a["alertId"], a["patternType"], a["severity"], tuple(a["triggeredEvents"])) for a in sink.alerts)
    scores = [(r["originalTrade"]["tradeId"], r["riskScore"], r["triggeredPatterns"]) for r in sink.analyzed]
    return alerts, scores


def test_cluster_mode_gives_the_results_of_standalone_redis(cluster: EmbeddedRedisCluster) -> None:
    client = RedisCluster.from_url(cluster.url)
    _, on_cluster = run(client, Settings(redis_url=cluster.url, redis_cluster=True))
    with EmbeddedRedis() as standalone:
        _, on_standalone = run(redis.Redis.from_url(standalone.url), Settings(redis_url=standalone.url))
    assert comparable(on_cluster) == comparable(on_standalone)
    patterns = {pattern for _, pattern, _, _ in comparable(on_cluster)[0]}
    assert len(patterns) >= 3, patterns  # the comparison is about something: windows across slots


def test_cluster_mode_takes_one_round_trip_per_node_for_the_windows(cluster: EmbeddedRedisCluster) -> None:
    client = RedisCluster.from_url(cluster.url)
    client.flushall()
    processor, _ = run(client, Settings(redis_url=cluster.url, redis_cluster=True))
    counter = processor.engine.store.counter  # type: ignore[attr-defined]
    batches = -(-3_000 // BATCH)
    parts = len(part_sizes(BATCH))  # a batch is applied in this many consecutive parts
    # One script per hash slot (hundreds per batch), pipelined into one round trip to the one
    # node per part, plus one ledger lookup and one commit (ledger entries and alert marks) per batch.
    assert counter.script_calls >= 50 * batches
    assert counter.round_trips == (parts + 2) * batches
