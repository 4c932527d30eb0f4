"""The whole CDK app: synthesizes with no AWS credentials and no Docker, every stack passes cdk-nag."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from infra_testing import TEST_CONTEXT

from app import build
from riskengine_infra import nag
from riskengine_infra.config import ContextError

ROOT = Path(__file__).resolve().parents[2]
STACKS = (
    "network", "layers", "alerting", "streaming", "state", "search", "functions", "api", "monitoring", "configuration"
)  # fmt: skip


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, cdk.Stack], cdk.cx_api.CloudAssembly]:
    """The app as ``cdk synth`` runs it (cdk.json's context), environment-agnostic: no credentials anywhere."""
    for variable in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID"):
        os.environ.pop(variable, None)
    context = json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))["context"] | TEST_CONTEXT
    # Report, don't raise: the test below names every finding instead of failing on the first.
    app = cdk.App(context=context | nag.REPORT_ONLY_CONTEXT, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stacks = build(app)
    return stacks, app.synth()


def test_every_concern_is_one_stack_in_the_assembly(synthesized: Any) -> None:
    stacks, assembly = synthesized
    assert tuple(stacks) == STACKS
    assert sorted(s.stack_name for s in assembly.stacks) == sorted(f"riskengine-{name}" for name in STACKS)


@pytest.mark.parametrize("concern", STACKS)
def test_cdk_nag_finds_nothing_unacknowledged(synthesized: Any, concern: str) -> None:
    stacks, assembly = synthesized
    assert nag.aws_solutions_findings(assembly, stacks[concern]) == []


def test_the_functions_are_wired_to_the_other_stacks(synthesized: Any) -> None:
    functions = Template.from_stack(synthesized[0]["functions"])
    mappings = functions.find_resources("AWS::Lambda::EventSourceMapping")
    topics = sorted(topic for m in mappings.values() for topic in m["Properties"]["Topics"])
    assert topics == ["crypto-orders", "crypto-trades", "risk-alerts", "risk-alerts", "risk-analyzed-trades"]
    for mapping in mappings.values():
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_bootstrap_brokers_reach_the_functions_through_ssm_not_an_export(synthesized: Any) -> None:
    """An export cannot change while imported: exporting the broker string would block any change of brokers."""
    stacks, assembly = synthesized
    for stack in assembly.stacks:
        template = json.dumps(stack.template)
        assert "BootstrapBrokerStringSaslIam" not in json.dumps(
            [o for o in stack.template.get("Outputs", {}).values() if "Export" in o]
        ), stack.stack_name
        assert "BootstrapBrokers" not in "".join(json.dumps(i) for i in _find(stack.template, "Fn::ImportValue")), (
            stack.stack_name
        )
        assert stack.stack_name == "riskengine-streaming" or "BootstrapBrokerStringSaslIam" not in template
    functions = Template.from_stack(stacks["functions"]).to_json()
    for resource in functions["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function" and "KAFKA_BOOTSTRAP_SERVERS" in json.dumps(resource):
            reference = resource["Properties"]["Environment"]["Variables"]["KAFKA_BOOTSTRAP_SERVERS"]
            assert functions["Parameters"][reference["Ref"]] == {
                "Type": "AWS::SSM::Parameter::Value<String>",
                "Default": "/riskengine/kafka/bootstrap-servers",
            }


def _find(node: Any, key: str) -> list[Any]:
    """Every value under ``key`` anywhere in a template."""
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == key] + [x for v in node.values() for x in _find(v, key)]
    if isinstance(node, list):
        return [x for v in node for x in _find(v, key)]
    return []


def test_context_stacks_builds_only_the_standalone_stacks_it_names(tmp_path: Path) -> None:
    """How LocalStack gets them: no layers, no network, nothing the named stacks do not need."""
    context = json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))["context"] | TEST_CONTEXT
    app = cdk.App(context=context | {"stacks": "configuration, alerting"}, outdir=str(tmp_path))
    stacks = build(app)
    assert sorted(stacks) == ["alerting", "configuration"]
    assert sorted(s.stack_name for s in app.synth().stacks) == ["riskengine-alerting", "riskengine-configuration"]


@pytest.mark.parametrize("names", ["functions", "alerting,streaming", " , "])
def test_context_stacks_refuses_stacks_that_need_others(tmp_path: Path, names: str) -> None:
    app = cdk.App(context=TEST_CONTEXT | {"stacks": names}, outdir=str(tmp_path))
    with pytest.raises(ContextError, match="context stacks may name only stacks that stand alone"):
        build(app)
