"""Creating the engine's topics on any Kafka-protocol broker (embedded or real)."""

from __future__ import annotations

from collections.abc import Iterable

from kafka.admin import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError, for_code

from riskengine.provisioning import topics as provisioning
from riskengine.settings import KafkaSettings

# Bounds every admin call, so an address that never answers fails fast with a clear error.
ADMIN_TIMEOUT_MS = 5_000


def admin_client(bootstrap_servers: str) -> KafkaAdminClient:
    """A PLAINTEXT admin client (local tools connect without security settings; see docs/configuration.md)."""
    return provisioning.admin_client(
        KafkaSettings(bootstrap_servers=bootstrap_servers),
        client_id="riskengine-local-admin",
        timeout_ms=ADMIN_TIMEOUT_MS,
    )


def ensure_topics(
    bootstrap_servers: str, names: Iterable[str], *, partitions: int = 1, replication_factor: int = 1
) -> None:
    """Create the topics; ones that already exist are left as they are, so setup can be re-run.

    ``replication_factor=-1`` asks the brokers for their default (Kafka 2.4+).
    """
    request = {name: {"num_partitions": partitions, "replication_factor": replication_factor} for name in names}
    if not request:
        return
    admin = admin_client(bootstrap_servers)
    try:
        response = admin.create_topics(request, timeout_ms=ADMIN_TIMEOUT_MS, raise_errors=False)
    finally:
        admin.close()
    for topic in response["topics"]:
        error = for_code(topic["error_code"])
        if topic["error_code"] and error is not TopicAlreadyExistsError:
            raise error(f"creating topic {topic['name']!r}: {topic.get('error_message')}")
