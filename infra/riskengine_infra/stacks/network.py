"""The VPC every data store and function lives in, its flow logs, the SNS endpoint and the security groups.

No path leaves the VPC: the subnets are private and isolated (no NAT gateway, no internet gateway). Nothing
needs one. The functions call MSK, ElastiCache and OpenSearch inside the VPC and SNS through its interface
endpoint; they sign requests (MSK IAM, ElastiCache IAM tokens, OpenSearch SigV4) locally with the credentials
Lambda hands them, so none calls STS or Secrets Manager; their logs, metrics (EMF) and traces leave through
Lambda itself, not their network interfaces. The MSK triggers run in provisioned mode, for which AWS Lambda's
"Configuring your Amazon MSK cluster and Amazon VPC network for Lambda" page requires no NAT gateway and no
endpoint: the pollers reach the brokers through the cluster's own security group and Lambda invokes the function
itself (docs/deploy.md cites it).

Every function has its own security group, admitted only by the stores it uses (:func:`function_reach`):

===================  ==================================================  ======================================
group                ingress                                             why
===================  ==================================================  ======================================
``kafka_sg``         9098 from the functions reaching Kafka, and itself  MSK IAM/TLS listener; the triggers'
                                                                         pollers use the cluster's group
``cache_sg``         6379 from the functions reaching the cache          ElastiCache TLS
``search_sg``        443 from the functions reaching OpenSearch          OpenSearch HTTPS
``endpoints_sg``     443 from the functions publishing to SNS            the SNS interface endpoint
one per function     none                                                egress only to the groups above
===================  ==================================================  ======================================
"""

from __future__ import annotations

import enum
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from riskengine_infra.config import DeploymentConfig

__all__ = [
    "HTTPS_PORT",
    "KAFKA_IAM_PORT",
    "PRIVATE_SUBNETS",
    "REDIS_PORT",
    "NetworkStack",
    "Reach",
    "function_reach",
    "log_group",
]

KAFKA_IAM_PORT = 9098  # MSK brokers' SASL/IAM listener (TLS)
REDIS_PORT = 6379
HTTPS_PORT = 443
# Where the functions and data stores live: private subnets with no route out of the VPC.
PRIVATE_SUBNETS = ec2.SubnetType.PRIVATE_ISOLATED


class Reach(enum.Enum):
    """What a function opens connections to."""

    KAFKA = "the MSK brokers (IAM, TLS)"
    CACHE = "ElastiCache (TLS)"
    SEARCH = "OpenSearch (HTTPS)"
    SNS = "the SNS endpoint (HTTPS)"


def function_reach(config: DeploymentConfig) -> dict[str, frozenset[Reach]]:
    """Function folder -> what its code connects to (the handlers and the engine modules they build clients with)."""
    kafka, cache, search, sns = Reach.KAFKA, Reach.CACHE, Reach.SEARCH, Reach.SNS
    reach = {
        "score_trades": {kafka, cache},
        "score_orders": {kafka, cache},
        "dispatch_alerts": {kafka, cache, sns},  # the cache remembers what was sent (riskengine.alerting.state)
        "index_search": {kafka, search},
        # /trades writes to Kafka; the simulation's controls (only with the simulator) keep their state in Redis
        "ingest_trade": {kafka, cache} if config.simulator else {kafka},
        "report_api": {search},
        # the custom resources: topics over Kafka's admin API, index templates and FGAC mappings over HTTPS
        "provision_topics": {kafka},
        "provision_search": {search},
    }
    if config.simulator:
        reach["simulate_trades"] = {kafka, cache}
    return {name: frozenset(stores) for name, stores in reach.items()}


def log_group(scope: Construct, construct_id: str, config: DeploymentConfig) -> logs.LogGroup:
    """A log group kept ``log-retention-days`` (validated against what CloudWatch Logs accepts)."""
    group = logs.LogGroup(scope, construct_id)
    resource = group.node.default_child
    assert isinstance(resource, logs.CfnLogGroup)
    resource.retention_in_days = config.log_retention_days
    return group


class NetworkStack(cdk.Stack):
    """``vpc`` (isolated private subnets), the store groups ``kafka_sg``, ``cache_sg``, ``search_sg``, the SNS
    endpoint's ``endpoints_sg``, and ``function_groups`` (function folder -> its own group)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.vpc: ec2.IVpc = self._vpc(config)
        self.kafka_sg = self._group("Kafka", "MSK brokers and the pollers of the MSK triggers")
        self.cache_sg = self._group("Cache", "ElastiCache (Valkey/Redis OSS)")
        self.search_sg = self._group("Search", "OpenSearch Service domain")
        self.endpoints_sg = self._group("Endpoints", "the SNS interface endpoint")
        # The MSK triggers poll with the cluster's security group: its pollers must reach the brokers.
        self._allow(self.kafka_sg, self.kafka_sg, KAFKA_IAM_PORT, "MSK trigger pollers to the brokers")
        targets = {
            Reach.KAFKA: (self.kafka_sg, KAFKA_IAM_PORT),
            Reach.CACHE: (self.cache_sg, REDIS_PORT),
            Reach.SEARCH: (self.search_sg, HTTPS_PORT),
            Reach.SNS: (self.endpoints_sg, HTTPS_PORT),
        }
        self.function_groups: dict[str, ec2.SecurityGroup] = {}
        for function, reach in function_reach(config).items():
            name = function.title().replace("_", "")
            group = self._group(f"{name}Function", f"functions/{function}")
            for store in sorted(reach, key=lambda r: r.name):
                target, port = targets[store]
                self._allow(group, target, port, f"{function} to {store.value}")
            self.function_groups[function] = group
        self.vpc.add_interface_endpoint(
            "SnsEndpoint",
            service=ec2.InterfaceVpcEndpointAwsService.SNS,
            private_dns_enabled=True,
            open=False,  # only the groups admitted above, not the whole VPC CIDR
            security_groups=[self.endpoints_sg],
            subnets=ec2.SubnetSelection(subnet_type=PRIVATE_SUBNETS),
        )

    def function_placement(self, function: str) -> dict[str, Any]:
        """Keyword arguments that put ``functions/<function>`` in the private subnets behind its own group."""
        if function not in self.function_groups:
            raise KeyError(f"{function!r} has no security group: add what it reaches to network.function_reach")
        return {
            "vpc": self.vpc,
            "vpc_subnets": ec2.SubnetSelection(subnet_type=PRIVATE_SUBNETS),
            "security_groups": [self.function_groups[function]],
        }

    def _vpc(self, config: DeploymentConfig) -> ec2.Vpc:
        flow_logs = log_group(self, "FlowLogs", config)
        return ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            max_azs=config.max_azs,
            nat_gateways=0,
            subnet_configuration=[
                # Not created (no NAT gateway needs it), but its address space stays reserved: the private
                # subnets keep the CIDRs (and so the identities) they had in deployments that had one.
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24, reserved=True),
                ec2.SubnetConfiguration(name="private", subnet_type=PRIVATE_SUBNETS, cidr_mask=20),
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
