"""NetworkStack: isolated private subnets, flow logs, the SNS endpoint, and one security group per function."""

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
from riskengine_infra.stacks.network import NetworkStack

ENV = cdk.Environment(account=TEST_ACCOUNT, region=TEST_REGION)
CONTEXT = json.loads((Path(__file__).parents[2] / "cdk.json").read_text())["context"] | TEST_CONTEXT


@dataclass
class Synthesized:
    stack: NetworkStack
    template: Template
    findings: list[str]

    def group(self, group: Any) -> str:
        return self.stack.get_logical_id(group.node.default_child)


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    app = cdk.App(context=CONTEXT | nag.REPORT_ONLY_CONTEXT, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    config = DeploymentConfig.from_context(app.node.try_get_context)
    stack = NetworkStack(app, "riskengine-network", config=config, env=ENV)
    nag.add_checks(app)
    assembly = app.synth()
    return Synthesized(stack, Template.from_stack(stack), nag.aws_solutions_findings(assembly, stack))


def rules(template: Template, kind: str) -> list[dict[str, Any]]:
    """Every ingress or egress rule, inline or standalone, as ``{group, port, peer}``."""
    found: list[dict[str, Any]] = []
    for logical_id, group in template.find_resources("AWS::EC2::SecurityGroup").items():
        for rule in group["Properties"].get(f"SecurityGroup{kind}", []):
            found.append(_rule(logical_id, rule))
    for rule in template.find_resources(f"AWS::EC2::SecurityGroup{kind}").values():
        properties = rule["Properties"]
        found.append(_rule(properties["GroupId"]["Fn::GetAtt"][0], properties))
    return found


def _rule(group: str, rule: dict[str, Any]) -> dict[str, Any]:
    peer = rule.get("CidrIp") or rule.get("SourceSecurityGroupId") or rule.get("DestinationSecurityGroupId")
    peer = peer["Fn::GetAtt"][0] if isinstance(peer, dict) else peer
    return {"group": group, "port": (rule["IpProtocol"], rule.get("FromPort"), rule.get("ToPort")), "peer": peer}


def test_the_vpc_has_isolated_private_subnets_in_three_azs_and_no_way_out(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    private = stack.vpc.select_subnets(subnet_type=cdk.aws_ec2.SubnetType.PRIVATE_ISOLATED)
    assert len(private.subnet_ids) == 3
    template = synthesized.template
    template.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.40.0.0/16"})
    # Provisioned-mode MSK triggers and the functions' own calls need neither (docs/deploy.md, Network paths).
    for kind in ("AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::EC2::EIP"):
        template.resource_count_is(kind, 0)
    # The public subnets' address space stays reserved: the private subnets keep their CIDRs.
    cidrs = sorted(s["Properties"]["CidrBlock"] for s in template.find_resources("AWS::EC2::Subnet").values())
    assert cidrs == ["10.40.16.0/20", "10.40.32.0/20", "10.40.48.0/20"]


def test_a_removed_nat_gateways_key_stops_the_synth() -> None:
    with pytest.raises(ContextError, match="context nat-gateways is no longer read: the VPC has no NAT gateway"):
        DeploymentConfig.from_context({"nat-gateways": 1}.get)


def test_flow_logs_record_all_traffic_to_cloudwatch(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    synthesized.template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})


# function -> (store group attribute, port) it may open connections to; nothing else.
REACH = {
    "score_trades": {("kafka_sg", 9098), ("cache_sg", 6379)},
    "score_orders": {("kafka_sg", 9098), ("cache_sg", 6379)},
    "dispatch_alerts": {("kafka_sg", 9098), ("cache_sg", 6379), ("endpoints_sg", 443)},
    "index_search": {("kafka_sg", 9098), ("search_sg", 443)},
    "ingest_trade": {("kafka_sg", 9098)},
    "report_api": {("search_sg", 443)},
    "provision_topics": {("kafka_sg", 9098)},
    "provision_search": {("search_sg", 443)},
}


def expected_rules(s: Synthesized, reach: dict[str, set[tuple[str, int]]]) -> tuple[list[Any], list[Any]]:
    """(ingress, egress) rules for ``reach`` plus the pollers' self-reference on the Kafka group."""
    kafka = s.group(s.stack.kafka_sg)
    ingress = [{"group": kafka, "port": ("tcp", 9098, 9098), "peer": kafka}]
    egress = [{"group": kafka, "port": ("tcp", 9098, 9098), "peer": kafka}]
    for function, stores in reach.items():
        own = s.group(s.stack.function_groups[function])
        for store, port in stores:
            target = s.group(getattr(s.stack, store))
            ingress.append({"group": target, "port": ("tcp", port, port), "peer": own})
            egress.append({"group": own, "port": ("tcp", port, port), "peer": target})
    return _sorted(ingress), _sorted(egress)


def _sorted(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(found, key=lambda r: json.dumps(r, sort_keys=True))


def test_each_function_has_its_own_group_and_reaches_exactly_its_stores(synthesized: Synthesized) -> None:
    s = synthesized
    assert sorted(s.stack.function_groups) == sorted(REACH)
    ingress, egress = expected_rules(s, REACH)
    assert _sorted(rules(s.template, "Ingress")) == ingress
    # No group allows all outbound (CDK's placeholder rule for "no egress" is the only non-TCP one).
    assert _sorted([r for r in rules(s.template, "Egress") if r["peer"] != "255.255.255.255/32"]) == egress


def test_the_simulator_s_functions_reach_kafka_and_the_cache() -> None:
    app = cdk.App(context=CONTEXT | {"simulator": True})
    stack = NetworkStack(app, "riskengine-network", config=DeploymentConfig.from_context(app.node.try_get_context))
    s = Synthesized(stack, Template.from_stack(stack), [])
    reach = REACH | {
        "ingest_trade": {("kafka_sg", 9098), ("cache_sg", 6379)},  # the simulation's controls
        "simulate_trades": {("kafka_sg", 9098), ("cache_sg", 6379)},
    }
    ingress, _ = expected_rules(s, reach)
    assert _sorted(rules(s.template, "Ingress")) == ingress


def test_the_only_interface_endpoint_is_sns_reachable_from_dispatch_alerts(synthesized: Synthesized) -> None:
    endpoints = synthesized.template.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}}
    )
    assert [e["Properties"]["ServiceName"] for e in endpoints.values()] == [f"com.amazonaws.{TEST_REGION}.sns"]
    endpoints_sg = synthesized.group(synthesized.stack.endpoints_sg)
    for endpoint in endpoints.values():
        assert endpoint["Properties"]["PrivateDnsEnabled"] is True
        assert endpoint["Properties"]["SecurityGroupIds"] == [{"Fn::GetAtt": [endpoints_sg, "GroupId"]}]


def test_function_placement_is_the_private_subnets_and_the_function_s_own_group(synthesized: Synthesized) -> None:
    placement = synthesized.stack.function_placement("report_api")
    assert placement["security_groups"] == [synthesized.stack.function_groups["report_api"]]
    assert placement["vpc_subnets"].subnet_type == cdk.aws_ec2.SubnetType.PRIVATE_ISOLATED
    with pytest.raises(KeyError, match="'simulate_trades' has no security group"):
        synthesized.stack.function_placement("simulate_trades")  # no simulator by default


def test_cdk_nag_finds_nothing_unacknowledged(synthesized: Synthesized) -> None:
    assert synthesized.findings == []
