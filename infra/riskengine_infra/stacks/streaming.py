"""Amazon MSK (provisioned or serverless, context ``msk-mode``) with IAM authentication only, and its topics.

Clients authenticate with SASL/IAM over TLS on port 9098; nothing listens unauthenticated or in plaintext.
The topics are created by a custom resource (``functions/provision_topics``, kafka-python's admin client over
IAM) that creates missing topics, raises partition counts and sets ``retention.ms`` on every deployment, and
keeps the topics when the stack is deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_msk as msk
from aws_cdk import custom_resources as cr
from constructs import Construct

from riskengine_infra import nag
from riskengine_infra.bundling import FUNCTIONS_DIR
from riskengine_infra.config import DeploymentConfig
from riskengine_infra.stacks.network import PRIVATE_SUBNETS, NetworkStack, log_group
from riskengine_infra.topics import Topics

if TYPE_CHECKING:
    from riskengine_infra.stacks.layers import LayersStack

__all__ = ["SASL_MECHANISM", "SECURITY_PROTOCOL", "StreamingStack"]

# What every Kafka client of this deployment sets (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM).
SECURITY_PROTOCOL = "SASL_SSL"
SASL_MECHANISM = "AWS_MSK_IAM"
HOUR_MS = 3_600_000
# What the provisioning role may do to the deployment's topics, and nothing else.
TOPIC_ADMIN_ACTIONS = [
    "kafka-cluster:DescribeTopic",
    "kafka-cluster:CreateTopic",
    "kafka-cluster:AlterTopic",
    "kafka-cluster:DescribeTopicDynamicConfiguration",
    "kafka-cluster:AlterTopicDynamicConfiguration",
]


class StreamingStack(cdk.Stack):
    """``cluster_arn``, ``cluster_name``, ``bootstrap_servers`` (SASL/IAM), ``topics``, and ARNs for IAM policies."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        network: NetworkStack,
        layers: LayersStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.topics = Topics()
        self.cluster_name = f"{config.prefix}-kafka"
        if config.msk_mode == "provisioned":
            self.cluster_arn = self._provisioned_cluster(config, network)
        else:
            self.cluster_arn = self._serverless_cluster(network)
        self.bootstrap_servers = self._bootstrap_brokers(config)
        self._provision_topics(config, network, layers)
        cdk.CfnOutput(self, "BootstrapServers", value=self.bootstrap_servers, description="SASL/IAM bootstrap brokers")

    @property
    def cluster_resource_arn(self) -> str:
        """The resource of ``kafka-cluster:Connect`` (and the other cluster-level actions): the cluster's ARN."""
        return self.cluster_arn

    def topic_arn(self, name: str) -> str:
        """``arn:aws:kafka:REGION:ACCOUNT:topic/CLUSTER_NAME/CLUSTER_UUID/NAME`` (``name`` may end in ``*``)."""
        return self._cluster_scoped_arn("topic", name)

    def group_arn(self, name: str) -> str:
        """``arn:aws:kafka:REGION:ACCOUNT:group/CLUSTER_NAME/CLUSTER_UUID/NAME`` for a consumer group."""
        return self._cluster_scoped_arn("group", name)

    def _cluster_scoped_arn(self, resource: str, name: str) -> str:
        # The cluster ARN ends in cluster/NAME/UUID; topic and group ARNs repeat NAME/UUID.
        cluster_uuid = cdk.Fn.select(2, cdk.Fn.split("/", self.cluster_arn))
        return self.format_arn(
            service="kafka",
            resource=resource,
            resource_name=f"{self.cluster_name}/{cluster_uuid}/{name}",
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )

    def _provisioned_cluster(self, config: DeploymentConfig, network: NetworkStack) -> str:
        subnets = network.vpc.select_subnets(subnet_type=PRIVATE_SUBNETS)
        key = kms.Key(self, "DataKey", enable_key_rotation=True, description="riskengine: MSK broker volumes")
        broker_logs = log_group(self, "BrokerLogs", config)
        cluster = msk.CfnCluster(
            self,
            "Cluster",
            cluster_name=self.cluster_name,
            kafka_version=config.kafka_version,
            # MSK spreads brokers evenly over the client subnets, one per AZ.
            number_of_broker_nodes=len(subnets.subnet_ids) * config.brokers_per_az,
            broker_node_group_info=msk.CfnCluster.BrokerNodeGroupInfoProperty(
                client_subnets=subnets.subnet_ids,
                instance_type=config.broker_instance_type,
                security_groups=[network.kafka_sg.security_group_id],
                storage_info=msk.CfnCluster.StorageInfoProperty(
                    ebs_storage_info=msk.CfnCluster.EBSStorageInfoProperty(volume_size=config.broker_volume_gb)
                ),
            ),
            client_authentication=msk.CfnCluster.ClientAuthenticationProperty(
                sasl=msk.CfnCluster.SaslProperty(iam=msk.CfnCluster.IamProperty(enabled=True)),
                unauthenticated=msk.CfnCluster.UnauthenticatedProperty(enabled=False),
            ),
            encryption_info=msk.CfnCluster.EncryptionInfoProperty(
                encryption_at_rest=msk.CfnCluster.EncryptionAtRestProperty(data_volume_kms_key_id=key.key_arn),
                encryption_in_transit=msk.CfnCluster.EncryptionInTransitProperty(client_broker="TLS", in_cluster=True),
            ),
            logging_info=msk.CfnCluster.LoggingInfoProperty(
                broker_logs=msk.CfnCluster.BrokerLogsProperty(
                    cloud_watch_logs=msk.CfnCluster.CloudWatchLogsProperty(
                        enabled=True, log_group=broker_logs.log_group_name
                    )
                )
            ),
        )
        return cluster.attr_arn

    def _serverless_cluster(self, network: NetworkStack) -> str:
        """MSK Serverless: always TLS, always encrypted at rest (AWS-owned key), IAM the only authentication."""
        subnets = network.vpc.select_subnets(subnet_type=PRIVATE_SUBNETS)
        cluster = msk.CfnServerlessCluster(
            self,
            "Cluster",
            cluster_name=self.cluster_name,
            client_authentication=msk.CfnServerlessCluster.ClientAuthenticationProperty(
                sasl=msk.CfnServerlessCluster.SaslProperty(iam=msk.CfnServerlessCluster.IamProperty(enabled=True))
            ),
            vpc_configs=[
                msk.CfnServerlessCluster.VpcConfigProperty(
                    subnet_ids=subnets.subnet_ids, security_groups=[network.kafka_sg.security_group_id]
                )
            ],
        )
        return cluster.attr_arn

    def _bootstrap_brokers(self, config: DeploymentConfig) -> str:
        """The SASL/IAM broker string, read with kafka:GetBootstrapBrokers (neither resource type exposes it)."""
        call = cr.AwsSdkCall(
            service="Kafka",
            action="getBootstrapBrokers",
            parameters={"ClusterArn": self.cluster_arn},
            physical_resource_id=cr.PhysicalResourceId.of(self.cluster_arn),
            output_paths=["BootstrapBrokerStringSaslIam"],
        )
        brokers = cr.AwsCustomResource(
            self,
            "BootstrapBrokers",
            on_create=call,
            on_update=call,
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[self.cluster_arn]),
            install_latest_aws_sdk=False,  # the runtime's SDK has the call; no download at deploy time
            log_group=log_group(self, "BootstrapBrokersLogs", config),
        )
        nag.acknowledge_aws_custom_resources(self)
        return brokers.get_response_field("BootstrapBrokerStringSaslIam")

    def _provision_topics(self, config: DeploymentConfig, network: NetworkStack, layers: LayersStack) -> None:
        function = lambda_.Function(
            self,
            "ProvisionTopics",
            description="riskengine: create the Kafka topics, raise partitions, set retention (custom resource)",
            runtime=layers.runtime,
            architecture=layers.architecture,
            handler="handler.on_event",
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / "provision_topics")),
            layers=layers.layers_for(self),
            timeout=cdk.Duration.minutes(5),
            memory_size=512,
            environment={
                "KAFKA_SECURITY_PROTOCOL": SECURITY_PROTOCOL,
                "KAFKA_SASL_MECHANISM": SASL_MECHANISM,
                "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray for a deployment step
            },
            log_group=log_group(self, "ProvisionTopicsLogs", config),
            **network.function_placement("provision_topics"),
        )
        self._grant_topic_admin(function)
        nag.acknowledge_vpc_function(function)
        provider = cr.Provider(
            self, "TopicsProvider", on_event_handler=function, log_group=log_group(self, "TopicsProviderLogs", config)
        )
        nag.acknowledge_provider(provider, function)
        cdk.CustomResource(
            self,
            "Topics",
            service_token=provider.service_token,
            resource_type="Custom::KafkaTopics",
            properties={"bootstrapServers": self.bootstrap_servers, "topics": self._topic_specs(config)},
        )

    def _grant_topic_admin(self, function: lambda_.Function) -> None:
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["kafka-cluster:Connect"], resources=[self.cluster_resource_arn])
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=TOPIC_ADMIN_ACTIONS, resources=[self.topic_arn(name) for name in self.topics.all()]
            )
        )

    def _topic_specs(self, config: DeploymentConfig) -> list[dict[str, Any]]:
        dead_letters = self.topics.dead_letters()
        return [
            {
                "name": name,
                "partitions": config.topic_partitions,
                "retentionMs": HOUR_MS
                * (config.dead_letter_retention_hours if name in dead_letters else config.topic_retention_hours),
            }
            for name in self.topics.all()
        ]
