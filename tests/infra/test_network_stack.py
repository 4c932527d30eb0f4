"""NetworkStack: private subnets, flow logs, the four endpoints, and security groups open on the used ports only."""

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
from riskengine_infra.config import DeploymentConfig
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


def test_the_vpc_has_private_subnets_with_egress_in_three_azs(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    private = stack.vpc.select_subnets(subnet_type=cdk.aws_ec2.SubnetType.PRIVATE_WITH_EGRESS)
    assert len(private.subnet_ids) == 3
    synthesized.template.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.40.0.0/16"})
    synthesized.template.resource_count_is("AWS::EC2::NatGateway", 1)


def test_flow_logs_record_all_traffic_to_cloudwatch(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    synthesized.template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})


def test_service_groups_accept_only_their_port_from_the_functions(synthesized: Synthesized) -> None:
    s = synthesized
    functions, kafka = s.group(s.stack.functions_sg), s.group(s.stack.kafka_sg)
    cache, search, endpoints = s.group(s.stack.cache_sg), s.group(s.stack.search_sg), s.group(s.stack.endpoints_sg)
    ingress = sorted(rules(s.template, "Ingress"), key=lambda r: (r["group"], r["peer"]))
    assert ingress == sorted(
        [
            {"group": kafka, "port": ("tcp", 9098, 9098), "peer": functions},
            # The MSK trigger's pollers run with the cluster's security group.
            {"group": kafka, "port": ("tcp", 9098, 9098), "peer": kafka},
            {"group": cache, "port": ("tcp", 6379, 6379), "peer": functions},
            {"group": search, "port": ("tcp", 443, 443), "peer": functions},
            {"group": endpoints, "port": ("tcp", 443, 443), "peer": functions},
            {"group": endpoints, "port": ("tcp", 443, 443), "peer": kafka},
        ],
        key=lambda r: (r["group"], r["peer"]),
    )


def test_no_group_allows_all_outbound(synthesized: Synthesized) -> None:
    s = synthesized
    egress = rules(s.template, "Egress")
    assert all(rule["port"][0] == "tcp" or rule["peer"] == "255.255.255.255/32" for rule in egress), egress
    functions = {(r["port"][1], r["peer"]) for r in egress if r["group"] == s.group(s.stack.functions_sg)}
    services = {(9098, s.group(s.stack.kafka_sg)), (6379, s.group(s.stack.cache_sg)), (443, s.group(s.stack.search_sg))}
    assert functions == services | {(443, "0.0.0.0/0")}  # AWS APIs: the endpoints, or the NAT gateway
    kafka = {(r["port"][1], r["peer"]) for r in egress if r["group"] == s.group(s.stack.kafka_sg)}
    assert kafka == {(9098, s.group(s.stack.kafka_sg)), (443, "0.0.0.0/0")}  # the trigger's pollers


def test_the_four_interface_endpoints_are_reachable_from_the_functions_only(synthesized: Synthesized) -> None:
    endpoints = synthesized.template.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}}
    )
    services = sorted(e["Properties"]["ServiceName"] for e in endpoints.values())
    assert services == [f"com.amazonaws.{TEST_REGION}.{name}" for name in ("logs", "secretsmanager", "sns", "sts")]
    endpoints_sg = synthesized.group(synthesized.stack.endpoints_sg)
    for endpoint in endpoints.values():
        assert endpoint["Properties"]["PrivateDnsEnabled"] is True
        assert endpoint["Properties"]["SecurityGroupIds"] == [{"Fn::GetAtt": [endpoints_sg, "GroupId"]}]


def test_function_placement_is_the_private_subnets_and_the_functions_group(synthesized: Synthesized) -> None:
    placement = synthesized.stack.function_placement()
    assert placement["security_groups"] == [synthesized.stack.functions_sg]
    assert placement["vpc_subnets"].subnet_type == cdk.aws_ec2.SubnetType.PRIVATE_WITH_EGRESS


def test_cdk_nag_finds_nothing_unacknowledged(synthesized: Synthesized) -> None:
    assert synthesized.findings == []
