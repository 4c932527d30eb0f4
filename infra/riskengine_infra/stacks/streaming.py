"""Amazon MSK (provisioned or serverless, context ``msk-mode``) with IAM authentication only, and its topics.

Clients authenticate with SASL/IAM over TLS on port 9098; nothing listens unauthenticated or in plaintext.
The topics are created by a custom resource (``functions/provision_topics``, kafka-python's admin client over
IAM) that creates missing topics, raises partition counts and sets ``retention.ms`` on every deployment. The
cluster, and with it the topics, is retained when the stack is deleted (context ``retain-data``, stateful.py).

The SASL/IAM bootstrap-broker string is written to an SSM parameter that other stacks read when they are deployed
(:meth:`StreamingStack.bootstrap_servers_for`), not exported: a CloudFormation export cannot change while another
stack imports it, so an export would block any change of the broker count. A provisioned cluster's broker storage
grows by Application Auto Scaling (target tracking on ``KafkaBrokerStorageUtilization``), never shrinks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_msk as msk
from aws_cdk import aws_ssm as ssm
from aws_cdk import custom_resources as cr
from constructs import Construct

from riskengine_infra import nag
from riskengine_infra.bundling import FUNCTIONS_DIR
from riskengine_infra.config import DeploymentConfig
from riskengine_infra.stacks.network import PRIVATE_SUBNETS, NetworkStack, log_group
from riskengine_infra.stateful import protect_data
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
    """``cluster_arn``, ``cluster_name``, ``broker_count`` (provisioned; else None), ``topics``, ARNs for IAM
    policies, and the SASL/IAM bootstrap brokers: ``bootstrap_servers`` inside this stack only, and
    :meth:`bootstrap_servers_for` in the others."""

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
        self.broker_count: int | None = None
        cluster: cdk.CfnResource
        if config.msk_mode == "provisioned":
            cluster = self._provisioned_cluster(config, network)
        else:
            cluster = self._serverless_cluster(network)
        self.cluster_arn: str = cluster.get_att("Arn").to_string()
        if config.msk_mode == "provisioned":
            self._storage_auto_scaling(config)
        self.bootstrap_servers = self._bootstrap_brokers(config)
        self.bootstrap_servers_parameter_name = f"/{config.prefix}/kafka/bootstrap-servers"
        ssm.StringParameter(
            self,
            "BootstrapServersParameter",
            parameter_name=self.bootstrap_servers_parameter_name,
            string_value=self.bootstrap_servers,
            description="riskengine: the SASL/IAM bootstrap brokers of the MSK cluster (read by the functions stack)",
        )
        self._provision_topics(config, network, layers)
        cdk.CfnOutput(self, "BootstrapServers", value=self.bootstrap_servers, description="SASL/IAM bootstrap brokers")
        # MSK keeps no snapshots: retaining the cluster is the only way to keep the topics.
        protect_data(self, config, {cluster: cdk.RemovalPolicy.RETAIN})

    def bootstrap_servers_for(self, scope: Construct) -> str:
        """The bootstrap brokers for a resource of another stack: the SSM parameter's value, which CloudFormation
        reads when that stack is deployed (an ``AWS::SSM::Parameter::Value<String>`` parameter, no export)."""
        if cdk.Stack.of(scope) is self:
            return self.bootstrap_servers
        return ssm.StringParameter.value_for_string_parameter(scope, self.bootstrap_servers_parameter_name)

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

    def _provisioned_cluster(self, config: DeploymentConfig, network: NetworkStack) -> msk.CfnCluster:
        subnets = network.vpc.select_subnets(subnet_type=PRIVATE_SUBNETS)
        # MSK spreads brokers evenly over the client subnets, one per AZ.
        self.broker_count = len(subnets.subnet_ids) * config.brokers_per_az
        key = kms.Key(self, "DataKey", enable_key_rotation=True, description="riskengine: MSK broker volumes")
        broker_logs = log_group(self, "BrokerLogs", config)
        cluster = msk.CfnCluster(
            self,
            "Cluster",
            cluster_name=self.cluster_name,
            kafka_version=config.kafka_version,
            number_of_broker_nodes=self.broker_count,
            broker_node_group_info=msk.CfnCluster.BrokerNodeGroupInfoProperty(
                client_subnets=subnets.subnet_ids,
                instance_type=config.broker_instance_type,
                security_groups=[network.kafka_sg.security_group_id],
                # The first size only: auto-scaling grows the volumes outside the template, which never lowers
                # them (MSK cannot shrink a volume; an unchanged property is not sent again).
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
        return cluster

    def _storage_auto_scaling(self, config: DeploymentConfig) -> None:
        """Grow every broker's volume while its disk use stays above ``broker-storage-target-percent``, up to
        ``broker-volume-max-gb``. Application Auto Scaling acts through its service-linked role for MSK
        (AWSServiceRoleForApplicationAutoScaling_KafkaCluster, created on first registration): no role here."""
        target = appscaling.CfnScalableTarget(
            self,
            "BrokerStorageTarget",
            service_namespace="kafka",
            scalable_dimension="kafka:broker-storage:VolumeSize",
            resource_id=self.cluster_arn,
            min_capacity=config.broker_volume_gb,
            max_capacity=config.broker_volume_max_gb,
        )
        appscaling.CfnScalingPolicy(
            self,
            "BrokerStoragePolicy",
            policy_name=f"{self.cluster_name}-broker-storage",
            policy_type="TargetTrackingScaling",
            scaling_target_id=target.ref,
            target_tracking_scaling_policy_configuration=appscaling.CfnScalingPolicy.TargetTrackingScalingPolicyConfigurationProperty(
                predefined_metric_specification=appscaling.CfnScalingPolicy.PredefinedMetricSpecificationProperty(
                    predefined_metric_type="KafkaBrokerStorageUtilization"
                ),
                target_value=config.broker_storage_target_percent,
                disable_scale_in=True,  # MSK volumes cannot shrink
            ),
        )

    def _serverless_cluster(self, network: NetworkStack) -> msk.CfnServerlessCluster:
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
        return cluster

    def _bootstrap_brokers(self, config: DeploymentConfig) -> str:
        """The SASL/IAM broker string, read with kafka:GetBootstrapBrokers (neither resource type exposes it)."""
        # The call runs again when its definition changes: the broker count in the id makes a change of brokers
        # read the new string (the cluster's ARN stays the same).
        physical_id = self.cluster_arn if self.broker_count is None else f"{self.cluster_arn}/{self.broker_count}"
        call = cr.AwsSdkCall(
            service="Kafka",
            action="getBootstrapBrokers",
            parameters={"ClusterArn": self.cluster_arn},
            physical_resource_id=cr.PhysicalResourceId.of(physical_id),
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
