"""functions/provision_topics: the CDK Provider framework's on_event shapes, against an in-memory admin client."""

from collections.abc import Callable
from typing import Any

import pytest
from kafka_fakes import FakeAdmin, FakeTopic

import riskengine.provisioning
from riskengine.errors import ConfigurationError
from riskengine.settings import KafkaSettings
from riskengine_tools.local.bridge import load_handler
from riskengine_tools.local.paths import function_handler

PHYSICAL_ID = "riskengine-kafka-topics"
BROKERS = "b-1.risk.abc.c2.kafka.eu-west-1.amazonaws.com:9098,b-2.risk.abc.c2.kafka.eu-west-1.amazonaws.com:9098"
TOPICS = [
    {"name": "crypto-trades", "partitions": "12", "retentionMs": "604800000"},
    {"name": "crypto-trades-dlq", "partitions": "12", "retentionMs": "1209600000"},
]


def event(request_type: str, **properties: Any) -> dict[str, Any]:
    """What the Provider framework passes to on_event (CloudFormation turns every scalar into a string)."""
    shape: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:eu-west-1:111122223333:function:provider-framework-onEvent",
        "ResponseURL": "https://cloudformation-custom-resource-response.example/...",
        "StackId": "arn:aws:cloudformation:eu-west-1:111122223333:stack/risk/1",
        "RequestId": "0b3f",
        "LogicalResourceId": "Topics",
        "ResourceType": "Custom::KafkaTopics",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...", **properties},
    }
    if request_type != "Create":
        shape["PhysicalResourceId"] = PHYSICAL_ID
    return shape


class Connections:
    """Hands out the fake admin and remembers the settings each connection was asked for."""

    def __init__(self, admin: FakeAdmin | None) -> None:
        self.admin = admin
        self.settings: list[KafkaSettings] = []

    def __call__(self, kafka: KafkaSettings, **_: Any) -> FakeAdmin:
        if self.admin is None:
            raise AssertionError("this request must not touch the cluster")
        self.settings.append(kafka)
        return self.admin


@pytest.fixture
def on_event(monkeypatch: pytest.MonkeyPatch) -> Callable[[Connections], Callable[[dict[str, Any]], Any]]:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "AWS_MSK_IAM")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "must-not-be-used:9092")
    for name, value in {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "ERROR")

    def load(connections: Connections) -> Callable[[dict[str, Any]], Any]:
        monkeypatch.setattr(riskengine.provisioning, "admin_client", connections)
        return load_handler(function_handler("provision_topics"), "on_event")

    return load


def test_create_provisions_the_topics_over_iam_at_the_brokers_of_the_property(on_event: Any) -> None:
    connections = Connections(FakeAdmin())
    response = on_event(connections)(event("Create", bootstrapServers=BROKERS, topics=TOPICS))
    assert response == {
        "PhysicalResourceId": PHYSICAL_ID,
        "Data": {"crypto-trades": "created", "crypto-trades-dlq": "created"},
    }
    (settings,) = connections.settings
    assert (settings.bootstrap_servers, settings.security_protocol, settings.sasl_mechanism) == (
        BROKERS,
        "SASL_SSL",
        "AWS_MSK_IAM",
    )
    assert connections.admin is not None and connections.admin.closed


def test_update_reconciles_and_keeps_the_id(on_event: Any) -> None:
    admin = FakeAdmin(topics={"crypto-trades": FakeTopic(6, {"retention.ms": "604800000"})})
    response = on_event(Connections(admin))(event("Update", bootstrapServers=BROKERS, topics=TOPICS))
    assert response["PhysicalResourceId"] == PHYSICAL_ID
    assert response["Data"] == {"crypto-trades": "updated", "crypto-trades-dlq": "created"}
    assert admin.topics["crypto-trades"].partitions == 12


def test_delete_keeps_the_topics_and_returns_the_same_id(on_event: Any) -> None:
    assert on_event(Connections(None))(event("Delete")) == {"PhysicalResourceId": PHYSICAL_ID}


def test_missing_brokers_fail_the_deployment_naming_the_property(on_event: Any) -> None:
    with pytest.raises(ConfigurationError, match="bootstrapServers is required"):
        on_event(Connections(None))(event("Create", topics=TOPICS))


def test_an_unknown_request_type_is_refused(on_event: Any) -> None:
    with pytest.raises(ValueError, match="RequestType must be Create, Update or Delete"):
        on_event(Connections(None))(event("Replace"))
