"""Make a Kafka cluster's topics match their specs: create the missing ones, add partitions, set retention.

Idempotent, so the CloudFormation custom resource (``functions/provision_topics``) runs it on every
deployment and a second run against the same specs changes nothing. It never deletes a topic, never
lowers a partition count (Kafka cannot remove partitions) and touches no topic config but ``retention.ms``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from kafka.errors import KafkaError, TopicAlreadyExistsError, UnknownTopicOrPartitionError, for_code

from riskengine.errors import ConfigurationError, RiskEngineError
from riskengine.settings import KafkaSettings

__all__ = [
    "ADMIN_TIMEOUT_MS",
    "RETENTION_MS",
    "TopicAdmin",
    "TopicOutcome",
    "TopicProvisioningFailed",
    "TopicResult",
    "TopicSpec",
    "TopicsReport",
    "admin_client",
    "provision_topics",
    "specs_from_resource_properties",
]

RETENTION_MS = "retention.ms"
# Long enough for an IAM-authenticated handshake with a busy MSK cluster, short enough to fail a deployment
# step with the broker's error instead of the custom resource's one-hour timeout.
ADMIN_TIMEOUT_MS = 30_000


class TopicAdmin(Protocol):
    """The part of kafka-python's ``KafkaAdminClient`` this module uses (tests pass a fake)."""

    def describe_topics(self, topics: list[str] | None = None) -> list[dict[str, Any]]: ...

    def create_topics(self, new_topics: Any, timeout_ms: int | None = None, raise_errors: bool = True) -> Any: ...

    def create_partitions(
        self, topic_partitions: Any, timeout_ms: int | None = None, raise_errors: bool = True
    ) -> Any: ...

    def describe_configs(self, config_resources: Any, config_filter: str = "modified") -> Any: ...

    def alter_configs(self, config_resources: Any, raise_on_unknown: bool = True, incremental: Any = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """What one topic must look like. ``retention_ms=None`` leaves the broker's default alone."""

    name: str
    partitions: int
    retention_ms: int | None = None
    # -1 asks the brokers for their default (Kafka 2.4+): MSK sets it from the cluster's size, and MSK
    # Serverless accepts nothing else.
    replication_factor: int = -1

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigurationError("a topic needs a name")
        if self.partitions < 1:
            raise ConfigurationError(f"topic {self.name}: partitions must be >= 1, got {self.partitions}")
        if self.retention_ms is not None and self.retention_ms < 1 and self.retention_ms != -1:
            raise ConfigurationError(f"topic {self.name}: retention.ms must be >= 1 or -1, got {self.retention_ms}")
        if self.replication_factor < 1 and self.replication_factor != -1:
            raise ConfigurationError(f"topic {self.name}: replication factor must be >= 1 or -1")


class TopicOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class TopicResult:
    name: str
    outcome: TopicOutcome
    # What was done or deliberately left alone, e.g. "partitions 6 -> 12", "kept 24 partitions (12 asked)".
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TopicsReport:
    results: tuple[TopicResult, ...]

    def result(self, name: str) -> TopicResult:
        return next(result for result in self.results if result.name == name)

    def as_data(self) -> dict[str, str]:
        """One string attribute per topic (what CloudFormation's ``Fn::GetAtt`` can read)."""
        return {result.name: result.outcome.value for result in self.results}


class TopicProvisioningFailed(RiskEngineError):
    """The cluster refused a step (not authorized, invalid config, unsupported request); names the topic."""

    reason = "topic_provisioning_failed"


def admin_client(
    kafka: KafkaSettings, *, client_id: str = "riskengine-provisioning", timeout_ms: int = ADMIN_TIMEOUT_MS
) -> KafkaAdminClient:
    """An admin client with the same address and security settings as the engine's producer."""
    options: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers.split(","),
        "security_protocol": kafka.security_protocol,
        "client_id": client_id,
        "request_timeout_ms": timeout_ms,
        "bootstrap_timeout_ms": timeout_ms,
    }
    if kafka.sasl_mechanism:
        options["sasl_mechanism"] = kafka.sasl_mechanism
    return KafkaAdminClient(**options)


def provision_topics(admin: TopicAdmin, specs: Sequence[TopicSpec]) -> TopicsReport:
    """Create missing topics, raise partition counts, set ``retention.ms``; returns one result per spec."""
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"topic names must be unique, got {names}")
    partitions = _partition_counts(admin, names)
    created = _create(admin, [spec for spec in specs if spec.name not in partitions])
    # A topic another client created between our describe and create is reconciled like any existing one.
    raced = [spec.name for spec in specs if spec.name not in partitions and spec.name not in created]
    if raced:
        partitions |= _partition_counts(admin, raced)
    existing = [spec for spec in specs if spec.name not in created]
    notes = _Notes()
    _add_partitions(admin, existing, partitions, notes)
    _set_retention(admin, [spec for spec in existing if spec.retention_ms is not None], notes)
    return TopicsReport(tuple(_result(spec.name, spec.name in created, notes) for spec in specs))


def specs_from_resource_properties(properties: Mapping[str, Any]) -> tuple[TopicSpec, ...]:
    """The ``topics`` property of the custom resource; CloudFormation passes every number as a string."""
    raw = properties.get("topics")
    if not isinstance(raw, list) or not raw:
        raise ConfigurationError("custom resource property topics must be a non-empty list of topics")
    return tuple(_spec(item) for item in raw)


@dataclass(slots=True)
class _Notes:
    """Per topic: the changes made (which make it UPDATED) and the remarks (which do not)."""

    changes: dict[str, list[str]] = field(default_factory=dict)
    remarks: dict[str, list[str]] = field(default_factory=dict)

    def change(self, name: str, text: str) -> None:
        self.changes.setdefault(name, []).append(text)

    def remark(self, name: str, text: str) -> None:
        self.remarks.setdefault(name, []).append(text)


def _result(name: str, created: bool, notes: _Notes) -> TopicResult:
    changes, remarks = notes.changes.get(name, []), notes.remarks.get(name, [])
    outcome = TopicOutcome.CREATED if created else TopicOutcome.UPDATED if changes else TopicOutcome.UNCHANGED
    return TopicResult(name, outcome, tuple(changes + remarks))


def _partition_counts(admin: TopicAdmin, names: list[str]) -> dict[str, int]:
    """Partition count of each topic that exists; a missing topic is simply absent from the answer."""
    counts: dict[str, int] = {}
    for topic in admin.describe_topics(names):
        code = topic["error_code"]
        if code == UnknownTopicOrPartitionError.errno:
            continue
        if code:
            raise TopicProvisioningFailed(f"describing topic {topic['name']!r}: {for_code(code).__name__}")
        counts[topic["name"]] = len(topic["partitions"])
    return counts


def _create(admin: TopicAdmin, specs: Iterable[TopicSpec]) -> set[str]:
    """Create the topics; returns the names created here (one that already exists is not an error)."""
    request = {spec.name: _creation(spec) for spec in specs}
    if not request:
        return set()
    response = admin.create_topics(request, timeout_ms=ADMIN_TIMEOUT_MS, raise_errors=False)
    created: set[str] = set()
    for topic in response["topics"]:
        error = for_code(topic["error_code"])
        if not topic["error_code"]:
            created.add(topic["name"])
        elif error is not TopicAlreadyExistsError:
            raise TopicProvisioningFailed(
                f"creating topic {topic['name']!r}: {error.__name__}: {topic.get('error_message')}"
            )
    return created


def _creation(spec: TopicSpec) -> dict[str, Any]:
    configs = {} if spec.retention_ms is None else {RETENTION_MS: str(spec.retention_ms)}
    return {"num_partitions": spec.partitions, "replication_factor": spec.replication_factor, "configs": configs}


def _add_partitions(
    admin: TopicAdmin, specs: Iterable[TopicSpec], partitions: Mapping[str, int], notes: _Notes
) -> None:
    for spec in specs:
        current = partitions.get(spec.name)
        if current is None:  # "already exists" on create, yet unknown to the metadata: a broker in flux
            raise TopicProvisioningFailed(f"topic {spec.name!r} exists but its metadata is not available yet")
        if current > spec.partitions:
            notes.remark(spec.name, f"kept {current} partitions ({spec.partitions} asked; Kafka cannot remove any)")
        elif current < spec.partitions:
            # One request per topic, so a refusal names the topic it concerns.
            try:
                admin.create_partitions({spec.name: spec.partitions}, timeout_ms=ADMIN_TIMEOUT_MS, raise_errors=True)
            except KafkaError as exc:
                raise TopicProvisioningFailed(f"adding partitions to topic {spec.name!r}: {_describe(exc)}") from exc
            notes.change(spec.name, f"partitions {current} -> {spec.partitions}")


def _set_retention(admin: TopicAdmin, specs: Sequence[TopicSpec], notes: _Notes) -> None:
    if not specs:
        return
    current = _retention_values(admin, [spec.name for spec in specs])
    stale = [spec for spec in specs if current.get(spec.name) != str(spec.retention_ms)]
    if not stale:
        return
    resources = [ConfigResource(ConfigResourceType.TOPIC, s.name, {RETENTION_MS: str(s.retention_ms)}) for s in stale]
    # Incremental (Kafka 2.3+): the legacy AlterConfigs would reset every other override of the topic. The
    # broker validates the key itself, so kafka-python's own pre-check (an extra describe) is skipped.
    try:
        outcome = admin.alter_configs(resources, raise_on_unknown=False, incremental=True)
    except KafkaError as exc:
        raise TopicProvisioningFailed(f"setting {RETENTION_MS} of {[s.name for s in stale]}: {_describe(exc)}") from exc
    failures = {name: result for name, result in outcome.get("topic", {}).items() if result != "OK"}
    if failures:
        raise TopicProvisioningFailed(f"setting {RETENTION_MS}: {failures}")
    for spec in stale:
        notes.change(spec.name, f"{RETENTION_MS} {current.get(spec.name, 'unknown')} -> {spec.retention_ms}")


def _retention_values(admin: TopicAdmin, names: list[str]) -> dict[str, str]:
    """Current ``retention.ms`` of each topic (absent when the broker did not say).

    Every config is asked for, with the "all" filter: some brokers (tansu) drop the connection when
    given key names, and report a topic's own override as a default, which the "modified" filter hides.
    """
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    try:
        described = admin.describe_configs(resources, config_filter="all")
    except KafkaError as exc:
        raise TopicProvisioningFailed(f"reading the configs of {names}: {_describe(exc)}") from exc
    topics = described.get("topic", {})
    return {name: str(topics[name][RETENTION_MS]["value"]) for name in names if RETENTION_MS in topics.get(name, {})}


def _spec(item: Any) -> TopicSpec:
    if not isinstance(item, Mapping) or not item.get("name"):
        raise ConfigurationError(f"each topic needs at least a name, got {item!r}")
    name = str(item["name"])
    retention = item.get("retentionMs")
    return TopicSpec(
        name=name,
        partitions=_whole(name, "partitions", item.get("partitions")),
        retention_ms=None if retention in (None, "") else _whole(name, "retentionMs", retention),
        replication_factor=_whole(name, "replicationFactor", item.get("replicationFactor", -1)),
    )


def _whole(topic: str, key: str, raw: Any) -> int:
    try:
        return int(str(raw).strip())
    except ValueError as exc:
        raise ConfigurationError(f"topic {topic}: {key} must be a whole number, got {raw!r}") from exc


def _describe(exc: KafkaError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
