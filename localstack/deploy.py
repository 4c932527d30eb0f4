"""Deploy the engine's functions to LocalStack (started with localstack/docker-compose.yml).

    .venv/bin/python localstack/deploy.py [--endpoint-url http://127.0.0.1:4566]

Builds the two layers with the CDK app's bundling code and one self-contained zip per
``functions/<name>/`` (lambda_zips.py), then, with boto3 against the endpoint: an IAM role, the
alerts SNS topic with an SQS queue subscribed (where alerts can be read), and one Lambda function
per folder (python3.12, this machine's architecture), configured to reach Redis, Kafka and
OpenSearch by their names on the compose network. Then it invokes the two provisioning functions
as CloudFormation's custom resources would on Create: provision_topics creates the Kafka topics,
provision_search the OpenSearch templates and aliases. Running it again updates everything in place.
It prints what it deployed and the ``riskengine bridge`` commands that stand in for the Kafka
triggers, which LocalStack's Community image does not have. See docs/localstack.md.

Names, sizes and topics come from the CDK app's configuration (cdk.json's context through
``riskengine_infra.config``, and ``riskengine_infra.topics``), so this deploys what ``cdk deploy`` would.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from lambda_zips import base_zip, directory_zip, function_zip, lambda_architecture, missing_modules

from riskengine.errors import RiskEngineError
from riskengine.sinks import Topics
from riskengine_tools.local.lambda_invoke import parse_invoke_response
from riskengine_tools.local.triggers import Trigger, dispatching, indexing, scoring

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "infra"))  # the CDK app's package, as infra/scripts/build_layers.py reaches it

from riskengine_infra import bundling  # noqa: E402
from riskengine_infra.config import DeploymentConfig, FunctionSizing  # noqa: E402
from riskengine_infra.topics import topic_settings  # noqa: E402

__all__ = [
    "CUSTOM_RESOURCE",
    "DEFAULT_ENDPOINT",
    "FUNCTIONS",
    "HOST_BOOTSTRAP_SERVERS",
    "SERVICES",
    "FunctionSpec",
    "Target",
    "app_config",
    "bridge_command",
    "build_zips",
    "code_sha256",
    "deploy_function",
    "ensure_alerts_topic",
    "ensure_role",
    "function_environment",
    "kafka_topics",
    "main",
    "parse_args",
    "print_report",
    "provision",
    "provisioning_events",
    "triggers",
]

FUNCTIONS_DIR = REPO / "functions"
DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
HOST_BOOTSTRAP_SERVERS = "127.0.0.1:9092"  # the broker's HOST listener, for the bridges (docker-compose.yml)
RUNTIME = f"python{bundling.PYTHON_VERSION}"
HOUR_MS = 3_600_000
# Where the functions find the compose services: names on the riskengine-localstack network.
SERVICES = {
    "redis": "redis://redis:6379/0",
    "kafka": "kafka:19092",  # the broker's DOCKER listener
    "opensearch": "http://opensearch:9200",
}
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def app_config(overrides: Mapping[str, Any] | None = None) -> DeploymentConfig:
    """The CDK app's configuration from cdk.json's context (then ``overrides``), as ``cdk deploy`` builds it."""
    context = json.loads((REPO / "cdk.json").read_text(encoding="utf-8"))["context"] | dict(overrides or {})
    return DeploymentConfig.from_context(context.get)


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One ``functions/<directory>/``, its entry point and its sizing (the CDK app's)."""

    directory: str
    sizing: FunctionSizing
    handler: str = "handler.lambda_handler"

    @property
    def memory_mb(self) -> int:
        return self.sizing.memory_mb

    @property
    def timeout_s(self) -> int:
        return self.sizing.timeout_s

    def function_name(self, prefix: str) -> str:
        return f"{prefix}-{self.directory.replace('_', '-')}"


@dataclass(frozen=True, slots=True)
class Target:
    """What every function is deployed with."""

    role_arn: str
    environment: Mapping[str, str]
    architecture: str


CUSTOM_RESOURCE = "handler.on_event"  # the CDK Provider framework's entry point
CONFIG = app_config()
# The streaming and search stacks size their provisioning functions themselves (512 MB, 5 minutes), not by context.
PROVISIONING = FunctionSizing(512, 300)
FUNCTIONS = (
    FunctionSpec("score_trades", CONFIG.score_trades),
    FunctionSpec("score_orders", CONFIG.score_orders),
    FunctionSpec("dispatch_alerts", CONFIG.downstream),
    FunctionSpec("index_search", CONFIG.downstream),
    FunctionSpec("ingest_trade", CONFIG.api),
    FunctionSpec("report_api", CONFIG.api),
    FunctionSpec("simulate_trades", CONFIG.downstream),
    FunctionSpec("provision_topics", PROVISIONING, CUSTOM_RESOURCE),
    FunctionSpec("provision_search", PROVISIONING, CUSTOM_RESOURCE),
)


def function_environment(alerts_topic_arn: str) -> dict[str, str]:
    """Every function gets the same addresses; each reads only the variables it needs.

    No endpoint for SNS: LocalStack sets AWS_ENDPOINT_URL in each function container to itself.
    """
    return {
        "REDIS_URL": SERVICES["redis"],
        "KAFKA_BOOTSTRAP_SERVERS": SERVICES["kafka"],
        "OPENSEARCH_URL": SERVICES["opensearch"],
        "OPENSEARCH_AUTH": "none",
        "ALERTS_TOPIC_ARN": alerts_topic_arn,
        # No X-Ray daemon in LocalStack's Community image: the tracer would only log failed sends.
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def kafka_topics() -> dict[str, int]:
    """Topic -> partitions: the CDK app's topics (``riskengine_infra.topics``) and ``topic-partitions``."""
    return {name: settings["partitions"] for name, settings in topic_settings(CONFIG).items()}


def provisioning_events() -> dict[str, dict[str, Any]]:
    """Function -> the Create event CloudFormation would send it (properties as strings, as CloudFormation does).

    Both run inside LocalStack, so they reach Kafka and OpenSearch as the other functions do. The
    compose stack has one broker and one OpenSearch node: one replica of everything, none to spare.
    """
    topics = [
        {"name": name, "partitions": str(t["partitions"]), "retentionMs": str(HOUR_MS * t["retentionHours"])}
        for name, t in topic_settings(CONFIG).items()
    ]
    return {
        "provision_topics": {
            "RequestType": "Create",
            "ResourceProperties": {"bootstrapServers": SERVICES["kafka"], "topics": topics},
        },
        "provision_search": {"RequestType": "Create", "ResourceProperties": {"replicas": "0"}},
    }


def triggers() -> tuple[Trigger, ...]:
    """The deployed system's Kafka triggers: the mappings the bridges stand in for."""
    topics = Topics()
    return *scoring(topics), dispatching(topics), *indexing(topics)


def bridge_command(trigger: Trigger, prefix: str, endpoint_url: str) -> str:
    spec = next(spec for spec in FUNCTIONS if spec.directory == trigger.function)
    return (
        f".venv/bin/riskengine bridge --topic {trigger.topic} --function {spec.function_name(prefix)} "
        f"--endpoint-url {endpoint_url} --bootstrap-servers {HOST_BOOTSTRAP_SERVERS} --group-id {trigger.group_id}"
    )


def code_sha256(code: bytes) -> str:
    """Lambda's ``CodeSha256`` of a zip: base64 of its SHA-256."""
    return base64.b64encode(hashlib.sha256(code).digest()).decode()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Build the functions and deploy them to LocalStack, with the alerts topic, the Kafka topics "
        "and the OpenSearch templates.",
    )
    parser.add_argument("--endpoint-url", default=DEFAULT_ENDPOINT, help="LocalStack (default: %(default)s).")
    parser.add_argument("--region", default="us-east-1", help="Region (default: %(default)s).")
    parser.add_argument(
        "--prefix", default=CONFIG.prefix, help="Prefix of every name (default: cdk.json's, %(default)s)."
    )
    parser.add_argument(
        "--function",
        dest="functions",
        action="append",
        choices=[spec.directory for spec in FUNCTIONS],
        help="Deploy only this function (repeatable; default: all, which a first deployment needs).",
    )
    parser.add_argument(
        "--architecture",
        choices=sorted(bundling.PLATFORMS),
        default=None,
        help="Lambda architecture (default: this machine's, which LocalStack runs natively).",
    )
    parser.add_argument(
        "--build-dir", type=Path, default=HERE / "build", help="Where the zips are written (default: %(default)s)."
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    architecture = args.architecture or lambda_architecture()
    specs = [spec for spec in FUNCTIONS if not args.functions or spec.directory in args.functions]
    zips = build_zips(specs, args.build_dir, architecture)
    aws = _clients(args.endpoint_url, args.region)
    alerts = ensure_alerts_topic(aws["sns"], aws["sqs"], args.prefix)
    target = Target(ensure_role(aws["iam"], f"{args.prefix}-functions"), function_environment(alerts[0]), architecture)
    outcomes = {spec.directory: deploy_function(aws["lambda"], args.prefix, spec, zips, target) for spec in specs}
    try:
        provisioned = provision(aws["lambda"], args.prefix, outcomes)
    except RiskEngineError as exc:  # the function failed: its message and log tail say why
        print(f"provisioning failed: {exc}", file=sys.stderr)
        return 1
    print_report(args, target, zips, outcomes, alerts, provisioned)
    return 0


def build_zips(specs: Sequence[FunctionSpec], build_dir: Path, architecture: str) -> dict[str, bytes]:
    """The two layers (BUILD_DIR/layers/*.zip, to inspect) and each function's zip (BUILD_DIR/functions)."""
    _log(f"building the layers for {RUNTIME} on {architecture} (infra/riskengine_infra/bundling.py)")
    engine, dependencies = build_dir / "engine", build_dir / "dependencies"
    for folder in (engine, dependencies):
        shutil.rmtree(folder, ignore_errors=True)
    bundling.build_engine_layer(engine)
    missing = missing_modules(bundling.ENGINE_PACKAGE, engine)
    if missing:  # deploying would give functions that fail on import
        raise SystemExit(f"the engine layer lacks {len(missing)} modules of the package, e.g. {missing[:3]}")
    bundling.build_dependency_layer(dependencies, architecture)
    for folder in ("layers", "functions"):
        (build_dir / folder).mkdir(parents=True, exist_ok=True)
    for layer in (engine, dependencies):
        (build_dir / "layers" / f"{layer.name}.zip").write_bytes(directory_zip(layer))
    base = base_zip(engine, dependencies)
    zips = {spec.directory: function_zip(base, FUNCTIONS_DIR / spec.directory) for spec in specs}
    for directory, code in zips.items():
        (build_dir / "functions" / f"{directory}.zip").write_bytes(code)
    return zips


def ensure_role(iam: Any, name: str) -> str:
    """The functions' execution role. LocalStack does not enforce IAM, but Lambda requires a role ARN."""
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]


def ensure_alerts_topic(sns: Any, sqs: Any, prefix: str) -> tuple[str, str]:
    """The alerts topic and an SQS queue subscribed to it with raw delivery (each call is idempotent)."""
    topic_arn = sns.create_topic(Name=f"{prefix}-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"{prefix}-alerts-inbox")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=attributes["QueueArn"], Attributes={"RawMessageDelivery": "true"}
    )
    return topic_arn, queue_url


def deploy_function(client: Any, prefix: str, spec: FunctionSpec, zips: Mapping[str, bytes], target: Target) -> str:
    """Create the function, or update it (its code only when the zip changed); returns what was done."""
    name, code = spec.function_name(prefix), zips[spec.directory]
    _log(f"deploying {name}")
    configuration = {
        "FunctionName": name,
        "Runtime": RUNTIME,
        "Handler": spec.handler,
        "Role": target.role_arn,
        "Timeout": spec.timeout_s,
        "MemorySize": spec.memory_mb,
        "Environment": {"Variables": dict(target.environment)},
    }
    try:
        current = client.get_function_configuration(FunctionName=name)
    except client.exceptions.ResourceNotFoundException:
        client.create_function(
            **configuration, Code={"ZipFile": code}, Architectures=[target.architecture], PackageType="Zip"
        )
        client.get_waiter("function_active_v2").wait(FunctionName=name)
        return "created"
    done = "configuration updated"
    if current["CodeSha256"] != code_sha256(code) or current.get("Architectures") != [target.architecture]:
        client.update_function_code(FunctionName=name, ZipFile=code, Architectures=[target.architecture])
        client.get_waiter("function_updated_v2").wait(FunctionName=name)
        done = "code and configuration updated"
    client.update_function_configuration(**configuration)
    client.get_waiter("function_updated_v2").wait(FunctionName=name)
    return done


def provision(client: Any, prefix: str, deployed: Mapping[str, str]) -> list[str]:
    """Invoke the provisioning functions deployed in this run with their Create events; returns their names."""
    done = []
    for directory, event in provisioning_events().items():
        if directory in deployed:
            name = next(spec for spec in FUNCTIONS if spec.directory == directory).function_name(prefix)
            _log(f"invoking {name} as CloudFormation would on Create")
            parse_invoke_response(name, client.invoke(FunctionName=name, Payload=json.dumps(event).encode()))
            done.append(name)
    return done


def print_report(
    args: argparse.Namespace,
    target: Target,
    zips: Mapping[str, bytes],
    outcomes: Mapping[str, str],
    alerts: tuple[str, str],
    provisioned: Sequence[str],
) -> None:
    print(f"Deployed to {args.endpoint_url} ({RUNTIME}, {target.architecture}):")
    for spec in FUNCTIONS:
        if spec.directory in outcomes:
            size_mb = len(zips[spec.directory]) / 1e6
            print(f"  {spec.function_name(args.prefix):<34} {outcomes[spec.directory]:<31} {size_mb:5.1f} MB zip")
    print(f"Alerts: SNS {alerts[0]} -> SQS {alerts[1]}")
    print("Function environment: " + ", ".join(f"{key}={value}" for key, value in target.environment.items()))
    if provisioned:
        topics = ", ".join(f"{name} ({count})" for name, count in kafka_topics().items())
        print(f"Provisioned by {' and '.join(provisioned)}: topics (partitions) {topics}; OpenSearch templates")
    print("Kafka triggers are not emulated; each runs as a bridge (all five: make localstack-bridge):")
    for trigger in triggers():
        if trigger.function in outcomes:
            print("  " + bridge_command(trigger, args.prefix, args.endpoint_url))


def _clients(endpoint_url: str, region: str) -> dict[str, Any]:
    """boto3 clients on LocalStack, which accepts any credentials. The first function can take minutes to
    create (LocalStack pulls the runtime image then), hence the long read timeout."""
    config = Config(read_timeout=600, connect_timeout=5, retries={"mode": "standard"})
    return {
        service: boto3.client(
            service,
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=config,
        )
        for service in ("iam", "sns", "sqs", "lambda")
    }


def _log(message: str) -> None:
    print(f"-- {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
