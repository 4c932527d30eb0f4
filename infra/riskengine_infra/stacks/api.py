"""The REST API in front of ``ingest_trade`` and ``report_api`` (Lambda proxy integrations, docs/api.md).

One regional API, stage ``v1``: every method authorized (context ``api-auth``: SigV4 with ``iam``, a Cognito
user pool's tokens with ``cognito``), stage-wide throttling, JSON access logs, execution logs for errors, X-Ray
tracing. The methods are the operations of the handlers' own OpenAPI documents (``riskengine_infra.openapi``):
each declares its required parameters and, for a required JSON body, a model, so the request validator
refuses a bad request before a function runs (the handlers validate again, with their detailed errors).
The simulation's routes exist only with context ``simulator=true``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from riskengine_infra import nag
from riskengine_infra.config import DeploymentConfig
from riskengine_infra.openapi import Operation, operations
from riskengine_infra.stacks.network import log_group

if TYPE_CHECKING:
    from riskengine_infra.stacks.functions import FunctionsStack

__all__ = ["STAGE", "ApiStack"]

STAGE = "v1"
SIMULATION = "/simulation/"
# What the validator answers (API Gateway's own 400s): JSON with the handlers' "message" key and the reason.
VALIDATION_ERROR = '{"message": "$context.error.validationErrorString"}'
PUSH_TO_CLOUDWATCH = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


class ApiStack(cdk.Stack):
    """``api`` (the RestApi), and with ``api-auth=cognito`` its ``user_pool`` and ``user_pool_client``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        functions: FunctionsStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.user_pool: cognito.UserPool | None = None
        self.user_pool_client: cognito.UserPoolClient | None = None
        self.api = self._rest_api(config)
        self._validator = self.api.add_request_validator(
            "Validator",
            request_validator_name="body-and-parameters",
            validate_request_body=True,
            validate_request_parameters=True,
        )
        self._method_options = self._authorization(config)
        for operation in operations():
            if operation.path.startswith(SIMULATION) and not config.simulator:
                continue  # no simulator deployed (context simulator): its controls are not on the API
            self._route(operation, functions.functions[operation.function])
        for response in (apigw.ResponseType.BAD_REQUEST_BODY, apigw.ResponseType.BAD_REQUEST_PARAMETERS):
            self.api.add_gateway_response(
                f"{response.response_type.title().replace('_', '')}Response",
                type=response,
                templates={"application/json": VALIDATION_ERROR},
            )
        self._acknowledge(config)

    def _rest_api(self, config: DeploymentConfig) -> apigw.RestApi:
        access_logs = log_group(self, "AccessLogs", config)
        fields = apigw.AccessLogFormat.json_with_standard_fields(
            caller=True,
            http_method=True,
            ip=True,
            protocol=True,
            request_time=True,
            resource_path=True,
            response_length=True,
            status=True,
            user=True,
        )
        return apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"{config.prefix}-api",
            description="riskengine: trade intake, simulation controls and compliance reporting",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # API Gateway writes logs through one role per account and region (its "account settings").
            cloud_watch_role=config.api_cloudwatch_role,
            # Other APIs of the account may rely on the role once registered: keep it when this stack goes.
            cloud_watch_role_removal_policy=cdk.RemovalPolicy.RETAIN if config.api_cloudwatch_role else None,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE,
                throttling_rate_limit=config.api_rate_limit,
                throttling_burst_limit=config.api_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=fields,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # request bodies hold trades: never copied into the execution logs
                metrics_enabled=True,
                tracing_enabled=True,
            ),
        )

    def _authorization(self, config: DeploymentConfig) -> dict[str, Any]:
        """Options every method gets: SigV4 (``iam``) or a Cognito user pool authorizer (``cognito``)."""
        if config.api_auth == "iam":
            return {"authorization_type": apigw.AuthorizationType.IAM}
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            user_pool_name=f"{config.prefix}-users",
            self_sign_up_enabled=False,  # compliance officers are invited by an administrator
            sign_in_aliases=cognito.SignInAliases(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12, require_digits=True, require_lowercase=True, require_symbols=True, require_uppercase=True
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.user_pool_client = self.user_pool.add_client(
            "Client", auth_flows=cognito.AuthFlow(user_srp=True), generate_secret=False
        )
        authorizer = apigw.CognitoUserPoolsAuthorizer(self, "Authorizer", cognito_user_pools=[self.user_pool])
        return {"authorization_type": apigw.AuthorizationType.COGNITO, "authorizer": authorizer}

    def _route(self, operation: Operation, function: lambda_.IFunction) -> None:
        models = None
        if operation.body is not None:
            # A CfnModel takes the schema as plain JSON (apigw.JsonSchema would need it rebuilt field by field).
            name = re.sub(r"[^A-Za-z0-9]", "", f"{operation.method.title()}{operation.path.title()}")
            model = apigw.CfnModel(
                self,
                f"{name}Model",
                rest_api_id=self.api.rest_api_id,
                content_type="application/json",
                name=name,
                schema=operation.body,
            )
            models = {"application/json": apigw.Model.from_model_name(self, f"{name}ModelRef", model.ref)}
        self.api.root.resource_for_path(operation.path).add_method(
            operation.method,
            apigw.LambdaIntegration(function),
            request_validator=self._validator,
            request_parameters=operation.parameters or None,
            request_models=models,
            **self._method_options,
        )

    def _acknowledge(self, config: DeploymentConfig) -> None:
        nag.acknowledge(
            self.api,
            "APIG3",
            "no WAF web ACL: every method requires SigV4 or a Cognito token, the stage throttles, and the "
            "issue scoping this API leaves WAF out (add one per account policy)",
        )
        if config.api_auth == "iam":
            nag.acknowledge(
                self.api,
                "COG4",
                "context api-auth=iam: every method uses AWS_IAM (SigV4) authorization instead of a Cognito "
                "authorizer; api-auth=cognito switches to one",
            )
        if config.api_cloudwatch_role:
            nag.acknowledge(
                self.api,
                f"IAM4[{PUSH_TO_CLOUDWATCH}]",
                "the role API Gateway itself assumes to write the access and execution logs; AWS maintains "
                "this policy for exactly that use",
            )
