"""deploy.py without LocalStack: the function specs against functions/, the environment read back by the engine's
own settings, the topics, the bridge commands it prints, and create-or-update against a stubbed Lambda API."""

from __future__ import annotations

import ast
import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import boto3
import deploy
import pytest
import typer
from botocore.stub import Stubber

from riskengine.alerting import DispatchConfig
from riskengine.provisioning import specs_from_resource_properties
from riskengine.search import SearchAuth, SearchConfig
from riskengine.search.provision import ProvisionOptions
from riskengine.settings import Settings
from riskengine.sinks import Topics
from riskengine_infra.topics import Topics as InfraTopics
from riskengine_tools.cli.app import app

REPO = Path(__file__).resolve().parents[3]
FUNCTION_NAME = re.compile(r"[a-zA-Z0-9-_]{1,64}")  # Lambda's rule for a function name
TOPIC_ARN = "arn:aws:sns:us-east-1:000000000000:riskengine-alerts"
CODE = b"PK\x05\x06" + bytes(18)  # an empty zip
TARGET = deploy.Target("arn:aws:iam::000000000000:role/riskengine-functions", {"REDIS_URL": "redis://redis"}, "x86_64")


def test_every_function_folder_is_deployed_and_nothing_else() -> None:
    folders = {path.parent.name for path in (REPO / "functions").glob("*/handler.py")}
    assert {spec.directory for spec in deploy.FUNCTIONS} == folders


@pytest.mark.parametrize("spec", deploy.FUNCTIONS, ids=lambda spec: spec.directory)
def test_each_entry_point_is_a_function_of_its_handler_module(spec: deploy.FunctionSpec) -> None:
    module, _, attribute = spec.handler.partition(".")
    tree = ast.parse((REPO / "functions" / spec.directory / f"{module}.py").read_text())
    assert attribute in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_function_names_are_valid_and_distinct() -> None:
    names = [spec.function_name("riskengine") for spec in deploy.FUNCTIONS]
    assert all(FUNCTION_NAME.fullmatch(name) for name in names)
    assert len(set(names)) == len(names)
    assert deploy.FUNCTIONS[0].function_name("riskengine") == "riskengine-score-trades"


def test_the_engine_reads_the_compose_services_from_the_environment_deploy_sets() -> None:
    env = deploy.function_environment(TOPIC_ARN)
    settings, search = Settings.from_env(env), SearchConfig.from_env(env)
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.kafka.bootstrap_servers == "kafka:19092"
    assert (search.url, search.auth) == ("http://opensearch:9200", SearchAuth.NONE)
    assert DispatchConfig.from_env(env).topic_arn == TOPIC_ARN
    assert env["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert all(isinstance(value, str) for value in env.values())  # Lambda accepts string values only


def test_every_topic_a_trigger_reads_or_a_function_writes_is_created() -> None:
    topics = deploy.kafka_topics()
    assert {trigger.topic for trigger in deploy.triggers()} <= set(topics)
    defaults = Topics()
    written = {defaults.analyzed, defaults.alerts, defaults.dead_letter, "risk-alerts-dlq", "risk-search-dlq"}
    assert written <= set(topics)
    assert set(topics.values()) == {deploy.CONFIG.topic_partitions}  # the CDK app's topic-partitions


def test_names_and_sizes_are_the_cdk_apps() -> None:
    config = deploy.app_config()
    assert deploy.parse_args([]).prefix == config.prefix
    sizing = {spec.directory: (spec.memory_mb, spec.timeout_s) for spec in deploy.FUNCTIONS}
    assert sizing["score_trades"] == (config.score_trades.memory_mb, config.score_trades.timeout_s)
    assert sizing["score_orders"] == (config.score_orders.memory_mb, config.score_orders.timeout_s)
    assert sizing["dispatch_alerts"] == (config.downstream.memory_mb, config.downstream.timeout_s)
    assert sizing["report_api"] == (config.api.memory_mb, config.api.timeout_s)
    assert set(deploy.kafka_topics()) == set(InfraTopics().all())


def test_the_printed_bridge_commands_are_accepted_by_the_cli() -> None:
    command = typer.main.get_command(app)
    for trigger in deploy.triggers():
        printed = deploy.bridge_command(trigger, "riskengine", deploy.DEFAULT_ENDPOINT)
        program, name, *args = printed.split()
        assert (program, name) == (".venv/bin/riskengine", "bridge")
        with command.make_context("riskengine", [name, *args]) as context:
            bridge = command.get_command(context, name)
            assert bridge is not None
            params = bridge.make_context(name, args).params
        assert params["topic"] == trigger.topic
        assert params["group_id"] == trigger.group_id
        assert params["bootstrap_servers"] == "127.0.0.1:9092"  # the broker's listener for the host
        assert params["function"] == f"riskengine-{trigger.function.replace('_', '-')}"


def test_the_provisioning_events_are_what_the_custom_resources_accept() -> None:
    events = deploy.provisioning_events()
    assert set(events) <= {spec.directory for spec in deploy.FUNCTIONS if spec.handler == deploy.CUSTOM_RESOURCE}
    topics = events["provision_topics"]["ResourceProperties"]
    specs = specs_from_resource_properties(topics)
    assert {spec.name: spec.partitions for spec in specs} == deploy.kafka_topics()
    retention = {spec.name: spec.retention_ms for spec in specs}
    assert retention["crypto-trades"] == deploy.CONFIG.topic_retention_hours * 3_600_000
    assert retention["risk-alerts-dlq"] == deploy.CONFIG.dead_letter_retention_hours * 3_600_000
    assert topics["bootstrapServers"] == deploy.SERVICES["kafka"]  # reached from inside LocalStack
    options = ProvisionOptions.from_resource_properties(events["provision_search"]["ResourceProperties"])
    assert options.replicas == 0  # one OpenSearch node: a replica could never be assigned
    assert all(event["RequestType"] == "Create" for event in events.values())


def test_the_five_mappings_of_the_deployed_system_have_distinct_consumer_groups() -> None:
    mappings = deploy.triggers()
    assert len(mappings) == 5
    assert len({trigger.group_id for trigger in mappings}) == 5


def test_make_localstack_bridge_runs_a_bridge_for_every_mapping() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for trigger in deploy.triggers():
        function = f"riskengine-{trigger.function.replace('_', '-')}"
        assert f"--topic {trigger.topic} --function {function} --group-id {trigger.group_id}" in makefile, trigger


def test_code_sha256_is_lambdas_base64_sha256() -> None:
    assert deploy.code_sha256(b"") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert deploy.code_sha256(CODE) == base64.b64encode(hashlib.sha256(CODE).digest()).decode()


def test_defaults_point_at_the_compose_stack() -> None:
    args = deploy.parse_args([])
    assert (args.endpoint_url, args.region) == ("http://127.0.0.1:4566", "us-east-1")
    assert args.functions is None
    assert args.build_dir == REPO / "localstack" / "build"  # build/ is in .gitignore
    assert deploy.parse_args(["--function", "score_trades", "--function", "index_search"]).functions == [
        "score_trades",
        "index_search",
    ]


@pytest.fixture
def lambda_api() -> Any:
    client = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def configuration(spec: deploy.FunctionSpec) -> dict[str, Any]:
    return {
        "FunctionName": spec.function_name("riskengine"),
        "Runtime": "python3.12",
        "Handler": spec.handler,
        "Role": TARGET.role_arn,
        "Timeout": spec.timeout_s,
        "MemorySize": spec.memory_mb,
        "Environment": {"Variables": dict(TARGET.environment)},
    }


def test_a_new_function_is_created_with_the_hosts_architecture(lambda_api: Any) -> None:
    client, stubber = lambda_api
    spec = deploy.FUNCTIONS[-1]  # provision_search: its entry point is not lambda_handler
    name = spec.function_name("riskengine")
    stubber.add_client_error("get_function_configuration", "ResourceNotFoundException", http_status_code=404)
    expected = {**configuration(spec), "Code": {"ZipFile": CODE}, "Architectures": ["x86_64"], "PackageType": "Zip"}
    stubber.add_response("create_function", {"FunctionName": name}, expected)
    stubber.add_response("get_function", {"Configuration": {"State": "Active"}}, {"FunctionName": name})
    assert deploy.deploy_function(client, "riskengine", spec, {spec.directory: CODE}, TARGET) == "created"


def test_unchanged_code_is_not_uploaded_again(lambda_api: Any) -> None:
    client, stubber = lambda_api
    spec = deploy.FUNCTIONS[0]
    name = spec.function_name("riskengine")
    current = {"CodeSha256": deploy.code_sha256(CODE), "Architectures": ["x86_64"]}
    stubber.add_response("get_function_configuration", current, {"FunctionName": name})
    stubber.add_response("update_function_configuration", {}, configuration(spec))
    stubber.add_response("get_function", {"Configuration": {"LastUpdateStatus": "Successful"}}, {"FunctionName": name})
    outcome = deploy.deploy_function(client, "riskengine", spec, {spec.directory: CODE}, TARGET)
    assert outcome == "configuration updated"


def test_changed_code_is_uploaded_before_the_configuration(lambda_api: Any) -> None:
    client, stubber = lambda_api
    spec = deploy.FUNCTIONS[0]
    name = spec.function_name("riskengine")
    updated = {"Configuration": {"LastUpdateStatus": "Successful"}}
    stubber.add_response("get_function_configuration", {"CodeSha256": "old", "Architectures": ["x86_64"]})
    stubber.add_response(
        "update_function_code", {}, {"FunctionName": name, "ZipFile": CODE, "Architectures": ["x86_64"]}
    )
    stubber.add_response("get_function", updated, {"FunctionName": name})
    stubber.add_response("update_function_configuration", {}, configuration(spec))
    stubber.add_response("get_function", updated, {"FunctionName": name})
    outcome = deploy.deploy_function(client, "riskengine", spec, {spec.directory: CODE}, TARGET)
    assert outcome == "code and configuration updated"
