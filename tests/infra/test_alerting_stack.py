"""AlertingStack: KMS-encrypted, TLS-only topics; alert e-mails filtered to HIGH and CRITICAL; alarms allowed in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from infra_testing import TEST_ACCOUNT, TEST_CONTEXT, TEST_REGION

from riskengine_infra import nag
from riskengine_infra.config import ContextError, DeploymentConfig
from riskengine_infra.stacks.alerting import AlertingStack

ENV = cdk.Environment(account=TEST_ACCOUNT, region=TEST_REGION)
CONTEXT = json.loads((Path(__file__).parents[2] / "cdk.json").read_text())["context"] | TEST_CONTEXT
ALARMS_OF_THIS_ACCOUNT = {
    "StringEquals": {"aws:SourceAccount": TEST_ACCOUNT},
    "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{TEST_REGION}:{TEST_ACCOUNT}:alarm:*"},
}
EMAILS = {"alert-emails": ["compliance@example.com", "risk@example.com"], "ops-emails": "oncall@example.com"}


@dataclass
class Synthesized:
    stack: AlertingStack
    template: Template
    findings: list[str]

    def topic(self, topic: Any) -> str:
        return self.stack.get_logical_id(topic.node.default_child)

    def subscriptions(self, topic: Any) -> list[dict[str, Any]]:
        found = self.template.find_resources("AWS::SNS::Subscription")
        return [s["Properties"] for s in found.values() if s["Properties"]["TopicArn"] == {"Ref": self.topic(topic)}]


def synthesize(tmp_path_factory: pytest.TempPathFactory, context: dict[str, Any]) -> Synthesized:
    app = cdk.App(context=CONTEXT | context | nag.REPORT_ONLY_CONTEXT, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    config = DeploymentConfig.from_context(app.node.try_get_context)
    stack = AlertingStack(app, "riskengine-alerting", config=config, env=ENV)
    nag.add_checks(app)
    assembly = app.synth()
    return Synthesized(stack, Template.from_stack(stack), nag.aws_solutions_findings(assembly, stack))


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory, EMAILS)


@pytest.fixture(scope="module")
def with_queue(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory, EMAILS | {"alerts-queue": "true"})


def test_both_topics_are_encrypted_with_a_rotated_key(synthesized: Synthesized) -> None:
    (key_id,) = synthesized.template.find_resources("AWS::KMS::Key", {"Properties": {"EnableKeyRotation": True}})
    for name in ("riskengine-alerts", "riskengine-ops"):
        synthesized.template.has_resource_properties(
            "AWS::SNS::Topic", {"TopicName": name, "KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}}
        )


def test_both_topics_refuse_publishers_without_tls(synthesized: Synthesized) -> None:
    policies = synthesized.template.find_resources("AWS::SNS::TopicPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        statement = policy["Properties"]["PolicyDocument"]["Statement"][0]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_alert_emails_get_high_and_critical_only(synthesized: Synthesized) -> None:
    subscriptions = synthesized.subscriptions(synthesized.stack.alerts_topic)
    assert sorted(s["Endpoint"] for s in subscriptions) == ["compliance@example.com", "risk@example.com"]
    for subscription in subscriptions:
        assert subscription["Protocol"] == "email"
        assert subscription["FilterPolicy"] == {"severity": ["HIGH", "CRITICAL"]}


def test_ops_emails_get_every_alarm(synthesized: Synthesized) -> None:
    (subscription,) = synthesized.subscriptions(synthesized.stack.ops_topic)
    assert subscription["Endpoint"] == "oncall@example.com"
    assert "FilterPolicy" not in subscription


def test_cloudwatch_alarms_of_this_account_may_publish_to_the_ops_topic(synthesized: Synthesized) -> None:
    ops = synthesized.topic(synthesized.stack.ops_topic)
    policy = next(
        p for p in synthesized.template.find_resources("AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [{"Ref": ops}]
    )  # fmt: skip
    assert {
        "Action": "sns:Publish",
        "Condition": ALARMS_OF_THIS_ACCOUNT,
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Resource": {"Ref": ops},
        "Sid": "CloudWatchAlarmsOfThisAccount",
    } in policy["Properties"]["PolicyDocument"]["Statement"]
    (key,) = synthesized.template.find_resources("AWS::KMS::Key").values()
    grants = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "CloudWatchAlarmsPublishToEncryptedTopics"
    ]
    assert grants[0]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert grants[0]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    # the key's grant to the CloudWatch service holds only for this account's alarms (no confused deputy)
    assert grants[0]["Condition"] == ALARMS_OF_THIS_ACCOUNT


def test_the_alerts_topic_takes_no_alarms(synthesized: Synthesized) -> None:
    alerts = synthesized.topic(synthesized.stack.alerts_topic)
    policy = next(
        p for p in synthesized.template.find_resources("AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [{"Ref": alerts}]
    )  # fmt: skip
    assert [s["Effect"] for s in policy["Properties"]["PolicyDocument"]["Statement"]] == ["Deny"]


def test_an_address_without_at_sign_is_refused() -> None:
    with pytest.raises(ContextError, match="alert-emails holds addresses that are not e-mail addresses"):
        DeploymentConfig(alert_emails=("compliance.example.com",)).validate()


def test_cdk_nag_finds_nothing_unacknowledged(synthesized: Synthesized) -> None:
    assert synthesized.findings == []


def test_no_queue_unless_asked(synthesized: Synthesized) -> None:
    assert synthesized.stack.alerts_queue is None
    synthesized.template.resource_count_is("AWS::SQS::Queue", 0)
    assert set(synthesized.template.find_outputs("*")) == {"AlertsTopicArn"}


def test_the_optional_queue_gets_exactly_what_the_emails_get(with_queue: Synthesized) -> None:
    subscriptions = with_queue.subscriptions(with_queue.stack.alerts_topic)
    emails = [s for s in subscriptions if s["Protocol"] == "email"]
    (queue,) = [s for s in subscriptions if s["Protocol"] == "sqs"]
    assert queue["FilterPolicy"] == emails[0]["FilterPolicy"] == {"severity": ["HIGH", "CRITICAL"]}
    assert queue["RawMessageDelivery"] is True
    queue_id = with_queue.stack.get_logical_id(with_queue.stack.alerts_queue.node.default_child)
    assert queue["Endpoint"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    (key_id,) = with_queue.template.find_resources("AWS::KMS::Key")
    with_queue.template.has_resource_properties(
        "AWS::SQS::Queue", {"QueueName": "riskengine-alerts-queue", "KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}}
    )
    assert set(with_queue.template.find_outputs("*")) == {"AlertsTopicArn", "AlertsQueueUrl"}
    assert with_queue.findings == []
