"""ApiStack over the real functions stack: routes, authorization per ``api-auth``, validation, throttling, logs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from standins import ENV, Deployment, deployment

from riskengine_infra.stacks.api import ROUTES, ApiStack

# The cognito variant also moves the other API settings off their defaults.
CONTEXTS = {
    "iam": {"api-auth": "iam"},
    "cognito": {"api-auth": "cognito", "api-rate-limit": 50, "api-burst-limit": 100, "api-cloudwatch-role": False},
}


@pytest.fixture(scope="module", params=sorted(CONTEXTS))
def built(request: pytest.FixtureRequest) -> tuple[Deployment, ApiStack, Template]:
    d = deployment(CONTEXTS[request.param])
    api = ApiStack(d.app, "riskengine-api", config=d.config, functions=d.functions, env=ENV)
    d.synth()
    return d, api, Template.from_stack(api)


def methods(template: Template) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template.find_resources("AWS::ApiGateway::Method").items()
        if resource["Properties"]["HttpMethod"] != "OPTIONS"
    }


def paths(template: Template) -> dict[str, str]:
    """Resource logical id -> full path, rebuilt from the PathPart/ParentId chain."""
    resources = template.find_resources("AWS::ApiGateway::Resource")

    def path(logical_id: str) -> str:
        props = resources[logical_id]["Properties"]
        parent = props["ParentId"]
        prefix = path(parent["Ref"]) if "Ref" in parent else ""
        return f"{prefix}/{props['PathPart']}"

    return {logical_id: path(logical_id) for logical_id in resources}


def stage(template: Template) -> dict[str, Any]:
    (props,) = (s["Properties"] for s in template.find_resources("AWS::ApiGateway::Stage").values())
    return props


def test_every_route_reaches_the_function_that_owns_it(built: tuple[Deployment, ApiStack, Template]) -> None:
    d, api, template = built
    by_path = paths(template)
    routed = set()
    for props in methods(template).values():
        uri = json.dumps(props["Integration"]["Uri"])
        owners = [name for name in ("ingest_trade", "report_api") if _function_ref(d, api, name) in uri]
        assert props["Integration"]["Type"] == "AWS_PROXY"
        routed.add((by_path[props["ResourceId"]["Ref"]], props["HttpMethod"], *owners))
    assert routed == set(ROUTES)


def _function_ref(d: Deployment, api: ApiStack, name: str) -> str:
    """How the API stack's template imports the function's ARN (a fragment of the integration URI)."""
    return json.dumps(api.resolve(d.functions.functions[name].function_arn))


def test_every_method_is_authorized_as_the_context_says(built: tuple[Deployment, ApiStack, Template]) -> None:
    d, api, template = built
    for props in methods(template).values():
        if d.config.api_auth == "iam":
            assert props["AuthorizationType"] == "AWS_IAM"
            assert "AuthorizerId" not in props
        else:
            assert props["AuthorizationType"] == "COGNITO_USER_POOLS"
            assert props["AuthorizerId"] == {
                "Ref": api.get_logical_id(api.node.find_child("Authorizer").node.default_child)
            }


def test_cognito_mode_has_a_hardened_user_pool_and_iam_mode_none(built: tuple[Deployment, ApiStack, Template]) -> None:
    d, _, template = built
    if d.config.api_auth == "iam":
        template.resource_count_is("AWS::Cognito::UserPool", 0)
        return
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "MfaConfiguration": "ON",
            "UserPoolTier": "PLUS",
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "Policies": {
                "PasswordPolicy": Match.object_like(
                    {"MinimumLength": 12, "RequireNumbers": True, "RequireSymbols": True, "RequireUppercase": True}
                )
            },
        },
    )
    template.has_resource_properties("AWS::ApiGateway::Authorizer", {"Type": "COGNITO_USER_POOLS"})
    template.resource_count_is("AWS::Cognito::UserPoolClient", 1)


def test_every_method_validates_body_and_parameters(built: tuple[Deployment, ApiStack, Template]) -> None:
    _, _, template = built
    (validator_id,) = template.find_resources(
        "AWS::ApiGateway::RequestValidator",
        {"Properties": {"ValidateRequestBody": True, "ValidateRequestParameters": True}},
    )
    by_path = paths(template)
    for props in methods(template).values():
        assert props["RequestValidatorId"] == {"Ref": validator_id}
        if by_path[props["ResourceId"]["Ref"]].endswith("{proxy+}"):
            assert props["RequestParameters"] == {"method.request.path.proxy": True}


def test_the_stage_throttles_logs_and_traces(built: tuple[Deployment, ApiStack, Template]) -> None:
    d, _, template = built
    props = stage(template)
    assert props["StageName"] == "v1"
    assert props["TracingEnabled"] is True
    (settings,) = props["MethodSettings"]
    assert settings["HttpMethod"] == "*"
    assert settings["ResourcePath"] == "/*"
    assert settings["ThrottlingRateLimit"] == d.config.api_rate_limit
    assert settings["ThrottlingBurstLimit"] == d.config.api_burst_limit
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False


def test_access_logs_are_json_in_a_log_group_kept_for_the_retention(
    built: tuple[Deployment, ApiStack, Template],
) -> None:
    _, _, template = built
    access = stage(template)["AccessLogSetting"]
    (group_id,) = template.find_resources("AWS::Logs::LogGroup", {"Properties": {"RetentionInDays": 30}})
    assert access["DestinationArn"] == {"Fn::GetAtt": [group_id, "Arn"]}
    fields = json.loads(access["Format"])
    assert {"requestId", "ip", "httpMethod", "resourcePath", "status", "user"} <= set(fields)


def test_the_account_cloudwatch_role_is_registered_and_kept_unless_the_context_says_the_account_has_one(
    built: tuple[Deployment, ApiStack, Template],
) -> None:
    d, _, template = built
    if not d.config.api_cloudwatch_role:
        template.resource_count_is("AWS::ApiGateway::Account", 0)
        template.resource_count_is("AWS::IAM::Role", 0)
        return
    template.resource_count_is("AWS::ApiGateway::Account", 1)
    template.has_resource("AWS::IAM::Role", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})


def test_cdk_nag_leaves_nothing_unacknowledged(built: tuple[Deployment, ApiStack, Template]) -> None:
    d, api, _ = built
    assert d.findings(api) == []
