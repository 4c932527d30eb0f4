"""StateStack: ElastiCache serverless or a cluster-mode replication group, TLS, KMS, and IAM authentication (RBAC)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from infra_testing import TEST_ACCOUNT, TEST_CONTEXT, TEST_REGION

from riskengine_infra import nag
from riskengine_infra.config import ContextError, DeploymentConfig
from riskengine_infra.stacks.network import NetworkStack
from riskengine_infra.stacks.state import StateStack

ENV = cdk.Environment(account=TEST_ACCOUNT, region=TEST_REGION)
CONTEXT = json.loads((Path(__file__).parents[2] / "cdk.json").read_text())["context"] | TEST_CONTEXT
VARIANTS = {
    "serverless": {"cache-mode": "serverless", "cache-engine": "valkey"},
    "replication-group": {"cache-mode": "replication-group", "cache-engine": "redis", "cache-shards": 3},
    "dev": {"cache-mode": "serverless", "retain-data": False},
}


@dataclass
class Synthesized:
    config: DeploymentConfig
    stack: StateStack
    network: NetworkStack
    template: Template
    findings: list[str]

    def key(self) -> str:
        (key_id,) = self.template.find_resources("AWS::KMS::Key", {"Properties": {"EnableKeyRotation": True}})
        return key_id


@pytest.fixture(scope="module", params=list(VARIANTS))
def synthesized(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = CONTEXT | VARIANTS[request.param] | nag.REPORT_ONLY_CONTEXT
    app = cdk.App(context=context, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    config = DeploymentConfig.from_context(app.node.try_get_context)
    network = NetworkStack(app, "riskengine-network", config=config, env=ENV)
    stack = StateStack(app, "riskengine-state", config=config, network=network, env=ENV)
    nag.add_checks(app)
    assembly = app.synth()
    return Synthesized(config, stack, network, Template.from_stack(stack), nag.aws_solutions_findings(assembly, stack))


def test_the_serverless_cache_is_valkey_in_the_private_subnets_with_its_key(synthesized: Synthesized) -> None:
    if synthesized.config.cache_mode != "serverless":
        synthesized.template.resource_count_is("AWS::ElastiCache::ServerlessCache", 0)
        return
    stack = synthesized.stack
    synthesized.template.has_resource_properties(
        "AWS::ElastiCache::ServerlessCache",
        {
            "ServerlessCacheName": "riskengine-cache",
            "Engine": "valkey",
            "MajorEngineVersion": "8",
            "KmsKeyId": {"Ref": synthesized.key()},
            "SecurityGroupIds": [stack.resolve(synthesized.network.cache_sg.security_group_id)],
            "SubnetIds": Match.any_value(),
            "UserGroupId": {"Ref": users(synthesized)},
        },
    )
    assert stack.resolve(stack.redis_url) == {
        "Fn::Join": [
            "",
            [
                "rediss://",
                {"Fn::GetAtt": ["Cache", "Endpoint.Address"]},
                ":",
                {"Fn::GetAtt": ["Cache", "Endpoint.Port"]},
            ],
        ]
    }
    assert stack.resolve(stack.cache_arn) == {"Fn::GetAtt": ["Cache", "ARN"]}


def test_the_replication_group_is_cluster_mode_multi_az_encrypted_and_authenticated(synthesized: Synthesized) -> None:
    if synthesized.config.cache_mode != "replication-group":
        synthesized.template.resource_count_is("AWS::ElastiCache::ReplicationGroup", 0)
        return
    synthesized.template.has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {
            "ReplicationGroupId": "riskengine-cache",
            "Engine": "redis",
            "CacheParameterGroupName": "default.redis7.cluster.on",
            "NumNodeGroups": 3,
            "ReplicasPerNodeGroup": 1,
            "AutomaticFailoverEnabled": True,
            "MultiAZEnabled": True,
            "Port": 6379,
            "AtRestEncryptionEnabled": True,
            "KmsKeyId": {"Ref": synthesized.key()},
            "TransitEncryptionEnabled": True,
            "TransitEncryptionMode": "required",
            "UserGroupIds": [{"Ref": users(synthesized)}],
            "SecurityGroupIds": [synthesized.stack.resolve(synthesized.network.cache_sg.security_group_id)],
        },
    )
    group = synthesized.template.find_resources("AWS::ElastiCache::ReplicationGroup")["Cache"]["Properties"]
    assert "AuthToken" not in group
    stack = synthesized.stack
    assert stack.resolve(stack.redis_url)["Fn::Join"][1][1] == {
        "Fn::GetAtt": ["Cache", "ConfigurationEndPoint.Address"]
    }


def users(synthesized: Synthesized) -> str:
    (group_id,) = synthesized.template.find_resources("AWS::ElastiCache::UserGroup")
    return group_id


def test_the_user_group_holds_the_iam_engine_user_and_a_disabled_default_user(synthesized: Synthesized) -> None:
    engine = synthesized.config.cache_engine
    template = synthesized.template
    template.resource_count_is("AWS::ElastiCache::User", 2)
    template.has_resource_properties(
        "AWS::ElastiCache::User",
        {
            "Engine": engine,
            "UserId": "riskengine-engine",
            "UserName": "riskengine-engine",  # IAM authentication needs the ID and the name identical
            "AccessString": "on ~* +@all",
            "AuthenticationMode": {"Type": "iam"},
        },
    )
    template.has_resource_properties(
        "AWS::ElastiCache::User",
        {"Engine": engine, "UserId": "riskengine-default", "UserName": "default", "AccessString": "off -@all"},
    )
    template.has_resource_properties(
        "AWS::ElastiCache::UserGroup",
        {"Engine": engine, "UserGroupId": "riskengine-users", "UserIds": ["riskengine-engine", "riskengine-default"]},
    )
    # No password, token or secret anywhere: IAM signs a fresh token per connection.
    template.resource_count_is("AWS::SecretsManager::Secret", 0)
    assert not [u for u in template.find_resources("AWS::ElastiCache::User").values() if "Passwords" in u["Properties"]]


def test_the_client_environment_names_the_iam_user_and_the_cache(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    assert stack.client_environment() == {
        "REDIS_URL": stack.redis_url,
        "REDIS_CLUSTER": "true",
        "REDIS_AUTH": "iam",
        "REDIS_USER": "riskengine-engine",
        "REDIS_CACHE_NAME": "riskengine-cache",
        "REDIS_CACHE_SERVERLESS": "true" if synthesized.config.cache_mode == "serverless" else "false",
    }


def test_both_modes_speak_cluster_mode_and_rotate_their_key(synthesized: Synthesized) -> None:
    assert synthesized.stack.redis_cluster is True
    assert synthesized.stack.cache_name == "riskengine-cache"
    synthesized.template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_the_cache_outlives_the_stack_kept_or_snapshotted_with_its_key(synthesized: Synthesized) -> None:
    """The windows and the ledger (idempotent redeliveries) survive a deleted or replaced stack by default."""
    template, config = synthesized.template.to_json(), synthesized.config
    cache, key = template["Resources"]["Cache"], template["Resources"][synthesized.key()]
    if not config.retain_data:
        assert synthesized.stack.termination_protection is False
        assert {r.get("DeletionPolicy") for r in template["Resources"].values()} == {"Delete"}
        return
    assert synthesized.stack.termination_protection is True
    # CloudFormation snapshots replication groups; it has no snapshot on deletion for a serverless cache.
    expected = "Snapshot" if config.cache_mode == "replication-group" else "Retain"
    assert (cache["DeletionPolicy"], cache["UpdateReplacePolicy"]) == (expected, expected)
    assert key["DeletionPolicy"] == "Retain"  # a snapshot or a kept cache is useless without its key


def test_a_replication_group_without_replicas_is_refused() -> None:
    with pytest.raises(ContextError, match="cache-replicas must be >= 1"):
        DeploymentConfig(cache_mode="replication-group", cache_replicas=0).validate()


def test_cdk_nag_finds_nothing_unacknowledged(synthesized: Synthesized) -> None:
    assert synthesized.findings == []
