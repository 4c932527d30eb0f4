"""Settings of the alert dispatcher, read once per container from environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from riskengine.errors import ConfigurationError

SEVEN_DAYS_S = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    topic_arn: str
    dashboard_url: str = ""
    max_per_pattern_per_minute: int = 20
    sent_ttl_s: int = SEVEN_DAYS_S
    endpoint_url: str | None = None
    dead_letter_topic: str = "risk-alerts-dlq"

    def __post_init__(self) -> None:
        if not self.topic_arn:
            raise ConfigurationError("ALERTS_TOPIC_ARN must name the SNS topic alerts are published to")
        if self.max_per_pattern_per_minute < 0 or self.sent_ttl_s <= 0:
            raise ConfigurationError("MAX_ALERTS_PER_PATTERN_PER_MINUTE must be >= 0 and ALERTS_SENT_TTL_S > 0")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DispatchConfig:
        """Endpoint from AWS_ENDPOINT_URL_SNS or AWS_ENDPOINT_URL, so moto and LocalStack work unchanged."""
        env = os.environ if env is None else env
        return cls(
            topic_arn=env.get("ALERTS_TOPIC_ARN", ""),
            dashboard_url=env.get("DASHBOARD_URL", "").rstrip("/"),
            max_per_pattern_per_minute=_int(env, "MAX_ALERTS_PER_PATTERN_PER_MINUTE", 20),
            sent_ttl_s=_int(env, "ALERTS_SENT_TTL_S", SEVEN_DAYS_S),
            endpoint_url=env.get("AWS_ENDPOINT_URL_SNS") or env.get("AWS_ENDPOINT_URL") or None,
            dead_letter_topic=env.get("ALERTS_DEAD_LETTER_TOPIC", "risk-alerts-dlq"),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(env.get(name, default))
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {env.get(name)!r}") from exc
