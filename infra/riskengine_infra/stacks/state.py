"""ElastiCache for the Redis windows: Valkey (default) or Redis OSS, serverless or a replication group.

Both modes: in the private subnets behind ``cache_sg`` (6379 from ``functions_sg`` only), TLS required, data at
rest encrypted with a customer-managed KMS key, and cluster-mode clients (``REDIS_CLUSTER=true``): a serverless
cache shards by hash slot like a cluster, and the replication group runs with cluster mode enabled, Multi-AZ and
automatic failover. The replication group also requires an AUTH token, generated into Secrets Manager
(``redis_secret``); the serverless cache has no password (TLS and the security group admit the functions only).
The windows and the ledger (what makes redeliveries idempotent) outlive the stack: a replication group is
snapshotted when deleted, a serverless cache retained (context ``retain-data``, stateful.py).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from riskengine_infra import nag
from riskengine_infra.config import DeploymentConfig
from riskengine_infra.stacks.network import REDIS_PORT, NetworkStack
from riskengine_infra.stateful import protect_data

__all__ = ["StateStack"]

# Engine -> (major version, its cluster-mode parameter group) as ElastiCache names them.
ENGINES = {"valkey": ("8", "default.valkey8.cluster.on"), "redis": ("7", "default.redis7.cluster.on")}


class StateStack(cdk.Stack):
    """``redis_url`` (``rediss://HOST:PORT``, no credentials), ``redis_cluster``, ``cache_arn``, ``cache_name`` and
    ``redis_secret`` (the AUTH token of a replication group, else None)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeploymentConfig, network: NetworkStack, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.cache_name = f"{config.prefix}-cache"
        self.redis_cluster = True  # both modes speak cluster mode: keys are routed by hash slot
        self.redis_secret: secretsmanager.ISecret | None = None
        self._key = kms.Key(self, "CacheKey", enable_key_rotation=True, description="riskengine: ElastiCache data")
        subnet_ids = network.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids
        if config.cache_mode == "serverless":
            host, port = self._serverless(config, network, subnet_ids)
            # CloudFormation snapshots replication groups only: a serverless cache is kept instead.
            policy = cdk.RemovalPolicy.RETAIN
        else:
            host, port = self._replication_group(config, network, subnet_ids)
            policy = cdk.RemovalPolicy.SNAPSHOT
        cache = self.node.find_child("Cache")
        assert isinstance(cache, cdk.CfnResource)
        protect_data(self, config, {cache: policy})
        self.redis_url = f"rediss://{host}:{port}"
        cdk.CfnOutput(self, "RedisUrl", value=self.redis_url, description="TLS endpoint (no credentials)")

    def authenticated_redis_url(self) -> str:
        """``REDIS_URL`` for the functions: with the AUTH token when there is one.

        The token is a CloudFormation dynamic reference, resolved at deployment: it never appears in the
        template, only in the function's (KMS-encrypted) environment.
        """
        if self.redis_secret is None:
            return self.redis_url
        token = self.redis_secret.secret_value.unsafe_unwrap()  # alphanumeric: nothing to URL-encode
        return self.redis_url.replace("rediss://", f"rediss://:{token}@", 1)

    def _serverless(self, config: DeploymentConfig, network: NetworkStack, subnet_ids: list[str]) -> tuple[str, str]:
        major, _ = ENGINES[config.cache_engine]
        cache = elasticache.CfnServerlessCache(
            self,
            "Cache",
            serverless_cache_name=self.cache_name,
            engine=config.cache_engine,
            major_engine_version=major,
            description="riskengine: Redis windows",
            kms_key_id=self._key.key_id,
            security_group_ids=[network.cache_sg.security_group_id],
            subnet_ids=subnet_ids,
        )
        self.cache_arn = cache.attr_arn
        return cache.attr_endpoint_address, cache.attr_endpoint_port

    def _replication_group(
        self, config: DeploymentConfig, network: NetworkStack, subnet_ids: list[str]
    ) -> tuple[str, str]:
        major, parameter_group = ENGINES[config.cache_engine]
        subnets = elasticache.CfnSubnetGroup(
            self, "Subnets", description="riskengine: cache subnets", subnet_ids=subnet_ids
        )
        self.redis_secret = self._auth_token()
        group = elasticache.CfnReplicationGroup(
            self,
            "Cache",
            replication_group_id=self.cache_name,
            replication_group_description="riskengine: Redis windows",
            engine=config.cache_engine,
            engine_version=f"{major}.0" if config.cache_engine == "valkey" else f"{major}.1",
            cache_parameter_group_name=parameter_group,
            cache_node_type=config.cache_node_type,
            num_node_groups=config.cache_shards,
            replicas_per_node_group=config.cache_replicas,
            automatic_failover_enabled=True,
            multi_az_enabled=True,
            port=REDIS_PORT,
            cache_subnet_group_name=subnets.ref,
            security_group_ids=[network.cache_sg.security_group_id],
            at_rest_encryption_enabled=True,
            kms_key_id=self._key.key_id,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=self.redis_secret.secret_value.unsafe_unwrap(),
        )
        if config.cache_engine == "redis":  # cdk-nag's AEC5 flags port 6379 for this engine only
            nag.acknowledge(
                group,
                "AEC5",
                "6379 is the port every Redis client and the deployment contract expect; a non-default port only "
                "obscures: cache_sg admits functions_sg alone, over TLS, with an AUTH token",
            )
        self.cache_arn = self.format_arn(
            service="elasticache",
            resource="replicationgroup",
            resource_name=self.cache_name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        return group.attr_configuration_end_point_address, group.attr_configuration_end_point_port

    def _auth_token(self) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            "AuthToken",
            description="riskengine: AUTH token of the ElastiCache replication group (REDIS_URL password)",
            encryption_key=self._key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64,  # ElastiCache accepts 16-128 printable characters
                exclude_punctuation=True,  # alphanumeric, so the token goes into REDIS_URL unencoded
            ),
        )
        nag.acknowledge(
            secret,
            "SMG4",
            "rotating the token needs ElastiCache's ROTATE/SET token strategy and new REDIS_URL values in the "
            "functions, i.e. a deployment; a rotation Lambda would lock the running functions out",
        )
        return secret
