"""MonitoringStack over the real stacks: every alarm pages ops_topic, the dashboard shows what the issue asks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template
from standins import ENV, Deployment, deployment

from riskengine_infra.stacks.monitoring import PATTERNS, MonitoringStack

GB = 1024**3
LAG_GROUPS = {
    "score-trades": ("riskengine-score-trades", "crypto-trades"),
    "dispatch-alerts": ("riskengine-dispatch-alerts", "risk-alerts"),
    "index-search-analyzed": ("riskengine-index-search-analyzed", "risk-analyzed-trades"),
    "index-search-alerts": ("riskengine-index-search-alerts", "risk-alerts"),
}
SERVICES = ("score-trades", "dispatch-alerts", "index-search", "ingest-trade", "report-api")  # no simulator by default


def build(context: dict[str, Any] | None = None) -> tuple[Deployment, MonitoringStack, Template]:
    d = deployment(context)
    monitoring = MonitoringStack(
        d.app,
        "riskengine-monitoring",
        config=d.config,
        functions=d.functions,
        streaming=d.streaming,
        state=d.state,
        search=d.search,
        alerting=d.alerting,
        env=ENV,
    )
    d.synth()
    return d, monitoring, Template.from_stack(monitoring)


@pytest.fixture(scope="module")
def built() -> tuple[Deployment, MonitoringStack, Template]:
    return build()


@pytest.fixture(scope="module")
def replication_group() -> tuple[Deployment, MonitoringStack, Template]:
    """The other cache mode, with the thresholds moved off their defaults."""
    return build(
        {
            "cache-mode": "replication-group",
            "cache-memory-alarm-percent": 70,
            "offset-lag-alarm": 1000,
            "dead-letter-alarm": 5,
        }
    )


def alarm(template: Template, name: str) -> dict[str, Any]:
    found = template.find_resources("AWS::CloudWatch::Alarm", {"Properties": {"AlarmName": f"riskengine-{name}"}})
    assert len(found) == 1, name
    return next(iter(found.values()))["Properties"]


def dimensions(props: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in props["Dimensions"]}


def watched(props: dict[str, Any]) -> tuple[str, str, str, int, dict[str, Any]]:
    """(namespace, metric, statistic, period, dimensions) of a one-metric alarm, in either template form
    (a labelled metric is written as a ``Metrics`` list)."""
    if "Metrics" in props:
        (line,) = props["Metrics"]
        stat, metric = line["MetricStat"], line["MetricStat"]["Metric"]
        return metric["Namespace"], metric["MetricName"], stat["Stat"], stat["Period"], dimensions(metric)
    return props["Namespace"], props["MetricName"], props["Statistic"], props["Period"], dimensions(props)


def dashboard_metrics(template: Template) -> list[list[Any]]:
    """Every metric line of every graph, tokens (other stacks' names) read as ``"TOKEN"``."""
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    widgets = json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))["widgets"]
    return [line for w in widgets if w["type"] == "metric" for line in w["properties"].get("metrics", [])]


def test_every_alarm_notifies_ops_topic_when_raised_and_when_cleared(
    built: tuple[Deployment, MonitoringStack, Template],
) -> None:
    d, monitoring, template = built
    ops_topic = monitoring.resolve(d.alerting.ops_topic.topic_arn)
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == len(monitoring.alarms) == 4 + len(SERVICES) + 3 + 1 + 1  # one error alarm per function
    for props in (a["Properties"] for a in alarms.values()):
        assert props["AlarmActions"] == [ops_topic]
        assert props["OKActions"] == [ops_topic]
        assert props["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("name", sorted(LAG_GROUPS))
def test_consumer_lag_alarms_per_trigger_at_the_context_threshold(
    built: tuple[Deployment, MonitoringStack, Template], name: str
) -> None:
    props = alarm(built[2], f"consumer-lag-{name}")
    group, topic = LAG_GROUPS[name]
    dims = {"Cluster Name": "riskengine-kafka", "Consumer Group": group, "Topic": topic}
    assert watched(props) == ("AWS/Kafka", "SumOffsetLag", "Maximum", 300, dims)
    assert props["Threshold"] == 50_000
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (3, 3)


@pytest.mark.parametrize("service", SERVICES)
def test_every_function_has_an_error_alarm(built: tuple[Deployment, MonitoringStack, Template], service: str) -> None:
    d, monitoring, template = built
    props = alarm(template, f"errors-{service}")
    function = d.functions.functions[service.replace("-", "_")]
    dims = {"FunctionName": monitoring.resolve(function.function_name)}
    assert watched(props) == ("AWS/Lambda", "Errors", "Sum", 300, dims)
    assert props["Threshold"] == 1


@pytest.mark.parametrize(
    ("name", "metric", "service"),
    [
        ("dead-lettered-trades", "DeadLettered", "score-trades"),
        ("dead-lettered-documents", "DocumentsDeadLettered", "index-search"),
        ("undecodable-alerts", "AlertsUndecodable", "dispatch-alerts"),
    ],
)
def test_dead_lettered_records_raise_alarms_on_the_engine_s_emf_metrics(
    built: tuple[Deployment, MonitoringStack, Template], name: str, metric: str, service: str
) -> None:
    props = alarm(built[2], name)
    assert watched(props) == ("RiskEngine", metric, "Sum", 300, {"service": service})
    assert props["Threshold"] == 1


def test_the_serverless_cache_memory_alarm_is_in_bytes(built: tuple[Deployment, MonitoringStack, Template]) -> None:
    props = alarm(built[2], "cache-memory")
    dims = {"clusterId": "riskengine-cache"}
    assert watched(props) == ("AWS/ElastiCache", "BytesUsedForCache", "Maximum", 300, dims)
    assert props["Threshold"] == 10 * GB


def test_a_replication_group_gets_one_memory_alarm_per_shard_on_its_fullest_node(
    replication_group: tuple[Deployment, MonitoringStack, Template],
) -> None:
    _, monitoring, template = replication_group
    cache_alarms = sorted(name for name in monitoring.alarms if name.startswith("cache-"))
    assert cache_alarms == ["cache-memory-shard-1", "cache-memory-shard-2"]
    props = alarm(template, "cache-memory-shard-2")
    expression, *nodes = props["Metrics"]
    assert expression["Expression"] == "MAX([m0, m1])"
    assert props["Threshold"] == 70
    node_ids = [dimensions(n["MetricStat"]["Metric"])["CacheClusterId"] for n in nodes]
    assert node_ids == ["riskengine-cache-0002-001", "riskengine-cache-0002-002"]
    assert {n["MetricStat"]["Metric"]["MetricName"] for n in nodes} == {"DatabaseMemoryUsagePercentage"}


def test_opensearch_red_status_raises_an_alarm(built: tuple[Deployment, MonitoringStack, Template]) -> None:
    props = alarm(built[2], "search-red")
    namespace, metric, *_ = watched(props)
    assert (namespace, metric, props["Threshold"]) == ("AWS/ES", "ClusterStatus.red", 1)


def test_the_dashboard_shows_engine_pipeline_cache_and_search_metrics(
    built: tuple[Deployment, MonitoringStack, Template],
) -> None:
    lines = dashboard_metrics(built[2])
    named = {(line[0], line[1]) for line in lines if isinstance(line[0], str) and len(line) > 1}
    engine = {"TradesScored", "BatchLatencyMs", "DeadLettered", "DocumentsDeadLettered", "AlertsUndecodable"}
    engine |= {f"AlertsRaised_{pattern}" for pattern in PATTERNS}
    assert {("RiskEngine", metric) for metric in engine} <= named
    assert {("AWS/Kafka", "SumOffsetLag"), ("AWS/Lambda", "Errors"), ("AWS/Lambda", "Throttles")} <= named
    assert {("AWS/ElastiCache", "ElastiCacheProcessingUnits"), ("AWS/ElastiCache", "BytesUsedForCache")} <= named
    assert {("AWS/ES", "ClusterStatus.red"), ("AWS/ES", "ClusterStatus.yellow")} <= named
    scored = next(line for line in lines if line[1] == "TradesScored")
    assert scored[2:4] == ["service", "score-trades"]  # the dimension Powertools emits
    latency = [line[-1]["stat"] for line in lines if line[1] == "BatchLatencyMs"]
    assert sorted(latency) == ["p50", "p99"]
    assert sum(1 for line in lines if line[1] == "SumOffsetLag") == len(LAG_GROUPS)


def test_the_replication_group_dashboard_shows_engine_cpu_and_memory_per_node(
    replication_group: tuple[Deployment, MonitoringStack, Template],
) -> None:
    lines = dashboard_metrics(replication_group[2])
    cpu = [line for line in lines if line[1] == "EngineCPUUtilization"]
    memory = [line for line in lines if line[1] == "DatabaseMemoryUsagePercentage"]
    assert len(cpu) == len(memory) == 4  # 2 shards x (1 primary + 1 replica)


def test_cdk_nag_leaves_nothing_unacknowledged(
    built: tuple[Deployment, MonitoringStack, Template],
    replication_group: tuple[Deployment, MonitoringStack, Template],
) -> None:
    for d, monitoring, _ in (built, replication_group):
        assert d.findings(monitoring) == []


def test_the_thresholds_come_from_the_context(replication_group: tuple[Deployment, MonitoringStack, Template]) -> None:
    template = replication_group[2]
    assert alarm(template, "consumer-lag-score-trades")["Threshold"] == 1000
    assert alarm(template, "dead-lettered-trades")["Threshold"] == 5
