"""Topic provisioning against the real Kafka-protocol broker (tansu, PLAINTEXT on loopback)."""

import uuid
from collections.abc import Iterator

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from riskengine.provisioning import TopicOutcome, TopicProvisioningFailed, TopicSpec, admin_client, provision_topics
from riskengine.settings import KafkaSettings
from riskengine_tools.local import EmbeddedBroker

pytestmark = pytest.mark.integration

WEEK_MS, TWO_WEEKS_MS = 604_800_000, 1_209_600_000


@pytest.fixture
def admin(kafka_broker: EmbeddedBroker) -> Iterator[KafkaAdminClient]:
    with admin_client(KafkaSettings(bootstrap_servers=kafka_broker.bootstrap_servers)) as client:
        yield client


@pytest.fixture
def names() -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return f"crypto-trades-{suffix}", f"crypto-trades-dlq-{suffix}"


def partitions(admin: KafkaAdminClient, name: str) -> int:
    (topic,) = admin.describe_topics([name])
    return len(topic["partitions"])


def retention(admin: KafkaAdminClient, name: str) -> str:
    configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)], config_filter="all")
    return configs["topic"][name]["retention.ms"]["value"]


def test_topics_are_created_then_left_alone(admin: KafkaAdminClient, names: tuple[str, str]) -> None:
    trades, dead_letters = names
    specs = [TopicSpec(trades, 3, WEEK_MS), TopicSpec(dead_letters, 2, TWO_WEEKS_MS)]

    first = provision_topics(admin, specs)
    assert first.as_data() == {trades: "created", dead_letters: "created"}
    assert (partitions(admin, trades), retention(admin, trades)) == (3, str(WEEK_MS))
    assert (partitions(admin, dead_letters), retention(admin, dead_letters)) == (2, str(TWO_WEEKS_MS))

    second = provision_topics(admin, specs)
    assert {result.outcome for result in second.results} == {TopicOutcome.UNCHANGED}


def test_retention_is_updated_and_partitions_never_lowered(admin: KafkaAdminClient, names: tuple[str, str]) -> None:
    trades, _ = names
    provision_topics(admin, [TopicSpec(trades, 3, WEEK_MS)])

    report = provision_topics(admin, [TopicSpec(trades, 1, TWO_WEEKS_MS)])
    result = report.result(trades)
    assert result.outcome is TopicOutcome.UPDATED
    assert result.notes == (
        f"retention.ms {WEEK_MS} -> {TWO_WEEKS_MS}",
        "kept 3 partitions (1 asked; Kafka cannot remove any)",
    )
    assert (partitions(admin, trades), retention(admin, trades)) == (3, str(TWO_WEEKS_MS))


def test_a_missing_topic_is_created_beside_existing_ones(admin: KafkaAdminClient, names: tuple[str, str]) -> None:
    trades, dead_letters = names
    provision_topics(admin, [TopicSpec(trades, 2, WEEK_MS)])
    report = provision_topics(admin, [TopicSpec(trades, 2, WEEK_MS), TopicSpec(dead_letters, 1, TWO_WEEKS_MS)])
    assert report.as_data() == {trades: "unchanged", dead_letters: "created"}


def test_raising_partitions_fails_clearly_where_the_broker_cannot(
    admin: KafkaAdminClient, names: tuple[str, str]
) -> None:
    """tansu has no CreatePartitions (MSK has): the step fails naming the topic instead of passing silently.

    Raising partitions itself is covered against the in-memory admin (tests/unit/provisioning).
    """
    trades, _ = names
    provision_topics(admin, [TopicSpec(trades, 1, WEEK_MS)])
    with pytest.raises(TopicProvisioningFailed, match=f"adding partitions to topic '{trades}'"):
        provision_topics(admin, [TopicSpec(trades, 2, WEEK_MS)])
    assert partitions(admin, trades) == 1
