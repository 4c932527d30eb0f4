"""cdk-nag 3 glue: acknowledging AwsSolutions findings with their reason, and reading what remains.

cdk-nag 3 is a CDK policy-validation plugin (``cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))``),
not an Aspect: findings go to the assembly's ``validation-report.json`` instead of annotations, and a finding is
acknowledged with ``cdk.Validations.of(construct).acknowledge(...)``, which covers the construct's subtree. A
finding about one part of a resource is named ``Rule[Finding]``, e.g. ``AwsSolutions-IAM5[Resource::*]``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

__all__ = [
    "AWS_CUSTOM_RESOURCE_ID",
    "BASIC_EXECUTION",
    "REPORT_ONLY_CONTEXT",
    "VPC_EXECUTION",
    "acknowledge",
    "acknowledge_aws_custom_resources",
    "acknowledge_provider",
    "acknowledge_runtime",
    "acknowledge_vpc_function",
    "acknowledge_wildcard_resource",
    "add_checks",
    "aws_solutions_findings",
    "flatten_reference",
]

BASIC_EXECUTION = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
VPC_EXECUTION = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
# App context under which an in-process synth (tests) writes the findings to the report instead of raising.
REPORT_ONLY_CONTEXT = {"@aws-cdk/core:failSynthOnValidationErrors": False}
# The id under which every AwsCustomResource of a stack shares one Lambda function (CDK's singleton).
AWS_CUSTOM_RESOURCE_ID = "AWS679f53fac002430cb0da5b7982bd2287"

_MANAGED_LOGS = "AWS managed policy with the CloudWatch Logs writes every Lambda function needs to log, and no more"
_MANAGED_ENIS = (
    "AWS managed policy: the ENI actions Lambda needs to run in the VPC (ec2:CreateNetworkInterface and co.), "
    "which IAM cannot scope below Resource '*'"
)


def add_checks(app: cdk.App) -> None:
    """Run the AwsSolutions pack on every stack of ``app`` when it is synthesized."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Accept one AwsSolutions finding (``"IAM4[Policy::...]"``) on ``scope`` and everything below it."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=f"AwsSolutions-{rule}", reason=reason))


def acknowledge_vpc_function(function: lambda_.Function) -> None:
    """A Python function of this app in the VPC: CDK's managed policies (logs, ENIs) and the layers' runtime."""
    acknowledge(function, f"IAM4[{BASIC_EXECUTION}]", _MANAGED_LOGS)
    acknowledge(function, f"IAM4[{VPC_EXECUTION}]", _MANAGED_ENIS)
    acknowledge_runtime(function)


def acknowledge_runtime(function: lambda_.Function) -> None:
    """A Python function on the layers: its runtime is the layers', not necessarily the newest."""
    acknowledge(
        function,
        "L1",
        "the runtime is the one the layers are built for (LayersStack.runtime: compiled wheels are per Python "
        "version); it moves with the layers, never ahead of them",
    )


def acknowledge_wildcard_resource(scope: IConstruct, resource: str, reason: str) -> None:
    """Accept ``AwsSolutions-IAM5`` for exactly this resource string (a token or a literal ARN) under ``scope``."""
    acknowledge(scope, f"IAM5[Resource::{flatten_reference(cdk.Stack.of(scope).resolve(resource))}]", reason)


def acknowledge_provider(provider: cr.Provider, on_event: lambda_.Function) -> None:
    """The CDK Provider framework's own function: CDK's code and policies, not ours to change."""
    acknowledge(provider, f"IAM4[{BASIC_EXECUTION}]", _MANAGED_LOGS)
    acknowledge_wildcard_resource(
        provider,
        f"{on_event.function_arn}:*",
        "the framework may invoke any version or alias of the one on_event function it fronts, and only that one",
    )


def acknowledge_aws_custom_resources(stack: cdk.Stack) -> None:
    """The Lambda function shared by a stack's AwsCustomResources (its SDK calls are scoped per resource)."""
    acknowledge(stack.node.find_child(AWS_CUSTOM_RESOURCE_ID), f"IAM4[{BASIC_EXECUTION}]", _MANAGED_LOGS)


def flatten_reference(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag names it in a finding (its ``flattenCfnReference``)."""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::Join":
            delimiter, items = argument
            return delimiter.join(flatten_reference(item) for item in items)
        if function in ("Fn::Sub", "Fn::ImportValue"):
            return flatten_reference(argument)
        if function == "Fn::GetAtt":
            return f"<{flatten_reference(argument[0])}.{flatten_reference(argument[1])}>"
        if function == "Ref":
            return f"<{flatten_reference(argument)}>"
    return json.dumps(value, separators=(",", ":"))


def aws_solutions_findings(assembly: cdk.cx_api.CloudAssembly, stack: cdk.Stack) -> list[str]:
    """Unacknowledged AwsSolutions findings (errors and warnings: either fails ``cdk synth``) on ``stack``'s
    constructs, as ``"severity rule at path: description"``.

    Reads the assembly's validation report; synthesize with :data:`REPORT_ONLY_CONTEXT` to get a report
    instead of an exception.
    """
    report: dict[str, Any] = json.loads((Path(assembly.directory) / "validation-report.json").read_text())
    return [
        f"{violation['severity']} {violation['ruleName']} at {construct['constructPath']}: {violation['description']}"
        for plugin in report.get("pluginReports", [])
        if plugin["pluginName"] == "AwsSolutions"
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
        if construct["constructPath"].startswith(f"{stack.node.path}/")
    ]
