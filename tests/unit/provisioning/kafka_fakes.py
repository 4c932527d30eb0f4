"""An in-memory stand-in for the part of kafka-python's KafkaAdminClient that topic provisioning uses.

Answers in the shapes kafka-python 3 returns (dicts with ``error_code``, ``{"topic": {name: ...}}``), and
records every request so tests can tell a no-op run from one that changed something.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kafka.admin import ConfigResource
from kafka.errors import (
    IncompatibleBrokerVersion,
    InvalidPartitionsError,
    InvalidReplicationFactorError,
    TopicAlreadyExistsError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)


@dataclass
class FakeTopic:
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeAdmin:
    topics: dict[str, FakeTopic] = field(default_factory=dict)
    requests: list[tuple[str, Any]] = field(default_factory=list)
    # Failure modes of real clusters.
    unauthorized: set[str] = field(default_factory=set)  # topics the credentials may not touch
    created_elsewhere: dict[str, FakeTopic] = field(default_factory=dict)  # appear just before our create
    supports_create_partitions: bool = True
    refused_configs: dict[str, str] = field(default_factory=dict)  # topic -> the broker's error text
    refused_creations: set[str] = field(default_factory=set)  # e.g. a replication factor the cluster cannot meet
    closed: bool = False

    def __enter__(self) -> FakeAdmin:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.closed = True

    def describe_topics(self, topics: list[str] | None = None) -> list[dict[str, Any]]:
        self.requests.append(("describe_topics", list(topics or [])))
        return [self._metadata(name) for name in topics or []]

    def create_topics(self, new_topics: dict[str, dict[str, Any]], timeout_ms: int | None = None,
                      raise_errors: bool = True) -> dict[str, Any]:  # fmt: skip
        assert raise_errors is False, "provisioning reads per-topic errors itself"
        self.requests.append(("create_topics", new_topics))
        self.topics |= self.created_elsewhere
        return {"topics": [self._create(name, options) for name, options in new_topics.items()]}

    def create_partitions(self, topic_partitions: dict[str, int], timeout_ms: int | None = None,
                          raise_errors: bool = True) -> None:  # fmt: skip
        self.requests.append(("create_partitions", topic_partitions))
        if not self.supports_create_partitions:
            raise IncompatibleBrokerVersion(
                "Kafka broker does not support the 'CreatePartitionsRequest' Kafka protocol."
            )
        for name, count in topic_partitions.items():
            if count <= self.topics[name].partitions:
                raise InvalidPartitionsError(f"Topic currently has {self.topics[name].partitions} partitions")
            self.topics[name].partitions = count

    def describe_configs(self, config_resources: list[ConfigResource], config_filter: str = "modified") -> Any:
        self.requests.append(("describe_configs", [r.name for r in config_resources]))
        assert config_filter == "all"
        return {"topic": {r.name: {k: {"value": v} for k, v in self.topics[r.name].configs.items()}
                          for r in config_resources}}  # fmt: skip

    def alter_configs(self, config_resources: list[ConfigResource], raise_on_unknown: bool = True,
                      incremental: Any = None) -> dict[str, Any]:  # fmt: skip
        assert incremental is True, "the legacy AlterConfigs would reset the topic's other overrides"
        self.requests.append(("alter_configs", {r.name: r.configs for r in config_resources}))
        results: dict[str, str] = {}
        for resource in config_resources:
            if resource.name in self.refused_configs:
                results[resource.name] = self.refused_configs[resource.name]
                continue
            self.topics[resource.name].configs.update(resource.configs)
            results[resource.name] = "OK"
        return {"topic": results}

    def changes(self) -> list[str]:
        """The kinds of request that change the cluster, in order."""
        writes = ("create_topics", "create_partitions", "alter_configs")
        return [kind for kind, _ in self.requests if kind in writes]

    def _metadata(self, name: str) -> dict[str, Any]:
        if name in self.unauthorized:
            return {"name": name, "error_code": TopicAuthorizationFailedError.errno, "partitions": []}
        if name not in self.topics:
            return {"name": name, "error_code": UnknownTopicOrPartitionError.errno, "partitions": []}
        partitions = [{"partition_index": i, "error_code": 0} for i in range(self.topics[name].partitions)]
        return {"name": name, "error_code": 0, "partitions": partitions}

    def _create(self, name: str, options: dict[str, Any]) -> dict[str, Any]:
        if name in self.refused_creations:
            error = InvalidReplicationFactorError
            return {"name": name, "error_code": error.errno, "error_message": "Replication factor: 3 larger than 1."}
        if name in self.topics:
            error = TopicAlreadyExistsError
            return {"name": name, "error_code": error.errno, "error_message": f"Topic '{name}' already exists."}
        self.topics[name] = FakeTopic(options["num_partitions"], dict(options.get("configs", {})))
        return {"name": name, "error_code": 0, "error_message": None}
