"""ConfigurationStack: the rule settings, topics and alert severities as SSM parameters, rules checked at synth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from infra_testing import TEST_ACCOUNT, TEST_CONTEXT, TEST_REGION

from riskengine_infra import nag
from riskengine_infra.config import ContextError, DeploymentConfig
from riskengine_infra.stacks.configuration import ConfigurationStack

ENV = cdk.Environment(account=TEST_ACCOUNT, region=TEST_REGION)
CONTEXT = json.loads((Path(__file__).parents[2] / "cdk.json").read_text())["context"] | TEST_CONTEXT
RULES = {"FLASH_CRASH": {"sells": 12}, "RAPID_BURST": {"enabled": False}}


def synthesize(tmp_path: Path, context: dict[str, Any]) -> tuple[Template, list[str]]:
    app = cdk.App(context=CONTEXT | context | nag.REPORT_ONLY_CONTEXT, outdir=str(tmp_path))
    stack = ConfigurationStack(
        app, "riskengine-configuration", config=DeploymentConfig.from_context(app.node.try_get_context), env=ENV
    )
    nag.add_checks(app)
    assembly = app.synth()
    return Template.from_stack(stack), nag.aws_solutions_findings(assembly, stack)


def parameters(template: Template) -> dict[str, tuple[str, str]]:
    found = template.find_resources("AWS::SSM::Parameter").values()
    return {p["Properties"]["Name"]: (p["Properties"]["Type"], p["Properties"]["Value"]) for p in found}


def test_the_parameters_hold_the_deployment_settings(tmp_path: Path) -> None:
    # cdk.json writes risk-rules as an object; -c passes the same as a JSON string.
    template, findings = synthesize(tmp_path, {"risk-rules": RULES, "topic-partitions": 6})
    published = parameters(template)
    names = ("alert-severities", "rules", "topics")
    assert sorted(published) == [f"/riskengine/configuration/{name}" for name in names]
    assert published["/riskengine/configuration/alert-severities"] == ("StringList", "HIGH,CRITICAL")
    kind, rules = published["/riskengine/configuration/rules"]
    assert kind == "String" and json.loads(rules) == RULES
    topics = json.loads(published["/riskengine/configuration/topics"][1])
    assert topics["crypto-trades"] == topics["crypto-orders"] == {"partitions": 6, "retentionHours": 168}
    assert topics["risk-alerts-dlq"] == {"partitions": 6, "retentionHours": 336}
    assert len(topics) == 8
    assert findings == []


def test_no_rule_settings_publishes_an_empty_object(tmp_path: Path) -> None:
    assert parameters(synthesize(tmp_path, {})[0])["/riskengine/configuration/rules"] == ("String", "{}")


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"WASH": {}}, "context risk-rules: unknown rule"),
        ({"FLASH_CRASH": {"sells": "12"}}, "context risk-rules: FLASH_CRASH.sells must be int"),
        ('{"FLASH_CRASH": ', "context risk-rules is not JSON"),
        ('{"FLASH_CRASH": 3}', "context risk-rules must be an object of rule name -> settings object"),
    ],
)
def test_rule_settings_the_engine_refuses_fail_the_synth(tmp_path: Path, rules: Any, message: str) -> None:
    with pytest.raises(ContextError, match=message):
        synthesize(tmp_path, {"risk-rules": rules})
