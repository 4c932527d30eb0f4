"""SearchStack: a VPC-only, zone-aware, encrypted OpenSearch domain with FGAC, its logs, and its provisioning."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template
from infra_testing import TEST_ACCOUNT, TEST_CONTEXT, TEST_REGION

from riskengine_infra import nag
from riskengine_infra.config import ContextError, DeploymentConfig
from riskengine_infra.stacks.layers import LayersStack
from riskengine_infra.stacks.network import NetworkStack
from riskengine_infra.stacks.search import HTTP_ACTIONS, SearchStack, audit_log_retention_days

ENV = cdk.Environment(account=TEST_ACCOUNT, region=TEST_REGION)
CONTEXT = json.loads((Path(__file__).parents[2] / "cdk.json").read_text())["context"] | TEST_CONTEXT
ADMIN_ROLE = f"arn:aws:iam::{TEST_ACCOUNT}:role/search-admins"
DOMAIN_PATHS = f"arn:aws:es:{TEST_REGION}:{TEST_ACCOUNT}:domain/riskengine-search/*"
VARIANTS = {
    "defaults": {},
    "own-master-user": {
        "search-admin-role-arn": ADMIN_ROLE,
        "search-master-nodes": 0,
        "search-shards": 2,
        "search-replicas": 2,
        "search-retention-days": 45,  # no retention CloudWatch Logs offers: the audit log keeps 60 days
        "search-service-linked-role": False,
        "retain-data": False,
    },
}


@dataclass
class Synthesized:
    config: DeploymentConfig
    stack: SearchStack
    network: NetworkStack
    consumer: cdk.Stack  # a stack like the functions stack, whose role SearchStack.allow opens the domain to
    template: Template
    findings: dict[str, list[str]]

    def resolve(self, value: Any) -> Any:
        return self.stack.resolve(value)

    def domain(self) -> dict[str, Any]:
        (domain,) = self.template.find_resources("AWS::OpenSearchService::Domain").values()
        return domain


@pytest.fixture(scope="module", params=list(VARIANTS))
def synthesized(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = CONTEXT | VARIANTS[request.param] | nag.REPORT_ONLY_CONTEXT
    app = cdk.App(context=context, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    config = DeploymentConfig.from_context(app.node.try_get_context)
    network = NetworkStack(app, "riskengine-network", config=config, env=ENV)
    layers = LayersStack(app, "riskengine-layers", config=config, env=ENV)
    stack = SearchStack(app, "riskengine-search", config=config, network=network, layers=layers, env=ENV)
    consumer = cdk.Stack(app, "riskengine-consumer", env=ENV)
    stack.allow(iam.Role(consumer, "IndexSearchRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")))
    nag.add_checks(app)
    assembly = app.synth()
    findings = {s.stack_name: nag.aws_solutions_findings(assembly, s) for s in (stack, consumer)}
    return Synthesized(config, stack, network, consumer, Template.from_stack(stack), findings)


def test_the_domain_runs_opensearch_2_in_the_vpc_over_three_zones(synthesized: Synthesized) -> None:
    cluster = synthesized.domain()["Properties"]["ClusterConfig"]
    masters = synthesized.config.search_master_nodes
    assert synthesized.domain()["Properties"]["EngineVersion"] == "OpenSearch_2.19"
    assert cluster["ZoneAwarenessEnabled"] is True
    assert cluster["ZoneAwarenessConfig"] == {"AvailabilityZoneCount": 3}
    assert (cluster["InstanceCount"], cluster["InstanceType"]) == (3, "r7g.large.search")
    assert cluster["DedicatedMasterEnabled"] is (masters > 0)
    assert cluster.get("DedicatedMasterCount") == (masters or None)
    vpc = synthesized.domain()["Properties"]["VPCOptions"]
    assert vpc["SecurityGroupIds"] == [synthesized.resolve(synthesized.network.search_sg.security_group_id)]
    assert len(vpc["SubnetIds"]) == 3


def test_data_is_encrypted_at_rest_and_between_nodes_behind_https_tls_1_2(synthesized: Synthesized) -> None:
    properties = synthesized.domain()["Properties"]
    assert properties["EncryptionAtRestOptions"] == {"Enabled": True}
    assert properties["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert properties["DomainEndpointOptions"] == {
        "EnforceHTTPS": True,
        "TLSSecurityPolicy": "Policy-Min-TLS-1-2-PFS-2023-10",
    }


def test_fgac_maps_an_iam_master_user(synthesized: Synthesized) -> None:
    security = synthesized.domain()["Properties"]["AdvancedSecurityOptions"]
    assert security["Enabled"] is True
    assert security["InternalUserDatabaseEnabled"] is False
    expected = synthesized.resolve(synthesized.stack.provisioning_role.role_arn)
    assert security["MasterUserOptions"] == {"MasterUserARN": expected}


def test_the_access_policy_admits_the_roles_that_use_the_domain_on_this_domain_only(synthesized: Synthesized) -> None:
    policy = synthesized.domain()["Properties"]["AccessPolicies"]
    roles = [
        synthesized.resolve(synthesized.stack.provisioning_role.role_arn),
        f"arn:aws:iam::{TEST_ACCOUNT}:role/riskengine-index-search",
        f"arn:aws:iam::{TEST_ACCOUNT}:role/riskengine-report-api",
    ]
    if synthesized.config.search_admin_role_arn:
        roles.append(ADMIN_ROLE)
    assert policy["Statement"] == [
        {
            "Action": HTTP_ACTIONS,
            "Condition": {"ArnEquals": {"aws:PrincipalArn": roles}},
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{TEST_ACCOUNT}:root"},
            "Resource": DOMAIN_PATHS,
        }
    ]


def test_slow_application_and_audit_logs_go_to_cloudwatch(synthesized: Synthesized) -> None:
    options = synthesized.domain()["Properties"]["LogPublishingOptions"]
    assert sorted(options) == ["AUDIT_LOGS", "ES_APPLICATION_LOGS", "INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS"]
    assert all(option["Enabled"] for option in options.values())
    (policy,) = synthesized.template.find_resources("AWS::Logs::ResourcePolicy").values()
    document = json.dumps(policy["Properties"]["PolicyDocument"])
    assert '\\"Service\\":\\"es.amazonaws.com\\"' in document
    assert f'\\"aws:SourceArn\\":\\"{DOMAIN_PATHS[:-2]}\\"' in document
    assert (
        synthesized.template.find_resources("AWS::Logs::ResourcePolicy").popitem()[0]
        in (synthesized.domain()["DependsOn"])
    )


def test_the_domain_outlives_the_stack_unless_retain_data_is_off(synthesized: Synthesized) -> None:
    domain = synthesized.domain()
    if synthesized.config.retain_data:
        assert (domain["DeletionPolicy"], domain["UpdateReplacePolicy"]) == ("Retain", "Retain")
        assert synthesized.stack.termination_protection is True
        return
    # retain-data=false (a dev environment): `cdk destroy` removes everything, the logs and the role included.
    assert synthesized.stack.termination_protection is False
    policies = {r.get("DeletionPolicy") for r in synthesized.template.to_json()["Resources"].values()}
    assert policies == {"Delete"}


def test_the_service_linked_role_exists_before_the_domain_unless_the_account_has_it(synthesized: Synthesized) -> None:
    roles = synthesized.template.find_resources("AWS::IAM::ServiceLinkedRole")
    if not synthesized.config.search_service_linked_role:
        assert roles == {}
        assert not any(dependency.startswith("ServiceLinkedRole") for dependency in synthesized.domain()["DependsOn"])
        return
    ((role_id, role),) = roles.items()
    assert role["Properties"]["AWSServiceName"] == "opensearchservice.amazonaws.com"
    assert role_id in synthesized.domain()["DependsOn"]
    # Kept with the retained domain, which still uses it (IAM refuses to delete a role in use).
    assert (role["DeletionPolicy"], role["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_the_audit_log_is_kept_as_long_as_the_compliance_indices(synthesized: Synthesized) -> None:
    expected = {365: 365, 45: 60}[synthesized.config.search_retention_days]
    (audit_group,) = [
        options["CloudWatchLogsLogGroupArn"]["Fn::GetAtt"][0]
        for name, options in synthesized.domain()["Properties"]["LogPublishingOptions"].items()
        if name == "AUDIT_LOGS"
    ]
    group = synthesized.template.to_json()["Resources"][audit_group]
    assert group["Properties"]["RetentionInDays"] == expected
    other_groups = synthesized.template.find_resources(
        "AWS::Logs::LogGroup", {"Properties": {"RetentionInDays": synthesized.config.log_retention_days}}
    )
    assert audit_group not in other_groups and len(other_groups) >= 3  # slow logs, application log, provisioning


@pytest.mark.parametrize(("days", "kept"), [(1, 1), (365, 365), (366, 400), (3653, 3653), (3654, None)])
def test_the_audit_retention_is_the_shortest_cloudwatch_offers_that_covers_the_indices(
    days: int, kept: int | None
) -> None:
    assert audit_log_retention_days(DeploymentConfig(search_retention_days=days)) == kept


def test_provisioning_runs_in_the_vpc_with_sigv4_and_the_context_settings(synthesized: Synthesized) -> None:
    config = synthesized.config
    (domain_id,) = synthesized.template.find_resources("AWS::OpenSearchService::Domain")
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "handler.on_event",
            "Environment": {
                "Variables": {
                    "OPENSEARCH_AUTH": "sigv4",
                    "OPENSEARCH_URL": {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [domain_id, "DomainEndpoint"]}]]},
                    "POWERTOOLS_TRACE_DISABLED": "true",
                }
            },
            "VpcConfig": Match.object_like(
                {
                    "SecurityGroupIds": [
                        synthesized.resolve(synthesized.network.function_groups["provision_search"].security_group_id)
                    ]
                }
            ),
        },
    )
    synthesized.template.has_resource_properties(
        "Custom::SearchProvisioning",
        {
            "shards": config.search_shards,
            "replicas": config.search_replicas,
            "retentionDays": config.search_retention_days,
            "engineLayer": {"Ref": Match.string_like_regexp("SsmParameterValueriskenginelayersengine")},
        },
    )


def test_provisioning_maps_the_function_roles_and_the_admin_role_in_fgac(synthesized: Synthesized) -> None:
    (resource,) = synthesized.template.find_resources("Custom::SearchProvisioning").values()
    mappings = resource["Properties"]["roleMappings"]

    def role(name: str) -> str:
        return f"arn:aws:iam::{TEST_ACCOUNT}:role/{name}"

    rendered = {k: list(v) for k, v in mappings.items()}
    expected = {
        "riskengine_writer": [role("riskengine-index-search")],
        "riskengine_reader": [role("riskengine-report-api")],
    }
    if synthesized.config.search_admin_role_arn:
        expected["all_access"] = [ADMIN_ROLE]
    assert rendered == expected


def test_allow_grants_the_http_actions_on_the_domain_paths_only(synthesized: Synthesized) -> None:
    Template.from_stack(synthesized.consumer).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [{"Action": sorted(HTTP_ACTIONS), "Effect": "Allow", "Resource": DOMAIN_PATHS}],
            }
        },
    )


def test_an_odd_data_node_count_over_two_zones_is_refused() -> None:
    app = cdk.App(context=CONTEXT | {"max-azs": 2, "search-instance-count": 3})
    config = DeploymentConfig.from_context(app.node.try_get_context)
    network = NetworkStack(app, "riskengine-network", config=config, env=ENV)
    layers = LayersStack(app, "riskengine-layers", config=config, env=ENV)
    with pytest.raises(ContextError, match="is odd but the VPC offers two AZs"):
        SearchStack(app, "riskengine-search", config=config, network=network, layers=layers, env=ENV)


@pytest.mark.parametrize("masters", [1, 4])
def test_a_master_node_count_opensearch_rejects_is_refused(masters: int) -> None:
    with pytest.raises(ContextError, match="search-master-nodes must be 0, 3 or 5"):
        DeploymentConfig(search_master_nodes=masters).validate()


@pytest.mark.parametrize("arn", ["search-admins", "arn:aws:iam::123456789012:policy/admins"])
def test_an_admin_role_that_is_no_iam_principal_is_refused(arn: str) -> None:
    with pytest.raises(ContextError, match="search-admin-role-arn must be an IAM role or user ARN"):
        DeploymentConfig(search_admin_role_arn=arn).validate()


def test_cdk_nag_finds_nothing_unacknowledged(synthesized: Synthesized) -> None:
    assert synthesized.findings == {"riskengine-search": [], "riskengine-consumer": []}
