"""ApiStack over the real functions stack: routes, authorization per ``api-auth``, validation, throttling, logs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from jsonschema import Draft4Validator
from standins import ENV, Deployment, deployment

from riskengine_infra.openapi import draft4, operations
from riskengine_infra.stacks.api import ApiStack

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
    assert routed == EXPECTED_ROUTES


# The default deployment's methods (no simulator), as the handlers declare them.
EXPECTED_ROUTES = {
    ("/trades", "POST", "ingest_trade"),
    ("/docs/ingest", "GET", "ingest_trade"),
    ("/users/{userId}/risk", "GET", "report_api"),
    ("/alerts/{alertId}/acknowledge", "POST", "report_api"),
    ("/alerts", "GET", "report_api"),
    ("/reports/compliance", "GET", "report_api"),
    ("/docs/reports", "GET", "report_api"),
}


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
    for props in methods(template).values():
        assert props["RequestValidatorId"] == {"Ref": validator_id}


def _method(template: Template, path: str, http_method: str) -> dict[str, Any]:
    by_path = paths(template)
    (props,) = (
        p
        for p in methods(template).values()
        if by_path[p["ResourceId"]["Ref"]] == path and p["HttpMethod"] == http_method
    )
    return props


def test_required_parameters_are_declared_as_the_handlers_document_them(
    built: tuple[Deployment, ApiStack, Template],
) -> None:
    _, _, template = built
    compliance = _method(template, "/reports/compliance", "GET")["RequestParameters"]
    assert compliance["method.request.querystring.from"] is True
    assert compliance["method.request.querystring.to"] is True
    assert compliance["method.request.querystring.top"] is False
    assert _method(template, "/users/{userId}/risk", "GET")["RequestParameters"]["method.request.path.userId"] is True
    acknowledge = _method(template, "/alerts/{alertId}/acknowledge", "POST")["RequestParameters"]
    assert acknowledge == {"method.request.path.alertId": True}


def _model(template: Template, path: str, http_method: str) -> dict[str, Any]:
    reference = _method(template, path, http_method)["RequestModels"]["application/json"]
    models = template.find_resources("AWS::ApiGateway::Model")
    (model,) = (m["Properties"] for logical_id, m in models.items() if reference == {"Ref": logical_id})
    assert model["ContentType"] == "application/json"
    assert model["Schema"]["$schema"] == "http://json-schema.org/draft-04/schema#"
    return model["Schema"]


TRADE = {
    "userId": "u-1",
    "customerId": "c-1",
    "symbol": "BTC/USDT",
    "side": "BUY",
    "orderType": "MARKET",
    "quantity": 0.5,
    "price": 65000.0,
    "exchange": "BINANCE",
}


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        (TRADE, True),
        ([TRADE, TRADE], True),
        (TRADE | {"quantity": 0}, False),  # exclusiveMinimum 0, rewritten for draft 4
        (TRADE | {"side": "HOLD"}, False),
        (TRADE | {"symbol": "btcusdt"}, False),
        (TRADE | {"unknown": 1}, False),  # unknown fields are refused
        ({k: v for k, v in TRADE.items() if k != "userId"}, False),
        ([], False),  # 1..500 trades
        ("not a trade", False),
    ],
)
def test_the_trades_model_refuses_bad_bodies_before_the_function(
    built: tuple[Deployment, ApiStack, Template], body: Any, valid: bool
) -> None:
    _, _, template = built
    schema = _model(template, "/trades", "POST")
    Draft4Validator.check_schema(schema)
    assert Draft4Validator(schema).is_valid(body) is valid


def test_the_acknowledge_model_needs_who_acknowledges(built: tuple[Deployment, ApiStack, Template]) -> None:
    _, _, template = built
    validator = Draft4Validator(_model(template, "/alerts/{alertId}/acknowledge", "POST"))
    assert validator.is_valid({"acknowledgedBy": "officer@example.com", "note": None})
    assert not validator.is_valid({"note": "done"})
    assert not validator.is_valid({"acknowledgedBy": ""})


def test_the_models_are_the_openapi_documents_schemas_and_only_required_bodies_get_one() -> None:
    with_body = {(o.path, o.method) for o in operations() if o.body is not None}
    assert with_body == {("/trades", "POST"), ("/alerts/{alertId}/acknowledge", "POST")}  # /simulation/start: optional
    schemas = {"A": {"type": "object", "properties": {"n": {"type": "integer", "exclusiveMinimum": 0, "title": "N"}}}}
    assert draft4({"$ref": "#/components/schemas/A"}, schemas) == {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 0, "exclusiveMinimum": True}},
    }
    with pytest.raises(ValueError, match="recursive schema A"):
        draft4({"$ref": "#/components/schemas/A"}, {"A": {"items": {"$ref": "#/components/schemas/A"}}})


def test_validation_errors_answer_json_with_the_reason(built: tuple[Deployment, ApiStack, Template]) -> None:
    _, _, template = built
    for response_type in ("BAD_REQUEST_BODY", "BAD_REQUEST_PARAMETERS"):
        template.has_resource_properties(
            "AWS::ApiGateway::GatewayResponse",
            {
                "ResponseType": response_type,
                "ResponseTemplates": {"application/json": '{"message": "$context.error.validationErrorString"}'},
            },
        )


def test_the_simulation_routes_exist_only_with_the_simulator() -> None:
    d = deployment({"simulator": True})
    api = ApiStack(d.app, "riskengine-api", config=d.config, functions=d.functions, env=ENV)
    template = Template.from_stack(api)
    routed = {(paths(template)[p["ResourceId"]["Ref"]], p["HttpMethod"]) for p in methods(template).values()}
    simulation = {("/simulation/start", "POST"), ("/simulation/stop", "POST"), ("/simulation/stats", "GET")}
    assert simulation <= routed
    assert {(path, method) for path, method, _ in EXPECTED_ROUTES} | simulation == routed


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
