"""riskengine.provisioning.topics against an in-memory admin client: create, raise, retain, and no more."""

import re

import pytest
from kafka_fakes import FakeAdmin, FakeTopic

from riskengine.errors import ConfigurationError
from riskengine.provisioning import (
    TopicOutcome,
    TopicProvisioningFailed,
    TopicSpec,
    provision_topics,
    specs_from_resource_properties,
)

WEEK_MS, TWO_WEEKS_MS = 604_800_000, 1_209_600_000
SPECS = (
    TopicSpec("crypto-trades", partitions=12, retention_ms=WEEK_MS),
    TopicSpec("crypto-trades-dlq", partitions=3, retention_ms=TWO_WEEKS_MS),
)


def test_missing_topics_are_created_with_their_partitions_and_retention() -> None:
    admin = FakeAdmin()
    report = provision_topics(admin, SPECS)
    assert report.as_data() == {"crypto-trades": "created", "crypto-trades-dlq": "created"}
    assert admin.topics["crypto-trades"] == FakeTopic(12, {"retention.ms": str(WEEK_MS)})
    assert admin.topics["crypto-trades-dlq"] == FakeTopic(3, {"retention.ms": str(TWO_WEEKS_MS)})
    (create,) = [options for kind, options in admin.requests if kind == "create_topics"]
    assert create["crypto-trades"]["replication_factor"] == -1  # the brokers' default (MSK sets it per cluster)


def test_a_second_run_changes_nothing() -> None:
    admin = FakeAdmin()
    provision_topics(admin, SPECS)
    admin.requests.clear()
    report = provision_topics(admin, SPECS)
    assert {result.outcome for result in report.results} == {TopicOutcome.UNCHANGED}
    assert admin.changes() == []


def test_partitions_are_raised_and_retention_set_on_existing_topics() -> None:
    admin = FakeAdmin(topics={"crypto-trades": FakeTopic(6, {"retention.ms": str(TWO_WEEKS_MS)})})
    report = provision_topics(admin, SPECS[:1])
    result = report.result("crypto-trades")
    assert result.outcome is TopicOutcome.UPDATED
    assert result.notes == ("partitions 6 -> 12", f"retention.ms {TWO_WEEKS_MS} -> {WEEK_MS}")
    assert admin.topics["crypto-trades"] == FakeTopic(12, {"retention.ms": str(WEEK_MS)})
    assert admin.changes() == ["create_partitions", "alter_configs"]


def test_partitions_are_never_lowered() -> None:
    admin = FakeAdmin(topics={"crypto-trades": FakeTopic(24, {"retention.ms": str(WEEK_MS)})})
    result = provision_topics(admin, SPECS[:1]).result("crypto-trades")
    assert result.outcome is TopicOutcome.UNCHANGED
    assert result.notes == ("kept 24 partitions (12 asked; Kafka cannot remove any)",)
    assert admin.topics["crypto-trades"].partitions == 24
    assert admin.changes() == []


def test_an_unset_retention_leaves_the_topic_config_alone() -> None:
    admin = FakeAdmin(topics={"risk-alerts": FakeTopic(12, {"retention.ms": "42"})})
    report = provision_topics(admin, [TopicSpec("risk-alerts", partitions=12)])
    assert report.result("risk-alerts").outcome is TopicOutcome.UNCHANGED
    assert [kind for kind, _ in admin.requests] == ["describe_topics"]


def test_a_topic_created_by_someone_else_meanwhile_is_reconciled_not_reported_as_created() -> None:
    admin = FakeAdmin(created_elsewhere={"crypto-trades": FakeTopic(4)})
    report = provision_topics(admin, SPECS)
    assert report.result("crypto-trades").outcome is TopicOutcome.UPDATED
    assert report.result("crypto-trades-dlq").outcome is TopicOutcome.CREATED
    assert admin.topics["crypto-trades"] == FakeTopic(12, {"retention.ms": str(WEEK_MS)})


def test_a_topic_the_role_may_not_describe_fails_naming_it_and_changes_nothing() -> None:
    admin = FakeAdmin(unauthorized={"crypto-trades"})
    with pytest.raises(
        TopicProvisioningFailed, match="describing topic 'crypto-trades': TopicAuthorizationFailedError"
    ):
        provision_topics(admin, SPECS)
    assert admin.changes() == []


def test_a_refused_creation_fails_with_the_brokers_reason() -> None:
    admin = FakeAdmin(refused_creations={"crypto-trades"})
    with pytest.raises(TopicProvisioningFailed, match=r"creating topic 'crypto-trades': InvalidReplicationFactor"):
        provision_topics(admin, SPECS)


def test_a_broker_that_cannot_add_partitions_fails_naming_the_topic() -> None:
    admin = FakeAdmin(topics={"crypto-trades": FakeTopic(1)}, supports_create_partitions=False)
    with pytest.raises(TopicProvisioningFailed, match="adding partitions to topic 'crypto-trades': IncompatibleBroker"):
        provision_topics(admin, SPECS[:1])


def test_a_refused_retention_fails_with_the_brokers_reason() -> None:
    admin = FakeAdmin(topics={"crypto-trades": FakeTopic(12)}, refused_configs={"crypto-trades": "PolicyViolation"})
    with pytest.raises(TopicProvisioningFailed, match=re.escape("retention.ms: {'crypto-trades': 'PolicyViolation'}")):
        provision_topics(admin, SPECS[:1])


def test_duplicate_names_are_refused_before_touching_the_cluster() -> None:
    admin = FakeAdmin()
    with pytest.raises(ConfigurationError, match="unique"):
        provision_topics(admin, [SPECS[0], SPECS[0]])
    assert admin.requests == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "t", "partitions": 0}, "partitions must be >= 1"),
        ({"name": "t", "partitions": 1, "retention_ms": 0}, "retention.ms must be >= 1 or -1"),
        ({"name": "t", "partitions": 1, "replication_factor": 0}, "replication factor must be >= 1 or -1"),
        ({"name": "", "partitions": 1}, "needs a name"),
    ],
)
def test_impossible_specs_are_refused(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        TopicSpec(**spec)  # type: ignore[arg-type]


def test_specs_are_read_from_the_string_properties_cloudformation_sends() -> None:
    properties = {
        "topics": [
            {"name": "crypto-trades", "partitions": "12", "retentionMs": "604800000"},
            {"name": "risk-alerts", "partitions": "6", "retentionMs": "", "replicationFactor": "3"},
        ]
    }
    assert specs_from_resource_properties(properties) == (
        TopicSpec("crypto-trades", 12, WEEK_MS, -1),
        TopicSpec("risk-alerts", 6, None, 3),
    )


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({}, "topics must be a non-empty list"),
        ({"topics": []}, "topics must be a non-empty list"),
        ({"topics": [{"partitions": "1"}]}, "each topic needs at least a name"),
        (
            {"topics": [{"name": "t", "partitions": "twelve"}]},
            "topic t: partitions must be a whole number, got 'twelve'",
        ),
        ({"topics": [{"name": "t"}]}, "topic t: partitions must be a whole number, got None"),
    ],
)
def test_unusable_properties_fail_the_deployment_with_the_property_named(
    properties: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        specs_from_resource_properties(properties)
