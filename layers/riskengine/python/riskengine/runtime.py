"""Wiring: settings -> clients -> engine -> batch processor, built once per container.

Lambda reuses a warm container for many invocations, so the Redis connection, the Kafka
producer and the parsed schemas are created on the first invocation and kept.
"""

from __future__ import annotations

import functools
import gc
from pathlib import Path

import redis
from kafka import KafkaProducer
from redis.cluster import RedisCluster

from riskengine.codec import AvroCodec, registry_from_env
from riskengine.detectors import load_rules
from riskengine.engine import RiskEngine, window_specs
from riskengine.pipeline import BatchProcessor
from riskengine.scoring import ScoringConfig
from riskengine.settings import Settings
from riskengine.sinks import DiscardSink, JsonlSink, KafkaSink, Sink
from riskengine.windows.store import RedisWindowStore

# A stuck connection must fail the batch (so the trigger retries it), not hang the function.
REDIS_TIMEOUTS = {"socket_timeout": 10.0, "socket_connect_timeout": 5.0}


def redis_client(settings: Settings) -> redis.Redis | RedisCluster:
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **REDIS_TIMEOUTS)
    return redis.Redis.from_url(settings.redis_url, health_check_interval=30, **REDIS_TIMEOUTS)


def build_engine(
    client: redis.Redis | RedisCluster, settings: Settings, scoring: ScoringConfig | None = None
) -> RiskEngine:
    rules = load_rules(settings.rules)
    scoring = scoring or ScoringConfig()
    specs = window_specs(rules, scoring, settings.user_lateness_ms, settings.market_lateness_ms)
    return RiskEngine(RedisWindowStore(client, specs), rules, scoring, ledger_ttl_ms=settings.duplicate_horizon_ms)


def build_sink(settings: Settings, codec: AvroCodec) -> Sink:
    if settings.sink == "discard":
        return DiscardSink(codec)
    if settings.sink.startswith("jsonl:"):
        return JsonlSink(Path(settings.sink.removeprefix("jsonl:")))
    return KafkaSink(KafkaProducer(**settings.kafka.producer_config()), codec, settings.topics)


def build_processor(settings: Settings, sink: Sink | None = None, codec: AvroCodec | None = None) -> BatchProcessor:
    """A processor on real clients, its sink chosen by ``settings.sink`` unless one is given."""
    codec = codec or AvroCodec(registry_from_env())
    sink = sink or build_sink(settings, codec)
    engine = build_engine(redis_client(settings), settings)
    return BatchProcessor(
        engine=engine,
        codec=codec,
        sink=sink,
        max_future_skew_ms=settings.max_future_skew_ms,
        max_trade_age_ms=settings.max_trade_age_ms,
    )


@functools.cache
def default_processor() -> BatchProcessor:
    """The container-wide processor configured from the environment."""
    processor = build_processor(Settings.from_env())
    tune_garbage_collector()
    return processor


def tune_garbage_collector() -> None:
    """Keep CPython's cycle collector from dominating batch processing.

    A batch allocates hundreds of thousands of short-lived objects; with the default
    gen-0 threshold (700) the collector runs thousands of times per batch and keeps
    re-traversing long-lived objects (clients, schemas, the window decoder's cache).
    Freezing what exists after start-up and collecting less often cut the handler's CPU
    per trade by about a third in benchmarks/throughput.py. Batches create few cycles,
    so the larger thresholds cost little memory.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def close_default_processor() -> None:
    """Release the container-wide processor's sink and forget it (local tools and tests)."""
    if default_processor.cache_info().currsize:
        default_processor().sink.close()
    default_processor.cache_clear()
