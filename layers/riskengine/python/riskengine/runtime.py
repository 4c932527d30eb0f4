"""Wiring: settings -> clients -> engine -> batch processor, built once per container.

Lambda reuses a warm container for many invocations, so the Redis connection, the Kafka
producer and the parsed schemas are created on the first invocation and kept.
"""

from __future__ import annotations

import functools
import gc
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import redis
from kafka import KafkaProducer
from redis.cluster import RedisCluster

from riskengine.codec import AvroCodec, registry_from_env
from riskengine.detectors import load_rules
from riskengine.engine import RiskEngine, window_specs
from riskengine.errors import ConfigurationError
from riskengine.pipeline import ORDER_EVENTS, TRADES, BatchProcessor, RecordKind
from riskengine.scoring import ScoringConfig
from riskengine.settings import RedisIamAuth, Settings
from riskengine.sinks import DiscardSink, JsonlSink, KafkaSink, Sink
from riskengine.windows.store import RedisWindowStore

# A stuck connection must fail the batch (so the trigger retries it), not hang the function.
REDIS_TIMEOUTS = {"socket_timeout": 10.0, "socket_connect_timeout": 5.0}
# ElastiCache accepts an IAM token for 15 minutes after signing (AUTH with an older one fails).
IAM_TOKEN_LIFETIME_S = 900


def redis_client(settings: Settings) -> redis.Redis | RedisCluster:
    options: dict[str, Any] = dict(REDIS_TIMEOUTS)
    if settings.redis_iam is not None:
        options["credential_provider"] = ElastiCacheIamCredentials(settings.redis_iam)
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **options)
    return redis.Redis.from_url(settings.redis_url, health_check_interval=30, **options)


class ElastiCacheIamCredentials(redis.CredentialProvider):
    """The ``AUTH user token`` of every new connection: a fresh IAM token for the ElastiCache user.

    redis-py asks on each connect (cluster clients: each node's), so a connection opened after the previous
    token expired, or after ElastiCache closed an IAM-authenticated connection at its 12-hour limit, gets a
    valid one. Signing is local (no AWS call): the function's role credentials, refreshed by botocore.
    """

    def __init__(self, auth: RedisIamAuth, credentials: Any = None) -> None:
        self._auth = auth
        self._credentials = credentials

    def get_credentials(self) -> tuple[str, str]:
        return self._auth.user, iam_auth_token(self._auth, self._aws_credentials().get_frozen_credentials())

    def _aws_credentials(self) -> Any:
        if self._credentials is None:
            import boto3  # the Lambda runtime provides it; local runs without REDIS_AUTH=iam never get here

            self._credentials = boto3.Session().get_credentials()
            if self._credentials is None:
                raise ConfigurationError("REDIS_AUTH=iam but no AWS credentials were found")
        return self._credentials


def iam_auth_token(auth: RedisIamAuth, credentials: Any) -> str:
    """ElastiCache's IAM authentication token: a SigV4-presigned ``GET http://{cache}/?Action=connect&User={user}``
    (``&ResourceType=ServerlessCache`` for a serverless cache), valid 15 minutes, without its scheme.

    ``credentials`` has ``access_key``, ``secret_key`` and ``token`` (botocore's frozen credentials).
    """
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest

    query = {"Action": "connect", "User": auth.user}
    if auth.serverless:
        query["ResourceType"] = "ServerlessCache"
    request = AWSRequest(method="GET", url=f"http://{auth.cache_name}/?{urlencode(query)}")
    SigV4QueryAuth(credentials, "elasticache", auth.region, expires=IAM_TOKEN_LIFETIME_S).add_auth(request)
    return request.url.removeprefix("http://")


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


def build_processor(
    settings: Settings, sink: Sink | None = None, codec: AvroCodec | None = None, kind: RecordKind = TRADES
) -> BatchProcessor:
    """A processor of ``kind`` records on real clients, its sink chosen by ``settings.sink`` unless one is given.

    Trade and order-event processors built from the same settings share their rules and windows.
    """
    codec = codec or AvroCodec(registry_from_env())
    sink = sink or build_sink(settings, codec)
    engine = build_engine(redis_client(settings), settings)
    return BatchProcessor(
        engine=engine,
        codec=codec,
        sink=sink,
        max_future_skew_ms=settings.max_future_skew_ms,
        max_trade_age_ms=settings.max_trade_age_ms,
        kind=kind,
    )


@functools.cache
def default_processor() -> BatchProcessor:
    """The container-wide trade processor configured from the environment."""
    processor = build_processor(Settings.from_env())
    tune_garbage_collector()
    return processor


@functools.cache
def default_order_processor() -> BatchProcessor:
    """The container-wide order-event processor configured from the environment (``score_orders``)."""
    processor = build_processor(Settings.from_env(), kind=ORDER_EVENTS)
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
    """Release the container-wide processors' sinks and forget them (local tools and tests)."""
    for cached in (default_processor, default_order_processor):
        if cached.cache_info().currsize:
            cached().sink.close()
        cached.cache_clear()
