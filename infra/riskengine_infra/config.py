"""Deployment settings from CDK context (``cdk.json``, ``-c key=value``), validated once at synth time.

Every stack reads the same :class:`DeploymentConfig`; a wrong value fails the synth with a message
naming the context key, never a half-built template.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeVar

T = TypeVar("T")

MskMode = Literal["provisioned", "serverless"]
CacheMode = Literal["serverless", "replication-group"]
Architecture = Literal["arm64", "x86_64"]
ApiAuth = Literal["iam", "cognito"]
Bundling = Literal["local", "docker"]


class ContextError(ValueError):
    """A context value the app cannot use; the message names the key and what it accepts."""


@dataclass(frozen=True, slots=True)
class FunctionSizing:
    memory_mb: int
    timeout_s: int
    reserved_concurrency: int | None = None


@dataclass(frozen=True, slots=True)
class TriggerSettings:
    batch_size: int = 500
    batching_window_s: int = 1
    min_pollers: int = 1
    max_pollers: int = 4
    retry_attempts: int = 10
    starting_position: Literal["TRIM_HORIZON", "LATEST"] = "TRIM_HORIZON"


@dataclass(frozen=True, slots=True)
class DeploymentConfig:
    """What ``cdk.json``'s context (or ``-c``) can set; defaults are a small production-shaped deployment."""

    prefix: str = "riskengine"
    # Network
    vpc_cidr: str = "10.40.0.0/16"
    max_azs: int = 3
    # Stateful stacks (streaming, state, search): true keeps the cluster, the cache and the domain when a stack is
    # deleted and protects the stacks from deletion; false lets `cdk destroy` remove everything (dev environments)
    retain_data: bool = True
    # Streaming
    msk_mode: MskMode = "provisioned"
    kafka_version: str = "3.8.x"
    broker_instance_type: str = "kafka.m7g.large"
    brokers_per_az: int = 1  # provisioned: MSK wants the broker count to be a multiple of the subnets (AZs)
    broker_volume_gb: int = 500  # provisioned: the initial EBS volume of each broker; storage auto-scaling grows it
    broker_volume_max_gb: int = 2000  # the most storage auto-scaling may give a broker (MSK: up to 16384)
    broker_storage_target_percent: int = 60  # disk use auto-scaling keeps each broker under (MSK: 10..80)
    topic_partitions: int = 12
    topic_retention_hours: int = 168
    dead_letter_retention_hours: int = 336
    # State
    cache_mode: CacheMode = "serverless"
    cache_engine: Literal["valkey", "redis"] = "valkey"
    cache_node_type: str = "cache.r7g.large"
    cache_replicas: int = 1
    cache_shards: int = 2
    # Search
    search_instance_type: str = "r7g.large.search"
    search_instance_count: int = 3
    search_volume_gb: int = 200
    search_admin_role_arn: str = ""  # an operators' IAM role that provisioning maps to all_access (Dashboards admin)
    search_retention_days: int = 365
    search_master_nodes: int = 3  # dedicated master nodes (0, 3 or 5); cdk-nag asks for them
    search_master_instance_type: str = "m7g.large.search"
    search_shards: int = 3  # primary shards of each daily index (written into the index templates)
    search_replicas: int = 1
    # OpenSearch needs AWSServiceRoleForAmazonOpenSearchService for a VPC domain; false if the account has it
    search_service_linked_role: bool = True
    # Alerting
    alert_emails: tuple[str, ...] = ()
    ops_emails: tuple[str, ...] = ()
    dashboard_url: str = ""  # DASHBOARD_URL of dispatch_alerts: messages link to {url}/alerts/{alertId}; empty: none
    alerts_queue: bool = False  # an SQS queue subscribed to the alerts with the e-mails' severity filter
    # Rule settings as RISK_RULES_JSON takes them (docs/rules.md); the configuration stack publishes them in SSM
    risk_rules: str = "{}"
    # Functions
    architecture: Architecture = "arm64"
    bundling: Bundling = "local"
    score_trades: FunctionSizing = field(default_factory=lambda: FunctionSizing(1769, 120, None))
    # score_orders runs the same engine on order events (docs/decisions/0001-order-events.md): sized like score_trades
    score_orders: FunctionSizing = field(default_factory=lambda: FunctionSizing(1769, 120, None))
    downstream: FunctionSizing = field(default_factory=lambda: FunctionSizing(512, 60, None))
    # No reserved concurrency by default: a new account's limit can be as low as 10 and Lambda keeps 100 of it
    # unreserved, so any reservation can fail the deployment. Set one per function group once the limit is raised,
    # e.g. -c 'api={"memory_mb": 512, "timeout_s": 29, "reserved_concurrency": 50}'.
    api: FunctionSizing = field(default_factory=lambda: FunctionSizing(512, 29, None))
    trigger: TriggerSettings = field(default_factory=TriggerSettings)
    # score_orders' trigger on crypto-orders: its own batch size, window and pollers (order events come in bursts
    # of their own, e.g. quote stuffing); `trigger` sets every other mapping
    orders_trigger: TriggerSettings = field(default_factory=TriggerSettings)
    # The trading simulator (functions/simulate_trades, its 1-minute schedule, the API's /simulation/* routes) is a
    # demonstration tool: a production deployment has none of it unless this is true.
    simulator: bool = False
    # API
    api_auth: ApiAuth = "iam"
    api_rate_limit: int = 200
    api_burst_limit: int = 400
    # API Gateway needs one CloudWatch Logs role per account and region for its logs; false if the account has it
    api_cloudwatch_role: bool = True
    # Monitoring
    offset_lag_alarm: int = 50_000
    dead_letter_alarm: int = 1  # dead-lettered records within 5 minutes that raise the alarm
    cache_memory_alarm_percent: int = 80  # replication group: DatabaseMemoryUsagePercentage of a node
    cache_memory_alarm_gb: int = 10  # serverless cache (no memory ceiling of its own): BytesUsedForCache
    log_retention_days: int = 30
    offset_time_lag_alarm_s: int = 300  # MSK EstimatedMaxTimeLag of a trigger's group that pages (seconds)
    trades_heartbeat_minutes: int = 15  # no TradesScored for this long pages: the pipeline has stopped
    api_5xx_alarm: int = 5  # 5xx answers of the API within 5 minutes that page (503s ask clients to retry)

    def function_role_name(self, function: str) -> str:
        """The fixed IAM role name of ``functions/<function>``: OpenSearch's FGAC maps it before the role exists."""
        return f"{self.prefix}-{function.replace('_', '-')}"

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> DeploymentConfig:
        """Build from ``node.try_get_context``; keys are the field names in kebab-case (``msk-mode``)."""
        for key, why in REMOVED_KEYS.items():
            if get(key) is not None:
                raise ContextError(f"context {key} is no longer read: {why}; remove it")
        defaults = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = get(f.name.replace("_", "-"))
            if raw is not None:
                values[f.name] = _coerce(f.name, raw, getattr(defaults, f.name))
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        _choice("msk-mode", self.msk_mode, ("provisioned", "serverless"))
        _choice("cache-mode", self.cache_mode, ("serverless", "replication-group"))
        _choice("cache-engine", self.cache_engine, ("valkey", "redis"))
        _choice("architecture", self.architecture, ("arm64", "x86_64"))
        _choice("bundling", self.bundling, ("local", "docker"))
        _choice("api-auth", self.api_auth, ("iam", "cognito"))
        for name in ("max_azs", "topic_partitions", "topic_retention_hours", "search_instance_count"):
            if getattr(self, name) < 1:
                raise ContextError(f"context {name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        for trigger_name in ("trigger", "orders_trigger"):
            _validate_trigger(trigger_name.replace("_", "-"), getattr(self, trigger_name))
        for sizing_name in ("score_trades", "score_orders", "downstream", "api"):
            sizing: FunctionSizing = getattr(self, sizing_name)
            if not 128 <= sizing.memory_mb <= 10_240 or not 1 <= sizing.timeout_s <= 900:
                raise ContextError(f"context {sizing_name.replace('_', '-')}: memory 128..10240 MB, timeout 1..900 s")
            if sizing.reserved_concurrency is not None and sizing.reserved_concurrency < 1:
                # 0 would throttle every invocation; leave the key out for no reservation
                raise ContextError(
                    f"context {sizing_name.replace('_', '-')}.reserved_concurrency must be >= 1 or absent, "
                    f"got {sizing.reserved_concurrency}"
                )
        _validate_data_stores(self)
        _validate_functions_and_monitoring(self)


# Keys earlier versions read: set, they would silently do nothing, so the synth stops instead.
REMOVED_KEYS = {
    "nat-gateways": "the VPC has no NAT gateway (nothing in it needs one: docs/deploy.md, Network paths)",
}
# Names derived from the prefix must fit the services' limits (an OpenSearch domain name has at most 28 characters).
_PREFIX = re.compile(r"[a-z][a-z0-9-]{0,19}")
_IAM_PRINCIPAL = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:(role|user)/\S+")
# The only values CloudWatch Logs accepts as a log group's retention.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)  # fmt: skip


def _validate_data_stores(config: DeploymentConfig) -> None:
    """The settings of the network, streaming, state, search and alerting stacks."""
    if not _PREFIX.fullmatch(config.prefix):
        raise ContextError(
            f"context prefix must be 1-20 of a-z, 0-9 and '-', starting with a letter: {config.prefix!r}"
        )
    for name in ("brokers_per_az", "dead_letter_retention_hours", "cache_shards", "search_shards"):
        if getattr(config, name) < 1:
            raise ContextError(f"context {name.replace('_', '-')} must be >= 1, got {getattr(config, name)}")
    if not 1 <= config.broker_volume_gb <= config.broker_volume_max_gb <= 16_384:
        raise ContextError(
            "context broker-volume-gb and broker-volume-max-gb need 1 <= broker-volume-gb <= broker-volume-max-gb "
            f"<= 16384 (GiB per broker), got {config.broker_volume_gb} and {config.broker_volume_max_gb}"
        )
    target = config.broker_storage_target_percent
    if not 10 <= target <= 80:
        raise ContextError(f"context broker-storage-target-percent must be 10..80 (MSK's range), got {target}")
    if config.search_retention_days < 1:
        raise ContextError(f"context search-retention-days must be >= 1, got {config.search_retention_days}")
    if config.search_replicas < 0:
        raise ContextError(f"context search-replicas must be >= 0, got {config.search_replicas}")
    if config.search_master_nodes not in (0, 3, 5):
        raise ContextError(f"context search-master-nodes must be 0, 3 or 5, got {config.search_master_nodes}")
    if config.search_admin_role_arn and not _IAM_PRINCIPAL.fullmatch(config.search_admin_role_arn):
        raise ContextError(
            f"context search-admin-role-arn must be an IAM role or user ARN, got {config.search_admin_role_arn!r}"
        )
    if config.cache_mode == "replication-group" and config.cache_replicas < 1:
        raise ContextError("context cache-replicas must be >= 1 for a replication group (Multi-AZ needs a replica)")
    if config.log_retention_days not in LOG_RETENTION_DAYS:
        raise ContextError(f"context log-retention-days must be one of {LOG_RETENTION_DAYS}")
    for key, emails in (("alert-emails", config.alert_emails), ("ops-emails", config.ops_emails)):
        bad = [email for email in emails if "@" not in email.strip("@")]
        if bad:
            raise ContextError(f"context {key} holds addresses that are not e-mail addresses: {bad}")


def _validate_functions_and_monitoring(config: DeploymentConfig) -> None:
    """The settings of the functions, api and monitoring stacks."""
    if config.dashboard_url and not config.dashboard_url.startswith("https://"):
        raise ContextError(f"context dashboard-url must be empty or an https:// URL, got {config.dashboard_url!r}")
    for name in (
        "api_rate_limit",
        "api_burst_limit",
        "offset_lag_alarm",
        "dead_letter_alarm",
        "cache_memory_alarm_gb",
        "offset_time_lag_alarm_s",
        "trades_heartbeat_minutes",
        "api_5xx_alarm",
    ):
        if getattr(config, name) < 1:
            raise ContextError(f"context {name.replace('_', '-')} must be >= 1, got {getattr(config, name)}")
    if config.trades_heartbeat_minutes > 1440:  # CloudWatch evaluates an alarm over one day at most
        raise ContextError(f"context trades-heartbeat-minutes must be 1..1440, got {config.trades_heartbeat_minutes}")
    try:
        rules = json.loads(config.risk_rules)
    except json.JSONDecodeError as exc:
        raise ContextError(f"context risk-rules is not JSON: {exc}") from exc
    if not isinstance(rules, dict) or not all(isinstance(settings, dict) for settings in rules.values()):
        raise ContextError("context risk-rules must be an object of rule name -> settings object (docs/rules.md)")
    percent = config.cache_memory_alarm_percent
    if not 1 <= percent <= 100:
        raise ContextError(f"context cache-memory-alarm-percent must be 1..100, got {percent}")


def _validate_trigger(key: str, trigger: TriggerSettings) -> None:
    """One event source mapping's settings (context ``trigger`` or ``orders-trigger``)."""
    if not 1 <= trigger.batch_size <= 10_000:
        raise ContextError(f"context {key}.batch_size must be 1..10000, got {trigger.batch_size}")
    if not 0 <= trigger.batching_window_s <= 300:
        raise ContextError(f"context {key}.batching_window_s must be 0..300, got {trigger.batching_window_s}")
    if not 1 <= trigger.min_pollers <= trigger.max_pollers <= 2_000:
        raise ContextError(f"context {key} needs 1 <= min_pollers <= max_pollers <= 2000")
    if trigger.starting_position not in ("TRIM_HORIZON", "LATEST"):
        raise ContextError(
            f"context {key}.starting_position must be TRIM_HORIZON or LATEST, got {trigger.starting_position!r}"
        )


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ContextError(f"context {key} must be one of {', '.join(allowed)}, got {value!r}")


def _coerce(name: str, raw: Any, default: Any) -> Any:
    """Context from ``-c`` arrives as strings; from cdk.json as JSON values. Accept both."""
    key = name.replace("_", "-")
    try:
        if isinstance(default, bool):
            return raw if isinstance(raw, bool) else str(raw).lower() in {"true", "1", "yes"}
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, str) and isinstance(raw, Mapping):  # risk-rules written as an object in cdk.json
            return json.dumps(raw, sort_keys=True)
        if isinstance(default, tuple):
            items = raw if isinstance(raw, list | tuple) else [s for s in str(raw).split(",") if s.strip()]
            return tuple(str(item).strip() for item in items)
        if isinstance(default, FunctionSizing | TriggerSettings):
            return _record(type(default), raw, default)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ContextError(f"context {key} has an unusable value {raw!r}: {exc}") from exc


def _record(cls: type[T], raw: Any, default: Any) -> T:
    if not isinstance(raw, Mapping):
        raise TypeError(f"expected an object with keys {[f.name for f in fields(default)]}")
    unknown = set(raw) - {f.name for f in fields(default)}
    if unknown:
        raise TypeError(f"unknown keys {sorted(unknown)}")
    merged = {f.name: raw.get(f.name, getattr(default, f.name)) for f in fields(default)}
    return cls(
        **{k: (int(v) if isinstance(getattr(default, k), int) and v is not None else v) for k, v in merged.items()}
    )
