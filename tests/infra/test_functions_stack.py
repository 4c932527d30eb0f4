"""FunctionsStack wired to the real upstream stacks: triggers, environment, least-privilege IAM, cdk-nag.

Expected values that come from another stack (ARNs, endpoints) are that stack's attribute resolved in the
functions stack after synthesis, i.e. exactly the import the template must hold.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from infra_testing import TEST_ACCOUNT, TEST_REGION
from standins import Deployment, deployment

from riskengine_infra.config import ContextError, DeploymentConfig
from riskengine_infra.stacks.functions import service_name

ENGINE = Path(__file__).resolve().parents[2] / "layers" / "riskengine" / "python" / "riskengine"
FUNCTIONS_DIR = ENGINE.parents[2].parent / "functions"
# The default deployment: no trading simulator (context simulator=false).
FUNCTIONS = ("score_trades", "score_orders", "dispatch_alerts", "index_search", "ingest_trade", "report_api")
TRIGGERS = [
    ("score_trades", "crypto-trades", "riskengine-score-trades"),
    ("score_orders", "crypto-orders", "riskengine-score-orders"),
    ("dispatch_alerts", "risk-alerts", "riskengine-dispatch-alerts"),
    ("index_search", "risk-analyzed-trades", "riskengine-index-search-analyzed"),
    ("index_search", "risk-alerts", "riskengine-index-search-alerts"),
]
# function -> (topics read, topics written, consumer groups); a trigger's function also writes trigger failures
KAFKA_ACCESS = {
    "score_trades": (
        ["crypto-trades"],
        ["risk-analyzed-trades", "risk-alerts", "crypto-trades-dlq", "riskengine-trigger-failures"],
        ["riskengine-score-trades"],
    ),
    # order events raise alerts and have no analysed record; their dead letters join the trades'
    "score_orders": (
        ["crypto-orders"],
        ["risk-alerts", "crypto-trades-dlq", "riskengine-trigger-failures"],
        ["riskengine-score-orders"],
    ),
    "dispatch_alerts": (
        ["risk-alerts"],
        ["risk-alerts-dlq", "riskengine-trigger-failures"],
        ["riskengine-dispatch-alerts"],
    ),
    "index_search": (
        ["risk-analyzed-trades", "risk-alerts"],
        ["risk-search-dlq", "riskengine-trigger-failures"],
        ["riskengine-index-search-analyzed", "riskengine-index-search-alerts"],
    ),
    "ingest_trade": ([], ["crypto-trades"], []),
    "report_api": ([], [], []),
}


@pytest.fixture(scope="module")
def built() -> Deployment:
    d = deployment()
    d.synth()
    return d


@pytest.fixture(scope="module")
def template(built: Deployment) -> Template:
    return Template.from_stack(built.functions)


def here(d: Deployment, value: Any) -> Any:
    """A value of any stack as the functions stack's template spells it."""
    return d.functions.resolve(value)


def expected_environment(d: Deployment, name: str) -> dict[str, Any]:
    kafka = {
        "KAFKA_BOOTSTRAP_SERVERS": here(d, d.streaming.bootstrap_servers_for(d.functions)),  # test_app.py: no export
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "AWS_MSK_IAM",
    }
    redis = {
        "REDIS_URL": here(d, d.state.redis_url),
        "REDIS_CLUSTER": "true",
        "REDIS_AUTH": "iam",
        "REDIS_USER": "riskengine-engine",
        "REDIS_CACHE_NAME": "riskengine-cache",
        "REDIS_CACHE_SERVERLESS": "true" if d.config.cache_mode == "serverless" else "false",
    }
    search = {
        "OPENSEARCH_URL": here(d, f"https://{d.search.domain.domain_endpoint}"),
        "OPENSEARCH_AUTH": "sigv4",
        "OPENSEARCH_SERVICE": "es",
    }
    # ingest_trade reaches Redis only for the simulation's controls
    intake = kafka | (redis if d.config.simulator else {}) | {"TRADES_TOPIC": "crypto-trades"}
    own = {
        "score_trades": kafka
        | redis
        | {
            "TRADES_TOPIC": "crypto-trades",
            "ANALYZED_TOPIC": "risk-analyzed-trades",
            "ALERTS_TOPIC": "risk-alerts",
            "DEAD_LETTER_TOPIC": "crypto-trades-dlq",
        },
        "score_orders": kafka
        | redis
        | {
            "ORDERS_TOPIC": "crypto-orders",
            "ALERTS_TOPIC": "risk-alerts",
            "DEAD_LETTER_TOPIC": "crypto-trades-dlq",
        },
        "dispatch_alerts": kafka
        | redis
        | {
            "ALERTS_TOPIC_ARN": here(d, d.alerting.alerts_topic.topic_arn),
            "DASHBOARD_URL": "",
            "ALERTS_DEAD_LETTER_TOPIC": "risk-alerts-dlq",
        },
        "index_search": kafka
        | search
        | {
            "ANALYZED_TOPIC": "risk-analyzed-trades",
            "ALERTS_TOPIC": "risk-alerts",
            "SEARCH_DEAD_LETTER_TOPIC": "risk-search-dlq",
        },
        "ingest_trade": intake,
        "simulate_trades": intake,
        "report_api": search,
    }[name]
    powertools = {
        "POWERTOOLS_SERVICE_NAME": service_name(name),
        "POWERTOOLS_METRICS_NAMESPACE": "RiskEngine",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    return powertools | own


def function_resource(template: Template, name: str) -> tuple[str, dict[str, Any]]:
    found = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"FunctionName": f"riskengine-{service_name(name)}"}}
    )
    assert len(found) == 1, f"no function riskengine-{service_name(name)}"
    return next(iter(found.items()))


def statements(template: Template, name: str) -> list[dict[str, Any]]:
    """Every statement of the function's role: its inline policies and the policies attached to it."""
    role = function_resource(template, name)[1]["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}})
    inline = template.find_resources("AWS::IAM::Role")[role]["Properties"].get("Policies", [])
    documents = [p["Properties"]["PolicyDocument"] for p in policies.values()] + [p["PolicyDocument"] for p in inline]
    return [s for d in documents for s in d["Statement"]]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants(template: Template, name: str, prefix: str) -> dict[str, list[str]]:
    """action -> sorted resources (JSON), for the role's actions starting with ``prefix``."""
    found: dict[str, set[str]] = {}
    for statement in statements(template, name):
        for action in (a for a in _listed(statement["Action"]) if a.startswith(prefix)):
            resources = (json.dumps(r, sort_keys=True) for r in _listed(statement["Resource"]))
            found.setdefault(action, set()).update(resources)
    return {action: sorted(resources) for action, resources in found.items()}


def dumped(d: Deployment, values: list[Any]) -> list[str]:
    return sorted({json.dumps(here(d, v), sort_keys=True) for v in values})


def mapping(template: Template, topic: str, group: str) -> dict[str, Any]:
    found = template.find_resources(
        "AWS::Lambda::EventSourceMapping",
        {"Properties": {"Topics": [topic], "AmazonManagedKafkaEventSourceConfig": {"ConsumerGroupId": group}}},
    )
    assert len(found) == 1, (topic, group)
    return next(iter(found.values()))["Properties"]


# --- the functions -------------------------------------------------------------------------------------------


def test_the_stack_exposes_every_function_by_folder_and_its_triggers(built: Deployment) -> None:
    assert sorted(built.functions.functions) == sorted(FUNCTIONS)
    assert sorted((t.function, t.topic, t.group) for t in built.functions.triggers) == sorted(TRIGGERS)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_is_python312_arm64_in_the_vpc_traced_on_both_layers(
    built: Deployment, template: Template, name: str
) -> None:
    props = function_resource(template, name)[1]["Properties"]
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "handler.lambda_handler"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["VpcConfig"]["SecurityGroupIds"] == [
        here(built, built.network.function_groups[name].security_group_id)
    ]
    assert len(props["VpcConfig"]["SubnetIds"]) == 3  # the private subnets, one per AZ
    assert len(props["Layers"]) == 2
    assert "LogGroup" in props["LoggingConfig"]


def test_the_layers_are_read_from_ssm_at_each_deployment(template: Template) -> None:
    parameters = template.to_json()["Parameters"]
    names = {p["Default"] for p in parameters.values() if p["Type"] == "AWS::SSM::Parameter::Value<String>"}
    assert {"/riskengine/layers/dependencies", "/riskengine/layers/engine"} <= names


@pytest.mark.parametrize(
    ("name", "memory", "timeout"),
    [
        ("score_trades", 1769, 120),
        ("score_orders", 1769, 120),
        ("dispatch_alerts", 512, 60),
        ("index_search", 512, 60),
        ("ingest_trade", 512, 29),
        ("report_api", 512, 29),
    ],
)
def test_sizing_comes_from_the_context(template: Template, name: str, memory: int, timeout: int) -> None:
    props = function_resource(template, name)[1]["Properties"]
    assert props["MemorySize"] == memory
    assert props["Timeout"] == timeout


def test_by_default_no_function_reserves_concurrency(template: Template) -> None:
    """A new account's concurrency limit may be 10, with 100 kept unreserved: any reservation fails the deploy."""
    template.resource_properties_count_is(
        "AWS::Lambda::Function", {"ReservedConcurrentExecutions": Match.any_value()}, 0
    )


def test_a_sizing_s_reserved_concurrency_reserves_it_and_zero_is_refused() -> None:
    d = deployment({"api": {"memory_mb": 512, "timeout_s": 29, "reserved_concurrency": 50}})
    template = Template.from_stack(d.functions)
    for name in FUNCTIONS:
        reserved = function_resource(template, name)[1]["Properties"].get("ReservedConcurrentExecutions")
        assert reserved == (50 if name in ("ingest_trade", "report_api") else None), name
    with pytest.raises(ContextError, match=r"context api.reserved_concurrency must be >= 1 or absent, got 0"):
        DeploymentConfig.from_context({"api": {"memory_mb": 512, "timeout_s": 29, "reserved_concurrency": 0}}.get)


def test_each_function_logs_to_its_own_group_kept_for_the_retention(template: Template) -> None:
    groups = template.find_resources("AWS::Logs::LogGroup")
    assert len(groups) == len(FUNCTIONS)
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {30}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_environment_is_exactly_what_the_engine_reads(built: Deployment, template: Template, name: str) -> None:
    props = function_resource(template, name)[1]["Properties"]
    assert props["Environment"]["Variables"] == expected_environment(built, name)


def test_every_variable_set_is_read_by_the_engine(built: Deployment) -> None:
    """Guards against a typo: each name appears, quoted, in the engine's code (Powertools reads its own)."""
    sources = "\n".join(path.read_text(encoding="utf-8") for path in ENGINE.rglob("*.py"))
    names = {name for f in FUNCTIONS for name in expected_environment(built, f) if not name.startswith("POWERTOOLS_")}
    assert sorted(name for name in names if not re.search(rf"[\"']{name}[\"']", sources)) == []


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_service_name_is_the_one_the_handler_reports_metrics_under(name: str) -> None:
    handler = (FUNCTIONS_DIR / name / "handler.py").read_text(encoding="utf-8")
    assert f'powertools("{service_name(name)}")' in handler


# --- triggers ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "topic", "group"), TRIGGERS)
def test_every_trigger_retries_bisects_reports_item_failures_and_dead_letters_to_kafka(
    built: Deployment, template: Template, name: str, topic: str, group: str
) -> None:
    props = mapping(template, topic, group)
    assert props["EventSourceArn"] == here(built, built.streaming.cluster_arn)
    assert props["FunctionName"] == {"Ref": function_resource(template, name)[0]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] == 10
    assert props["DestinationConfig"] == {"OnFailure": {"Destination": "kafka://riskengine-trigger-failures"}}
    assert props["ProvisionedPollerConfig"] == {"MinimumPollers": 1, "MaximumPollers": 4}
    assert props["BatchSize"] == 500
    assert props["MaximumBatchingWindowInSeconds"] == 1
    assert props["StartingPosition"] == "TRIM_HORIZON"


@pytest.mark.parametrize(("name", "topic", "group"), TRIGGERS)
def test_every_trigger_publishes_its_event_error_and_kafka_metrics(
    template: Template, name: str, topic: str, group: str
) -> None:
    """The monitoring stack alarms on them; Lambda publishes none unless the mapping asks."""
    props = mapping(template, topic, group)
    assert sorted(props["MetricsConfig"]["Metrics"]) == ["ErrorCount", "EventCount", "KafkaMetrics"]


def test_without_the_simulator_there_is_no_simulate_function_schedule_or_redis_in_intake(
    template: Template, built: Deployment
) -> None:
    assert built.config.simulator is False
    assert "simulate_trades" not in built.functions.functions
    template.resource_count_is("AWS::Events::Rule", 0)
    variables = function_resource(template, "ingest_trade")[1]["Properties"]["Environment"]["Variables"]
    assert "REDIS_URL" not in variables


@pytest.fixture(scope="module")
def simulator() -> tuple[Deployment, Template]:
    d = deployment({"simulator": "true"})  # as `-c simulator=true` passes it
    return d, Template.from_stack(d.functions)


def test_the_simulator_ticks_every_minute(simulator: tuple[Deployment, Template]) -> None:
    d, template = simulator
    assert "simulate_trades" in d.functions.functions
    for name in ("simulate_trades", "ingest_trade"):
        variables = function_resource(template, name)[1]["Properties"]["Environment"]["Variables"]
        assert variables == expected_environment(d, name), name
        assert list(grants(template, name, "elasticache:")) == ["elasticache:Connect"], name  # simulation state
    simulate = function_resource(template, "simulate_trades")[0]
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(1 minute)",
            "State": "ENABLED",
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [simulate, "Arn"]}})],
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com", "FunctionName": Match.any_value()},
    )


# --- IAM -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FUNCTIONS)
def test_kafka_access_is_scoped_to_the_cluster_and_the_function_s_topics_and_groups(
    built: Deployment, template: Template, name: str
) -> None:
    reads, writes, groups = KAFKA_ACCESS[name]
    streaming = built.streaming
    expected: dict[str, list[str]] = {}
    if reads or writes:
        cluster = ["Connect", "DescribeCluster"] + (["DescribeClusterDynamicConfiguration"] if groups else [])
        expected |= {f"kafka-cluster:{action}": dumped(built, [streaming.cluster_arn]) for action in cluster}
        expected["kafka-cluster:WriteData"] = dumped(built, [streaming.topic_arn(t) for t in writes])
        expected["kafka-cluster:DescribeTopic"] = dumped(built, [streaming.topic_arn(t) for t in [*reads, *writes]])
    if reads:
        expected["kafka-cluster:ReadData"] = dumped(built, [streaming.topic_arn(t) for t in reads])
    if groups:
        expected["kafka-cluster:AlterGroup"] = expected["kafka-cluster:DescribeGroup"] = dumped(
            built, [streaming.group_arn(g) for g in groups]
        )
    assert grants(template, name, "kafka-cluster:") == expected


def test_only_dispatch_alerts_publishes_to_sns_and_only_to_the_alerts_topic(
    built: Deployment, template: Template
) -> None:
    alerts_topic = {"sns:Publish": dumped(built, [built.alerting.alerts_topic.topic_arn])}
    for name in FUNCTIONS:
        assert grants(template, name, "sns:") == (alerts_topic if name == "dispatch_alerts" else {}), name


def test_only_index_search_and_report_api_reach_opensearch(template: Template) -> None:
    for name in FUNCTIONS:
        assert bool(grants(template, name, "es:")) == (name in ("index_search", "report_api")), name


VPC_ENIS = [
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
]
POLLER_ENIS = [
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
]
TRIGGERED = {function for function, _, _ in TRIGGERS}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_resource_star_only_for_x_ray_and_network_interfaces(template: Template, name: str) -> None:
    star = {a for s in statements(template, name) if "*" in _listed(s["Resource"]) for a in _listed(s["Action"])}
    expected = {"xray:PutTelemetryRecords", "xray:PutTraceSegments", *VPC_ENIS}
    assert star == (expected | set(POLLER_ENIS) if name in TRIGGERED else expected)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_a_function_writes_logs_to_its_own_log_group_only(template: Template, name: str) -> None:
    group = function_resource(template, name)[1]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert grants(template, name, "logs:") == {
        action: [json.dumps({"Fn::GetAtt": [group, "Arn"]})] for action in ("logs:CreateLogStream", "logs:PutLogEvents")
    }


@pytest.mark.parametrize("name", sorted(TRIGGERED))
def test_a_triggered_function_may_describe_the_cluster_it_reads(
    built: Deployment, template: Template, name: str
) -> None:
    assert grants(template, name, "kafka:") == {
        action: dumped(built, [built.streaming.cluster_arn])
        for action in ("kafka:DescribeCluster", "kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers")
    }


def test_no_role_carries_a_managed_policy(template: Template) -> None:
    """Lambda's managed execution policies allow CloudWatch Logs on every log group: none is attached."""
    for role in template.find_resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


# --- checks ------------------------------------------------------------------------------------------------------


def test_cdk_nag_leaves_nothing_unacknowledged(built: Deployment) -> None:
    assert built.findings(built.functions) == []
    assert built.findings(built.layers) == []


def test_architecture_trigger_and_log_settings_follow_the_context() -> None:
    trigger = {
        "batch_size": 100,
        "batching_window_s": 5,
        "min_pollers": 2,
        "max_pollers": 8,
        "retry_attempts": 3,
        "starting_position": "LATEST",
    }
    d = deployment({"architecture": "x86_64", "trigger": trigger, "log-retention-days": 90})
    template = Template.from_stack(d.functions)
    for resource in template.find_resources("AWS::Lambda::Function").values():
        assert resource["Properties"]["Architectures"] == ["x86_64"]
    for topic, group in (("crypto-trades", "score-trades"), ("crypto-orders", "score-orders")):
        props = mapping(template, topic, f"riskengine-{group}")  # orders-trigger defaults to trigger's defaults,
        assert props["BatchSize"] == (100 if topic == "crypto-trades" else 500)  # not to trigger's context value
    props = mapping(template, "crypto-trades", "riskengine-score-trades")
    assert props["MaximumBatchingWindowInSeconds"] == 5
    assert props["StartingPosition"] == "LATEST"
    assert props["ProvisionedPollerConfig"] == {"MinimumPollers": 2, "MaximumPollers": 8}
    assert props["MaximumRetryAttempts"] == 3
    assert {g["Properties"]["RetentionInDays"] for g in template.find_resources("AWS::Logs::LogGroup").values()} == {90}


def test_the_orders_trigger_has_settings_of_its_own_and_every_other_mapping_keeps_trigger_s() -> None:
    orders = {"batch_size": 2000, "batching_window_s": 2, "max_pollers": 6, "starting_position": "LATEST"}
    d = deployment({"orders-trigger": orders, "score-orders": {"memory_mb": 1024, "timeout_s": 60}})
    template = Template.from_stack(d.functions)
    props = mapping(template, "crypto-orders", "riskengine-score-orders")
    assert (props["BatchSize"], props["MaximumBatchingWindowInSeconds"], props["StartingPosition"]) == (
        2000,
        2,
        "LATEST",
    )
    assert props["ProvisionedPollerConfig"] == {"MinimumPollers": 1, "MaximumPollers": 6}
    for _, topic, group in TRIGGERS:
        if topic != "crypto-orders":
            assert mapping(template, topic, group)["BatchSize"] == 500, topic
    sized = function_resource(template, "score_orders")[1]["Properties"]
    assert (sized["MemorySize"], sized["Timeout"]) == (1024, 60)
    assert function_resource(template, "score_trades")[1]["Properties"]["MemorySize"] == 1769


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"orders-trigger": {"batch_size": 0}}, r"context orders-trigger.batch_size must be 1..10000, got 0"),
        ({"orders-trigger": {"batching_window_s": 301}}, r"context orders-trigger.batching_window_s must be 0..300"),
        ({"orders-trigger": {"min_pollers": 5, "max_pollers": 4}}, r"context orders-trigger needs 1 <= min_pollers"),
        ({"orders-trigger": {"starting_position": "AT_TIMESTAMP"}}, r"orders-trigger.starting_position must be"),
        ({"orders-trigger": {"batch": 10}}, r"context orders-trigger has an unusable value .*unknown keys \['batch'\]"),
        ({"trigger": {"batch_size": 10_001}}, r"context trigger.batch_size must be 1..10000, got 10001"),
        ({"score-orders": {"memory_mb": 64, "timeout_s": 60}}, r"context score-orders: memory 128..10240 MB"),
    ],
)
def test_bad_trigger_and_sizing_settings_name_their_context_key(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ContextError, match=message):
        DeploymentConfig.from_context(context.get)


# Functions that connect to the cache: they get elasticache:Connect on it as the engine's IAM user, no others do.
CACHE_USERS = ("score_trades", "score_orders", "dispatch_alerts")


@pytest.mark.parametrize("cache_mode", ["serverless", "replication-group"])
def test_no_function_environment_holds_a_secret_and_cache_users_may_connect_as_the_iam_user(cache_mode: str) -> None:
    d = deployment({"cache-mode": cache_mode})
    template = Template.from_stack(d.functions)
    for name in FUNCTIONS:
        variables = function_resource(template, name)[1]["Properties"]["Environment"]["Variables"]
        dumped_variables = json.dumps(variables)
        assert "resolve:secretsmanager" not in dumped_variables, name
        assert "resolve:ssm-secure" not in dumped_variables, name
        assert not re.search(r"(PASSWORD|TOKEN|SECRET)", " ".join(variables)), name
        if "REDIS_URL" in variables:  # rediss://HOST:PORT, no user or password part
            assert variables["REDIS_URL"] == here(d, d.state.redis_url), name
            assert "@" not in json.dumps(variables["REDIS_URL"]), name
        user_arn = f"arn:aws:elasticache:{TEST_REGION}:{TEST_ACCOUNT}:user:riskengine-engine"
        expected = [*dumped(d, [d.state.cache_arn]), json.dumps(user_arn)]
        connect = grants(template, name, "elasticache:")
        assert connect == ({"elasticache:Connect": sorted(expected)} if name in CACHE_USERS else {}), name
    assert d.findings(d.functions) == []


def test_dashboard_url_reaches_dispatch_alerts_and_must_be_https() -> None:
    d = deployment({"dashboard-url": "https://compliance.example.com/"})
    variables = function_resource(Template.from_stack(d.functions), "dispatch_alerts")[1]["Properties"]["Environment"]
    assert variables["Variables"]["DASHBOARD_URL"] == "https://compliance.example.com/"
    with pytest.raises(ContextError, match="dashboard-url must be empty or an https:// URL"):
        DeploymentConfig.from_context({"dashboard-url": "http://compliance.example.com"}.get)


@pytest.mark.parametrize("name", ["index_search", "report_api"])
def test_the_roles_fgac_maps_have_the_fixed_names_the_search_stack_expects(template: Template, name: str) -> None:
    role_id = function_resource(template, name)[1]["Properties"]["Role"]["Fn::GetAtt"][0]
    role = template.find_resources("AWS::IAM::Role")[role_id]
    assert role["Properties"]["RoleName"] == f"riskengine-{name.replace('_', '-')}"
