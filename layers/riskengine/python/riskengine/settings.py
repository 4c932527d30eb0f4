"""Engine settings, parsed once from environment variables into a validated model.

Every address is configurable so the same code runs against the embedded local services,
LocalStack, or Amazon MSK and ElastiCache by configuration alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskengine.errors import ConfigurationError
from riskengine.sinks.base import Topics
from riskengine.validation import DEFAULT_MAX_FUTURE_SKEW_MS, DEFAULT_MAX_TRADE_AGE_MS


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None  # e.g. AWS_MSK_IAM on Amazon MSK with IAM auth
    client_id: str = "riskengine"
    enable_idempotence: bool = False

    def producer_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers.split(","),
            "security_protocol": self.security_protocol,
            "client_id": self.client_id,
            "acks": "all",
            "retries": 5,
            "linger_ms": 5,
            "batch_size": 512 * 1024,
            "max_request_size": 8 * 1024 * 1024,
            "enable_idempotence": self.enable_idempotence,
        }
        if self.sasl_mechanism:
            config["sasl_mechanism"] = self.sasl_mechanism
        return config


@dataclass(frozen=True, slots=True)
class RedisIamAuth:
    """ElastiCache IAM authentication (``REDIS_AUTH=iam``): connect as the IAM-enabled ElastiCache ``user`` with
    short-lived tokens signed by the function's role, so no password exists anywhere.

    ``cache_name`` is the serverless cache's name or the replication group's id, ``serverless`` says which.
    """

    user: str
    cache_name: str
    region: str
    serverless: bool


@dataclass(frozen=True, slots=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False
    redis_iam: RedisIamAuth | None = None  # None: REDIS_URL says everything (local runs, LocalStack)
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    topics: Topics = field(default_factory=Topics)
    # How far behind its window's watermark a trade may arrive and still be placed: user windows
    # are fed from one partition in order; market windows from every partition, lagging each other.
    user_lateness_ms: int = 10_000
    market_lateness_ms: int = 60_000
    max_future_skew_ms: int = DEFAULT_MAX_FUTURE_SKEW_MS
    max_trade_age_ms: int = DEFAULT_MAX_TRADE_AGE_MS
    # How long a trade id is remembered (its ledger entry): copies within it are answered from it.
    duplicate_horizon_ms: int = 3_600_000
    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Where results go: "kafka" in AWS; local tools also use "discard" (benchmarks) and
    # "jsonl:DIR" (replay), always behind the same handler.
    sink: str = "kafka"

    def __post_init__(self) -> None:
        for name in ("user_lateness_ms", "market_lateness_ms", "max_future_skew_ms"):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"{name.upper()} must be >= 0, got {getattr(self, name)}")
        for name in ("max_trade_age_ms", "duplicate_horizon_ms"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"{name.upper()} must be > 0, got {getattr(self, name)}")
        if self.sink not in {"kafka", "discard"} and not self.sink.startswith("jsonl:"):
            raise ConfigurationError(f"RISKENGINE_SINK must be kafka, discard or jsonl:DIR, got {self.sink!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``env`` (default ``os.environ``); see docs/configuration.md."""
        env = os.environ if env is None else env
        if "ALLOWED_LATENESS_MS" in env:
            raise ConfigurationError(
                "ALLOWED_LATENESS_MS is no longer read: set USER_LATENESS_MS (user windows, default 10000) and "
                "MARKET_LATENESS_MS (market windows, default 60000) instead, then remove it"
            )
        defaults, kafka, topics = cls(), KafkaSettings(), Topics()
        return cls(
            redis_url=env.get("REDIS_URL", defaults.redis_url),
            redis_cluster=_flag(env, "REDIS_CLUSTER"),
            redis_iam=_redis_iam(env),
            kafka=KafkaSettings(
                bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap_servers),
                security_protocol=env.get("KAFKA_SECURITY_PROTOCOL", kafka.security_protocol),
                sasl_mechanism=env.get("KAFKA_SASL_MECHANISM") or None,
                enable_idempotence=_flag(env, "KAFKA_ENABLE_IDEMPOTENCE"),
            ),
            topics=Topics(
                trades=env.get("TRADES_TOPIC", topics.trades),
                analyzed=env.get("ANALYZED_TOPIC", topics.analyzed),
                alerts=env.get("ALERTS_TOPIC", topics.alerts),
                dead_letter=env.get("DEAD_LETTER_TOPIC", topics.dead_letter),
                orders=env.get("ORDERS_TOPIC", topics.orders),
            ),
            user_lateness_ms=_int(env, "USER_LATENESS_MS", defaults.user_lateness_ms),
            market_lateness_ms=_int(env, "MARKET_LATENESS_MS", defaults.market_lateness_ms),
            max_future_skew_ms=_int(env, "MAX_FUTURE_SKEW_MS", defaults.max_future_skew_ms),
            max_trade_age_ms=_int(env, "MAX_TRADE_AGE_MS", defaults.max_trade_age_ms),
            duplicate_horizon_ms=_int(env, "DUPLICATE_HORIZON_MS", defaults.duplicate_horizon_ms),
            rules=_rules(env),
            sink=env.get("RISKENGINE_SINK", defaults.sink),
        )


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "false").strip().lower()
    if value not in {"true", "false", "1", "0", "yes", "no"}:
        raise ConfigurationError(f"{name} must be true or false, got {value!r}")
    return value in {"true", "1", "yes"}


def _redis_iam(env: Mapping[str, str]) -> RedisIamAuth | None:
    auth = env.get("REDIS_AUTH", "none").strip().lower()
    if auth == "none":
        return None
    if auth != "iam":
        raise ConfigurationError(f"REDIS_AUTH must be none or iam, got {auth!r}")
    missing = [name for name in ("REDIS_USER", "REDIS_CACHE_NAME", "AWS_REGION") if not env.get(name)]
    if missing:
        raise ConfigurationError(f"REDIS_AUTH=iam needs {' and '.join(missing)} set")
    return RedisIamAuth(
        user=env["REDIS_USER"],
        cache_name=env["REDIS_CACHE_NAME"],
        region=env["AWS_REGION"],
        serverless=_flag(env, "REDIS_CACHE_SERVERLESS"),
    )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(env.get(name, default))
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {env.get(name)!r}") from exc


def _rules(env: Mapping[str, str]) -> Mapping[str, Mapping[str, Any]]:
    """Rule settings from RISK_RULES_JSON (inline) or RISK_RULES_FILE (a path)."""
    text = env.get("RISK_RULES_JSON")
    source = "RISK_RULES_JSON"
    if text is None and env.get("RISK_RULES_FILE"):
        source = env["RISK_RULES_FILE"]
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"cannot read RISK_RULES_FILE {source}: {exc}") from exc
    if not text:
        return {}
    try:
        rules = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{source} is not valid JSON: {exc}") from exc
    if not isinstance(rules, dict) or not all(isinstance(v, dict) for v in rules.values()):
        raise ConfigurationError(f"{source} must be an object of rule name -> settings object")
    return rules
