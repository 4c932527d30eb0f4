"""StreamingStack: MSK (provisioned and serverless) with IAM over TLS only, its brokers, and the topics resource."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from infra_testing import TEST_ACCOUNT, TEST_CONTEXT, TEST_REGION

from riskengine_infra import nag
from riskengine_infra.config import ContextError, DeploymentConfig
from riskengine_infra.stacks.layers import LayersStack
from riskengine_infra.stacks.network import NetworkStack
from riskengine_infra.stacks.streaming import StreamingStack
from riskengine_infra.topics import Topics

ENV = cdk.Environment(account=TEST_ACCOUNT, region=TEST_REGION)
CONTEXT = json.loads((Path(__file__).parents[2] / "cdk.json").read_text())["context"] | TEST_CONTEXT
HOUR_MS = 3_600_000
# Provisioned with cdk.json's settings; serverless with other partitions and retention, to see them flow through,
# as a dev environment (retain-data=false).
VARIANTS = {
    "provisioned": {"msk-mode": "provisioned"},
    "serverless": {"msk-mode": "serverless", "topic-partitions": 6, "topic-retention-hours": 24, "retain-data": False},
}


@dataclass
class Synthesized:
    config: DeploymentConfig
    stack: StreamingStack
    network: NetworkStack
    template: Template
    findings: list[str]

    def resolve(self, value: Any) -> Any:
        return self.stack.resolve(value)


@pytest.fixture(scope="module", params=list(VARIANTS))
def synthesized(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = CONTEXT | VARIANTS[request.param] | nag.REPORT_ONLY_CONTEXT
    app = cdk.App(context=context, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    config = DeploymentConfig.from_context(app.node.try_get_context)
    network = NetworkStack(app, "riskengine-network", config=config, env=ENV)
    layers = LayersStack(app, "riskengine-layers", config=config, env=ENV)
    stack = StreamingStack(app, "riskengine-streaming", config=config, network=network, layers=layers, env=ENV)
    nag.add_checks(app)
    assembly = app.synth()
    return Synthesized(config, stack, network, Template.from_stack(stack), nag.aws_solutions_findings(assembly, stack))


def cluster_arn() -> dict[str, Any]:
    return {"Fn::GetAtt": ["Cluster", "Arn"]}


def test_the_provisioned_cluster_takes_iam_over_tls_only_and_encrypts_its_volumes(synthesized: Synthesized) -> None:
    if synthesized.config.msk_mode != "provisioned":
        synthesized.template.resource_count_is("AWS::MSK::Cluster", 0)
        return
    key = synthesized.template.find_resources("AWS::KMS::Key", {"Properties": {"EnableKeyRotation": True}})
    (key_id,) = key
    synthesized.template.has_resource_properties(
        "AWS::MSK::Cluster",
        {
            "ClusterName": "riskengine-kafka",
            "KafkaVersion": "3.8.x",
            "NumberOfBrokerNodes": 3,  # one per AZ
            "ClientAuthentication": {"Sasl": {"Iam": {"Enabled": True}}, "Unauthenticated": {"Enabled": False}},
            "EncryptionInfo": {
                "EncryptionAtRest": {"DataVolumeKMSKeyId": {"Fn::GetAtt": [key_id, "Arn"]}},
                "EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": True},
            },
            "LoggingInfo": {"BrokerLogs": {"CloudWatchLogs": {"Enabled": True, "LogGroup": Match.any_value()}}},
            "BrokerNodeGroupInfo": Match.object_like(
                {"SecurityGroups": [synthesized.stack.resolve(synthesized.network.kafka_sg.security_group_id)]}
            ),
        },
    )
    cluster = next(iter(synthesized.template.find_resources("AWS::MSK::Cluster").values()))
    assert "Tls" not in cluster["Properties"]["ClientAuthentication"]
    assert "Scram" not in cluster["Properties"]["ClientAuthentication"]["Sasl"]


def test_the_serverless_cluster_takes_iam_only(synthesized: Synthesized) -> None:
    if synthesized.config.msk_mode != "serverless":
        synthesized.template.resource_count_is("AWS::MSK::ServerlessCluster", 0)
        return
    synthesized.template.has_resource_properties(
        "AWS::MSK::ServerlessCluster",
        {
            "ClusterName": "riskengine-kafka",
            "ClientAuthentication": {"Sasl": {"Iam": {"Enabled": True}}},
            "VpcConfigs": [
                {
                    "SecurityGroups": [synthesized.stack.resolve(synthesized.network.kafka_sg.security_group_id)],
                    "SubnetIds": Match.any_value(),
                }
            ],
        },
    )


def test_the_bootstrap_servers_are_the_sasl_iam_brokers_read_from_the_cluster(synthesized: Synthesized) -> None:
    (brokers_id,) = synthesized.template.find_resources("Custom::AWS")
    assert synthesized.resolve(synthesized.stack.bootstrap_servers) == {
        "Fn::GetAtt": [brokers_id, "BootstrapBrokerStringSaslIam"]
    }
    call = synthesized.template.find_resources("Custom::AWS")[brokers_id]["Properties"]["Create"]["Fn::Join"][1][0]
    assert '"action":"getBootstrapBrokers","service":"Kafka"' in call
    synthesized.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [{"Action": "kafka:GetBootstrapBrokers", "Effect": "Allow", "Resource": cluster_arn()}]
            }
        },
    )


def test_the_broker_string_is_refreshed_when_the_broker_count_changes(synthesized: Synthesized) -> None:
    """The SDK call runs again only when its definition changes; the cluster's ARN survives a new broker count."""
    (resource,) = synthesized.template.find_resources("Custom::AWS").values()
    definition = json.dumps(resource["Properties"]["Update"])
    if synthesized.config.msk_mode == "provisioned":
        assert '\\"physicalResourceId\\":{\\"id\\":\\"' in definition
        assert '"/3\\"}' in definition  # ARN/3: three brokers, one per AZ
    else:
        assert '"/3\\"}' not in definition


def test_the_broker_string_is_published_in_ssm_and_read_by_other_stacks_at_deploy_time(
    synthesized: Synthesized,
) -> None:
    synthesized.template.has_resource_properties(
        "AWS::SSM::Parameter",
        {
            "Name": "/riskengine/kafka/bootstrap-servers",
            "Type": "String",
            "Value": synthesized.resolve(synthesized.stack.bootstrap_servers),
        },
    )
    consumer = cdk.Stack(cdk.App(), "consumer", env=ENV)
    value = consumer.resolve(synthesized.stack.bootstrap_servers_for(consumer))
    template = Template.from_stack(consumer).to_json()
    assert value == {"Ref": next(iter(template["Parameters"]))}
    assert next(iter(template["Parameters"].values())) == {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": "/riskengine/kafka/bootstrap-servers",
    }
    # In its own stack the value is the custom resource's answer itself.
    assert synthesized.stack.bootstrap_servers_for(synthesized.stack) == synthesized.stack.bootstrap_servers


def test_broker_storage_grows_by_target_tracking_up_to_the_context_maximum(synthesized: Synthesized) -> None:
    if synthesized.config.msk_mode != "provisioned":
        synthesized.template.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 0)
        return
    ((target_id, target),) = synthesized.template.find_resources("AWS::ApplicationAutoScaling::ScalableTarget").items()
    assert target["Properties"] == {
        "ServiceNamespace": "kafka",
        "ScalableDimension": "kafka:broker-storage:VolumeSize",
        "ResourceId": cluster_arn(),
        "MinCapacity": 500,
        "MaxCapacity": 2000,
    }
    synthesized.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "ScalingTargetId": {"Ref": target_id},
            "TargetTrackingScalingPolicyConfiguration": {
                "PredefinedMetricSpecification": {"PredefinedMetricType": "KafkaBrokerStorageUtilization"},
                "TargetValue": 60,
                "DisableScaleIn": True,
            },
        },
    )


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"broker_volume_gb": 500, "broker_volume_max_gb": 400}, "broker-volume-max-gb"),
        ({"broker_volume_max_gb": 20_000}, "broker-volume-max-gb"),
        ({"broker_storage_target_percent": 90}, "broker-storage-target-percent must be 10..80"),
    ],
)
def test_storage_settings_msk_rejects_are_refused(context: dict[str, int], message: str) -> None:
    with pytest.raises(ContextError, match=message):
        DeploymentConfig(**context).validate()  # type: ignore[arg-type]


def test_the_cluster_outlives_the_stack_unless_retain_data_is_off(synthesized: Synthesized) -> None:
    resources = synthesized.template.to_json()["Resources"]
    if not synthesized.config.retain_data:
        assert synthesized.stack.termination_protection is False
        assert {r.get("DeletionPolicy") for r in resources.values()} == {"Delete"}
        return
    assert synthesized.stack.termination_protection is True
    cluster = resources["Cluster"]
    assert (cluster["DeletionPolicy"], cluster["UpdateReplacePolicy"]) == ("Retain", "Retain")
    (key,) = synthesized.template.find_resources("AWS::KMS::Key").values()
    assert key["DeletionPolicy"] == "Retain"  # the retained volumes stay readable


def test_the_topics_resource_asks_for_every_topic_with_partitions_and_retention(synthesized: Synthesized) -> None:
    config, topics = synthesized.config, Topics()
    (resource,) = synthesized.template.find_resources("Custom::KafkaTopics").values()
    properties = resource["Properties"]
    assert properties["bootstrapServers"] == synthesized.resolve(synthesized.stack.bootstrap_servers)
    asked = {t["name"]: (t["partitions"], t["retentionMs"]) for t in properties["topics"]}
    assert sorted(asked) == sorted(topics.all())
    for name in (topics.trades, topics.orders, topics.analyzed, topics.alerts):
        assert asked[name] == (config.topic_partitions, config.topic_retention_hours * HOUR_MS)
    for name in topics.dead_letters():
        assert asked[name] == (config.topic_partitions, config.dead_letter_retention_hours * HOUR_MS)


def test_the_context_decides_partitions_and_retention(synthesized: Synthesized) -> None:
    (resource,) = synthesized.template.find_resources("Custom::KafkaTopics").values()
    expected = {"provisioned": (12, 168 * HOUR_MS), "serverless": (6, 24 * HOUR_MS)}[synthesized.config.msk_mode]
    for name in ("crypto-trades", "crypto-orders"):  # keyed alike (by user), so partitioned alike
        topic = next(t for t in resource["Properties"]["topics"] if t["name"] == name)
        assert (topic["partitions"], topic["retentionMs"]) == expected


def test_the_provisioning_function_runs_in_the_vpc_over_iam(synthesized: Synthesized) -> None:
    network = synthesized.network
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "handler.on_event",
            "Runtime": "python3.12",
            "Environment": {
                "Variables": {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "AWS_MSK_IAM"}
            },
            "VpcConfig": {
                "SecurityGroupIds": [
                    synthesized.resolve(network.function_groups["provision_topics"].security_group_id)
                ],
                "SubnetIds": Match.any_value(),
            },
            "Layers": Match.any_value(),
        },
    )


def test_the_provisioning_role_may_administer_these_topics_and_nothing_else(synthesized: Synthesized) -> None:
    policies = synthesized.template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"PolicyName": Match.string_like_regexp("^ProvisionTopics")}}
    )
    (policy,) = policies.values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statements[0] == {"Action": "kafka-cluster:Connect", "Effect": "Allow", "Resource": cluster_arn()}
    assert statements[1]["Action"] == sorted(
        [
            "kafka-cluster:AlterTopic",
            "kafka-cluster:AlterTopicDynamicConfiguration",
            "kafka-cluster:CreateTopic",
            "kafka-cluster:DescribeTopic",
            "kafka-cluster:DescribeTopicDynamicConfiguration",
        ]
    )
    resources = statements[1]["Resource"]
    assert sorted(resources, key=json.dumps) == sorted(
        (synthesized.resolve(synthesized.stack.topic_arn(name)) for name in Topics().all()), key=json.dumps
    )
    assert len(statements) == 2


def test_topic_and_group_arns_carry_the_cluster_name_and_uuid(synthesized: Synthesized) -> None:
    uuid = {"Fn::Select": [2, {"Fn::Split": ["/", cluster_arn()]}]}
    prefix = f"arn:aws:kafka:{TEST_REGION}:{TEST_ACCOUNT}"
    assert synthesized.resolve(synthesized.stack.topic_arn("crypto-trades")) == {
        "Fn::Join": ["", [f"{prefix}:topic/riskengine-kafka/", uuid, "/crypto-trades"]]
    }
    assert synthesized.resolve(synthesized.stack.group_arn("riskengine-score-trades")) == {
        "Fn::Join": ["", [f"{prefix}:group/riskengine-kafka/", uuid, "/riskengine-score-trades"]]
    }
    assert synthesized.resolve(synthesized.stack.cluster_resource_arn) == cluster_arn()
    assert synthesized.stack.cluster_name == "riskengine-kafka"


def test_topics_name_every_role() -> None:
    topics = Topics()
    assert topics.all() == (
        "crypto-trades",
        "crypto-orders",
        "risk-analyzed-trades",
        "risk-alerts",
        "crypto-trades-dlq",
        "risk-alerts-dlq",
        "risk-search-dlq",
        "riskengine-trigger-failures",
    )
    assert set(topics.dead_letters()) == set(topics.all()[4:])


def test_cdk_nag_finds_nothing_unacknowledged(synthesized: Synthesized) -> None:
    assert synthesized.findings == []
