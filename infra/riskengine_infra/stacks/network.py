"""The VPC every data store and function lives in, its flow logs, endpoints and security groups.

Security groups admit only the ports in use, and only from the groups that need them:

==============  =========================================  ============================================
group           ingress                                    why
==============  =========================================  ============================================
``kafka_sg``    9098 from ``functions_sg`` and itself      MSK IAM/TLS listener; the MSK trigger's pollers
                                                           run with the cluster's own security groups
``cache_sg``    6379 from ``functions_sg``                 ElastiCache TLS
``search_sg``   443 from ``functions_sg``                  OpenSearch HTTPS
endpoints       443 from ``functions_sg`` and ``kafka_sg``  SNS, Secrets Manager, STS, CloudWatch Logs
==============  =========================================  ============================================
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from riskengine_infra.config import DeploymentConfig

__all__ = ["HTTPS_PORT", "KAFKA_IAM_PORT", "REDIS_PORT", "NetworkStack", "log_group"]

KAFKA_IAM_PORT = 9098  # MSK brokers' SASL/IAM listener (TLS)
REDIS_PORT = 6379
HTTPS_PORT = 443

# Interface endpoints the functions use from the private subnets (the rest goes through the NAT gateway).
ENDPOINTS = {
    "Sns": ec2.InterfaceVpcEndpointAwsService.SNS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
}


def log_group(scope: Construct, construct_id: str, config: DeploymentConfig) -> logs.LogGroup:
    """A log group kept ``log-retention-days`` (validated against what CloudWatch Logs accepts)."""
    group = logs.LogGroup(scope, construct_id)
    resource = group.node.default_child
    assert isinstance(resource, logs.CfnLogGroup)
    resource.retention_in_days = config.log_retention_days
    return group


class NetworkStack(cdk.Stack):
    """``vpc`` (private subnets with egress), ``functions_sg`` and the service groups ``kafka_sg``, ``cache_sg``,
    ``search_sg``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.vpc: ec2.IVpc = self._vpc(config)
        self.functions_sg = self._group("Functions", "riskengine Lambda functions")
        self.kafka_sg = self._group("Kafka", "MSK brokers and the pollers of the MSK trigger")
        self.cache_sg = self._group("Cache", "ElastiCache (Valkey/Redis OSS)")
        self.search_sg = self._group("Search", "OpenSearch Service domain")
        self._allow(self.functions_sg, self.kafka_sg, KAFKA_IAM_PORT, "functions to the MSK brokers (IAM, TLS)")
        self._allow(self.functions_sg, self.cache_sg, REDIS_PORT, "functions to ElastiCache (TLS)")
        self._allow(self.functions_sg, self.search_sg, HTTPS_PORT, "functions to OpenSearch (HTTPS)")
        # The MSK event source mapping polls with the cluster's security groups: its pollers must reach the
        # brokers and, over HTTPS, STS (endpoint) and Lambda (NAT gateway).
        self._allow(self.kafka_sg, self.kafka_sg, KAFKA_IAM_PORT, "MSK trigger pollers to the brokers")
        for group in (self.functions_sg, self.kafka_sg):
            group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(HTTPS_PORT), "AWS APIs (endpoints or NAT)")
        self.endpoints_sg = self._group("Endpoints", "interface VPC endpoints")
        for client in (self.functions_sg, self.kafka_sg):
            self.endpoints_sg.add_ingress_rule(client, ec2.Port.tcp(HTTPS_PORT), "HTTPS to the AWS API endpoints")
        for name, service in ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                f"{name}Endpoint",
                service=service,
                private_dns_enabled=True,
                open=False,  # only the groups admitted above, not the whole VPC CIDR
                security_groups=[self.endpoints_sg],
                subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            )

    def function_placement(self) -> dict[str, Any]:
        """Keyword arguments that put a ``lambda_.Function`` in the private subnets with ``functions_sg``."""
        return {
            "vpc": self.vpc,
            "vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            "security_groups": [self.functions_sg],
        }

    def _vpc(self, config: DeploymentConfig) -> ec2.Vpc:
        flow_logs = log_group(self, "FlowLogs", config)
        return ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            max_azs=config.max_azs,
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20),
            ],
            flow_logs={
                "all": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        )

    def _group(self, name: str, purpose: str) -> ec2.SecurityGroup:
        return ec2.SecurityGroup(
            self, f"{name}SecurityGroup", vpc=self.vpc, description=f"riskengine: {purpose}", allow_all_outbound=False
        )

    @staticmethod
    def _allow(source: ec2.SecurityGroup, target: ec2.SecurityGroup, port: int, description: str) -> None:
        """Ingress on ``target`` and the matching egress on ``source`` (no group allows all outbound)."""
        target.add_ingress_rule(source, ec2.Port.tcp(port), description)
        source.add_egress_rule(target, ec2.Port.tcp(port), description)
