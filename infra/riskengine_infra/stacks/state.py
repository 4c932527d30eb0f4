"""ElastiCache for the Redis windows: Valkey (default) or Redis OSS, serverless or a replication group.

Both modes: in the private subnets behind ``cache_sg`` (6379 from the groups of the functions that use it), TLS
required, data at rest encrypted with a customer-managed KMS key, and cluster-mode clients (``REDIS_CLUSTER=true``):
a serverless cache shards by hash slot like a cluster, and the replication group runs with cluster mode enabled,
Multi-AZ and automatic failover.

Both authenticate with role-based access control and IAM: the cache's user group holds one IAM-enabled user
(``redis_user``), and a function granted ``elasticache:Connect`` (:meth:`StateStack.grant_connect`) connects as
it with a short-lived SigV4 token its own role signs (``REDIS_AUTH=iam``, ``riskengine.runtime``). No password or
token exists anywhere: not in a template, an environment variable or Secrets Manager.

The windows and the ledger (what makes redeliveries idempotent) outlive the stack: a replication group is
snapshotted when deleted, a serverless cache retained (context ``retain-data``, stateful.py).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from riskengine_infra import nag
from riskengine_infra.config import DeploymentConfig
from riskengine_infra.stacks.network import PRIVATE_SUBNETS, REDIS_PORT, NetworkStack
from riskengine_infra.stateful import protect_data

__all__ = ["StateStack"]

# Engine -> (major version, its cluster-mode parameter group) as ElastiCache names them.
ENGINES = {"valkey": ("8", "default.valkey8.cluster.on"), "redis": ("7", "default.redis7.cluster.on")}


# The engine's commands on every key: the cache holds this deployment's windows and nothing else.
ENGINE_ACCESS = "on ~* +@all"


class StateStack(cdk.Stack):
    """``redis_url`` (``rediss://HOST:PORT``, no credentials), ``redis_cluster``, ``redis_user`` (the IAM-enabled
    ElastiCache user), ``cache_arn``, ``cache_name``; :meth:`client_environment` and :meth:`grant_connect` for
    the functions that use the cache."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeploymentConfig, network: NetworkStack, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.cache_name = f"{config.prefix}-cache"
        self.redis_cluster = True  # both modes speak cluster mode: keys are routed by hash slot
        self._serverless_mode = config.cache_mode == "serverless"
        self._key = kms.Key(self, "CacheKey", enable_key_rotation=True, description="riskengine: ElastiCache data")
        self._users = self._user_group(config)
        subnet_ids = network.vpc.select_subnets(subnet_type=PRIVATE_SUBNETS).subnet_ids
        if self._serverless_mode:
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

    def client_environment(self) -> dict[str, str]:
        """What ``Settings.from_env`` needs to connect: the endpoint, cluster mode, and IAM authentication as
        ``redis_user`` (tokens are signed for ``cache_name``; a serverless cache is named so in them)."""
        return {
            "REDIS_URL": self.redis_url,
            "REDIS_CLUSTER": "true" if self.redis_cluster else "false",
            "REDIS_AUTH": "iam",
            "REDIS_USER": self.redis_user,
            "REDIS_CACHE_NAME": self.cache_name,
            "REDIS_CACHE_SERVERLESS": "true" if self._serverless_mode else "false",
        }

    def grant_connect(self, grantee: iam.IGrantable) -> None:
        """``elasticache:Connect`` to this cache as ``redis_user``: what IAM authentication checks at AUTH."""
        user_arn = self.format_arn(
            service="elasticache",
            resource="user",
            resource_name=self.redis_user,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["elasticache:Connect"], resource_arns=[self.cache_arn, user_arn]
        )

    def _user_group(self, config: DeploymentConfig) -> elasticache.CfnUserGroup:
        """The cache's users: the engine's IAM-enabled user, and a disabled ``default`` user (a user group must
        hold a user named default; unauthenticated connections land on it and can run nothing)."""
        # An IAM-enabled user's ID and name must be identical (ElastiCache's IAM authentication limits).
        self.redis_user = f"{config.prefix}-engine"
        engine_user = elasticache.CfnUser(
            self,
            "EngineUser",
            engine=config.cache_engine,
            user_id=self.redis_user,
            user_name=self.redis_user,
            access_string=ENGINE_ACCESS,
            authentication_mode={"Type": "iam"},
        )
        default_user = elasticache.CfnUser(
            self,
            "DefaultUser",
            engine=config.cache_engine,
            user_id=f"{config.prefix}-default",  # the ID "default" belongs to ElastiCache's built-in user
            user_name="default",
            access_string="off -@all",  # disabled: no connection can authenticate or run anything as it
            authentication_mode={"Type": "no-password-required"},
        )
        group = elasticache.CfnUserGroup(
            self,
            "Users",
            engine=config.cache_engine,
            user_group_id=f"{config.prefix}-users",
            user_ids=[engine_user.user_id, default_user.user_id],
        )
        group.add_dependency(engine_user)
        group.add_dependency(default_user)
        return group

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
            user_group_id=self._users.ref,
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
            user_group_ids=[self._users.ref],
        )
        nag.acknowledge(
            group,
            "AEC6",
            "no AUTH token by design: the user group's IAM-enabled user authenticates every connection with a "
            "15-minute SigV4 token (RBAC), which the AUTH-token check does not recognise",
        )
        if config.cache_engine == "redis":  # cdk-nag's AEC5 flags port 6379 for this engine only
            nag.acknowledge(
                group,
                "AEC5",
                "6379 is the port every Redis client and the deployment contract expect; a non-default port only "
                "obscures: cache_sg admits the functions' own groups alone, over TLS, authenticated with IAM",
            )
        self.cache_arn = self.format_arn(
            service="elasticache",
            resource="replicationgroup",
            resource_name=self.cache_name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        return group.attr_configuration_end_point_address, group.attr_configuration_end_point_port
