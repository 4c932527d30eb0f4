"""MonitoringStack over the real stacks: every alarm pages ops_topic, the dashboard shows what the issue asks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template
from standins import ENV, Deployment, deployment

from riskengine_infra.config import ContextError, DeploymentConfig
from riskengine_infra.stacks.api import ApiStack
from riskengine_infra.stacks.monitoring import ORDER_BOOK_PATTERNS, PATTERNS, RUNBOOK, TRIGGER_ERRORS, MonitoringStack

GB = 1024**3
LAG_GROUPS = {
    "score-trades": ("riskengine-score-trades", "crypto-trades"),
    "score-orders": ("riskengine-score-orders", "crypto-orders"),
    "dispatch-alerts": ("riskengine-dispatch-alerts", "risk-alerts"),
    "index-search-analyzed": ("riskengine-index-search-analyzed", "risk-analyzed-trades"),
    "index-search-alerts": ("riskengine-index-search-alerts", "risk-alerts"),
}
# No simulator by default.
SERVICES = ("score-trades", "score-orders", "dispatch-alerts", "index-search", "ingest-trade", "report-api")
ROOT = Path(__file__).resolve().parents[2]
# Missing data breaches these: MSK emits no lag for a group that is rebalancing or gone; no TradesScored is the fault.
BREACHING = {f"consumer-lag-{g}" for g in LAG_GROUPS} | {f"consumer-time-lag-{g}" for g in LAG_GROUPS}
BREACHING |= {"trades-heartbeat"}


def build(context: dict[str, Any] | None = None) -> tuple[Deployment, MonitoringStack, Template]:
    d = deployment(context)
    api = ApiStack(d.app, "riskengine-api", config=d.config, functions=d.functions, env=ENV)
    monitoring = MonitoringStack(
        d.app,
        "riskengine-monitoring",
        config=d.config,
        functions=d.functions,
        streaming=d.streaming,
        state=d.state,
        search=d.search,
        alerting=d.alerting,
        api=api,
        env=ENV,
    )
    d.synth()
    return d, monitoring, Template.from_stack(monitoring)


@pytest.fixture(scope="module")
def built() -> tuple[Deployment, MonitoringStack, Template]:
    return build()


@pytest.fixture(scope="module")
def replication_group() -> tuple[Deployment, MonitoringStack, Template]:
    """The other cache mode and MSK Serverless, with the thresholds moved off their defaults."""
    return build(
        {
            "cache-mode": "replication-group",
            "msk-mode": "serverless",
            "cache-memory-alarm-percent": 70,
            "offset-lag-alarm": 1000,
            "offset-time-lag-alarm-s": 120,
            "trades-heartbeat-minutes": 30,
            "api-5xx-alarm": 20,
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


def runbook_anchors() -> set[str]:
    """GitHub's anchors of docs/runbook.md's headings."""
    headings = re.findall(r"^#+ (.+)$", (ROOT / RUNBOOK).read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("variant", ["built", "replication_group"])
def test_every_alarm_notifies_ops_topic_and_points_at_its_runbook_section(
    request: pytest.FixtureRequest, variant: str
) -> None:
    d, monitoring, template = request.getfixturevalue(variant)
    ops_topic = monitoring.resolve(d.alerting.ops_topic.topic_arn)
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == len(monitoring.alarms)
    anchors = runbook_anchors()
    for name, props in ((n, alarm(template, n)) for n in monitoring.alarms):
        assert props["AlarmActions"] == [ops_topic]
        assert props["OKActions"] == [ops_topic]
        assert props["TreatMissingData"] == ("breaching" if name in BREACHING else "notBreaching"), name
        anchor = props["AlarmDescription"].rsplit(f"Runbook: {RUNBOOK}#", 1)[1]
        assert anchor in anchors, (name, anchor)


def test_the_alarms_are_the_ones_the_issue_asks_for(built: tuple[Deployment, MonitoringStack, Template]) -> None:
    names = set(built[1].alarms)
    per_group = {"consumer-lag", "consumer-time-lag", "trigger-failures", "trigger-dropped", "trigger-errors"}
    expected = {f"{kind}-{group}" for kind in per_group for group in LAG_GROUPS}
    expected |= {f"{kind}-{service}" for kind in ("errors", "throttles") for service in SERVICES}
    expected |= {"dead-lettered-trades", "dead-lettered-orders", "dead-lettered-documents", "undecodable-alerts"}
    expected |= {"trades-heartbeat", "batch-failures-score-trades", "batch-failures-score-orders"}
    expected |= {"delivery-failures-dispatch-alerts", "indexing-failures-index-search"}
    expected |= {f"kafka-{kind}-broker-{b}" for kind in ("disk", "under-replicated") for b in (1, 2, 3)}
    expected |= {"search-red", "search-free-storage", "search-writes-blocked", "search-jvm-pressure", "api-5xx"}
    expected |= {"sns-failed-alerts", "sns-failed-ops", "cache-memory", "cache-throttledcmds", "cache-evictions"}
    assert names == expected


@pytest.mark.parametrize("name", sorted(LAG_GROUPS))
def test_consumer_lag_alarms_per_trigger_at_the_context_threshold(
    built: tuple[Deployment, MonitoringStack, Template], name: str
) -> None:
    group, topic = LAG_GROUPS[name]
    dims = {"Cluster Name": "riskengine-kafka", "Consumer Group": group, "Topic": topic}
    for alarm_name, metric, threshold in (
        (f"consumer-lag-{name}", "SumOffsetLag", 50_000),
        (f"consumer-time-lag-{name}", "EstimatedMaxTimeLag", 300),
    ):
        props = alarm(built[2], alarm_name)
        assert watched(props) == ("AWS/Kafka", metric, "Maximum", 300, dims)
        assert props["Threshold"] == threshold
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (3, 3)
        assert props["TreatMissingData"] == "breaching"  # no lag reported: the group is rebalancing or gone


def test_the_heartbeat_pages_when_no_trade_is_scored(built: tuple[Deployment, MonitoringStack, Template]) -> None:
    props = alarm(built[2], "trades-heartbeat")
    assert watched(props) == ("RiskEngine", "TradesScored", "Sum", 900, {"service": "score-trades"})
    assert (props["ComparisonOperator"], props["Threshold"]) == ("LessThanThreshold", 1)
    assert props["TreatMissingData"] == "breaching"


@pytest.mark.parametrize(
    ("name", "metric", "service"),
    [
        ("batch-failures-score-trades", "BatchFailures", "score-trades"),
        ("batch-failures-score-orders", "BatchFailures", "score-orders"),
        ("delivery-failures-dispatch-alerts", "DeliveryFailures", "dispatch-alerts"),
        ("indexing-failures-index-search", "IndexingFailures", "index-search"),
    ],
)
def test_the_handlers_failure_metrics_raise_alarms(
    built: tuple[Deployment, MonitoringStack, Template], name: str, metric: str, service: str
) -> None:
    props = alarm(built[2], name)
    assert watched(props) == ("RiskEngine", metric, "Sum", 300, {"service": service})
    assert props["Threshold"] == 1


def mapping_ids(d: Deployment) -> dict[str, str]:
    """Consumer group (short) -> the logical id of its event source mapping in the functions stack."""
    resources = Template.from_stack(d.functions).find_resources("AWS::Lambda::EventSourceMapping")
    return {
        m["Properties"]["AmazonManagedKafkaEventSourceConfig"]["ConsumerGroupId"].removeprefix("riskengine-"): key
        for key, m in resources.items()
    }


@pytest.mark.parametrize("name", sorted(LAG_GROUPS))
def test_each_trigger_pages_on_writes_to_its_failure_topic_drops_and_poller_errors(
    built: tuple[Deployment, MonitoringStack, Template], name: str
) -> None:
    d, _, template = built
    mapping = mapping_ids(d)[name]
    for alarm_name, metric in (
        (f"trigger-failures-{name}", "OnFailureDestinationDeliveredEventCount"),
        (f"trigger-dropped-{name}", "DroppedEventCount"),
    ):
        props = alarm(template, alarm_name)
        namespace, metric_name, statistic, period, dims = watched(props)
        assert (namespace, metric_name, statistic, period, props["Threshold"]) == (
            "AWS/Lambda",
            metric,
            "Sum",
            300,
            1,
        )
        # The mapping's UUID read at deployment from the functions stack's outputs: no export pins the mapping.
        output = dims["EventSourceMappingUUID"]["Fn::GetStackOutput"]
        assert output["StackName"] == "riskengine-functions"
        assert output["OutputName"].startswith(f"PublishOutputRef{mapping[:12]}")
    props = alarm(template, f"trigger-errors-{name}")
    expression, *metrics = props["Metrics"]
    assert expression["Expression"] == " + ".join(f"FILL(m{i}, 0)" for i in range(len(TRIGGER_ERRORS)))
    assert [m["MetricStat"]["Metric"]["MetricName"] for m in metrics] == list(TRIGGER_ERRORS)
    assert props["Threshold"] == 1


def test_the_monitoring_stack_imports_nothing_from_the_functions_stack(
    built: tuple[Deployment, MonitoringStack, Template],
) -> None:
    imports = [v for v in json.dumps(built[2].to_json()).split('"Fn::ImportValue": ')[1:]]
    assert not [i for i in imports if i.startswith('"riskengine-functions')]


@pytest.mark.parametrize("broker", [1, 2, 3])
def test_each_broker_pages_on_disk_use_and_under_replicated_partitions(
    built: tuple[Deployment, MonitoringStack, Template], broker: int
) -> None:
    dims = {"Cluster Name": "riskengine-kafka", "Broker ID": str(broker)}
    disk = alarm(built[2], f"kafka-disk-broker-{broker}")
    assert watched(disk) == ("AWS/Kafka", "KafkaDataLogsDiskUsed", "Maximum", 300, dims)
    assert disk["Threshold"] == 85
    replication = alarm(built[2], f"kafka-under-replicated-broker-{broker}")
    assert watched(replication) == ("AWS/Kafka", "UnderReplicatedPartitions", "Maximum", 300, dims)
    assert (replication["Threshold"], replication["EvaluationPeriods"]) == (1, 3)


def test_msk_serverless_has_no_broker_alarms(replication_group: tuple[Deployment, MonitoringStack, Template]) -> None:
    assert not [name for name in replication_group[1].alarms if name.startswith("kafka-")]


@pytest.mark.parametrize(
    ("name", "metric", "statistic", "period", "comparison", "threshold", "periods"),
    [
        ("search-free-storage", "FreeStorageSpace", "Minimum", 60, "LessThanOrEqualToThreshold", 200 * 1024 // 4, 1),
        ("search-writes-blocked", "ClusterIndexWritesBlocked", "Maximum", 300, "GreaterThanOrEqualToThreshold", 1, 1),
        ("search-jvm-pressure", "JVMMemoryPressure", "Maximum", 60, "GreaterThanOrEqualToThreshold", 95, 3),
    ],
)
def test_opensearch_health_alarms_follow_its_recommended_alarms(
    built: tuple[Deployment, MonitoringStack, Template],
    name: str,
    metric: str,
    statistic: str,
    period: int,
    comparison: str,
    threshold: int,
    periods: int,
) -> None:
    props = alarm(built[2], name)
    namespace, metric_name, stat, seconds, _ = watched(props)
    assert (namespace, metric_name, stat, seconds) == ("AWS/ES", metric, statistic, period)
    assert (props["ComparisonOperator"], props["Threshold"], props["EvaluationPeriods"]) == (
        comparison,
        threshold,
        periods,
    )


def test_api_5xx_and_failed_sns_deliveries_raise_alarms(built: tuple[Deployment, MonitoringStack, Template]) -> None:
    d, monitoring, template = built
    api = alarm(template, "api-5xx")
    assert watched(api) == ("AWS/ApiGateway", "5XXError", "Sum", 300, {"ApiName": "riskengine-api"})
    assert api["Threshold"] == 5
    for name, topic in (("alerts", d.alerting.alerts_topic), ("ops", d.alerting.ops_topic)):
        props = alarm(template, f"sns-failed-{name}")
        dims = {"TopicName": monitoring.resolve(topic.topic_name)}
        assert watched(props) == ("AWS/SNS", "NumberOfNotificationsFailed", "Sum", 300, dims)
        assert props["Threshold"] == 1


@pytest.mark.parametrize("service", SERVICES)
def test_every_function_has_a_throttle_alarm(built: tuple[Deployment, MonitoringStack, Template], service: str) -> None:
    props = alarm(built[2], f"throttles-{service}")
    assert watched(props) == ("AWS/Lambda", "Throttles", "Sum", 300, {"FunctionName": f"riskengine-{service}"})
    assert props["Threshold"] == 1


@pytest.mark.parametrize("metric", ["ThrottledCmds", "Evictions"])
def test_the_serverless_cache_pages_on_throttled_commands_and_evictions(
    built: tuple[Deployment, MonitoringStack, Template], metric: str
) -> None:
    props = alarm(built[2], f"cache-{metric.lower()}")
    assert watched(props) == ("AWS/ElastiCache", metric, "Sum", 300, {"clusterId": "riskengine-cache"})
    assert props["Threshold"] == 1


def test_a_replication_group_pages_per_shard_on_evictions_and_a_saturated_engine(
    replication_group: tuple[Deployment, MonitoringStack, Template],
) -> None:
    template = replication_group[2]
    for name, expression, metric, threshold in (
        ("cache-evictions-shard-1", "SUM([m0, m1])", "Evictions", 1),
        ("cache-engine-cpu-shard-2", "MAX([m0, m1])", "EngineCPUUtilization", 90),
    ):
        props = alarm(template, name)
        math, *nodes = props["Metrics"]
        assert math["Expression"] == expression
        assert {n["MetricStat"]["Metric"]["MetricName"] for n in nodes} == {metric}
        assert props["Threshold"] == threshold


@pytest.mark.parametrize("service", SERVICES)
def test_every_function_has_an_error_alarm(built: tuple[Deployment, MonitoringStack, Template], service: str) -> None:
    props = alarm(built[2], f"errors-{service}")
    assert watched(props) == ("AWS/Lambda", "Errors", "Sum", 300, {"FunctionName": f"riskengine-{service}"})
    assert props["Threshold"] == 1


@pytest.mark.parametrize(
    ("name", "metric", "service"),
    [
        ("dead-lettered-trades", "DeadLettered", "score-trades"),
        ("dead-lettered-orders", "DeadLettered", "score-orders"),
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
    assert cache_alarms == [
        f"cache-{kind}-shard-{shard}" for kind in ("engine-cpu", "evictions", "memory") for shard in (1, 2)
    ]
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
    latency = [(line[3], line[-1]["stat"]) for line in lines if line[1] == "BatchLatencyMs"]
    assert sorted(latency) == [(f"score-{what}", stat) for what in ("orders", "trades") for stat in ("p50", "p99")]
    order_book = {(line[1], line[3]) for line in lines if line[1].removeprefix("AlertsRaised_") in ORDER_BOOK_PATTERNS}
    # a trade can complete a match too (the opposite-side trade that arrives after the cancel)
    scoring = ("score-trades", "score-orders")
    assert order_book == {(f"AlertsRaised_{p}", service) for p in ORDER_BOOK_PATTERNS for service in scoring}
    dead = {line[3] for line in lines if line[1] == "DeadLettered"}
    assert dead == {"score-trades", "score-orders"}
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


@pytest.mark.parametrize(
    ("key", "value"),
    [("offset_time_lag_alarm_s", 0), ("trades_heartbeat_minutes", 0), ("trades_heartbeat_minutes", 1441)],
)
def test_monitoring_settings_cloudwatch_cannot_use_are_refused(key: str, value: int) -> None:
    with pytest.raises(ContextError, match=key.replace("_", "-")):
        DeploymentConfig(**{key: value}).validate()  # type: ignore[arg-type]


def test_the_thresholds_come_from_the_context(replication_group: tuple[Deployment, MonitoringStack, Template]) -> None:
    template = replication_group[2]
    assert alarm(template, "consumer-lag-score-trades")["Threshold"] == 1000
    assert alarm(template, "consumer-time-lag-score-trades")["Threshold"] == 120
    assert alarm(template, "trades-heartbeat")["Period"] == 30 * 60
    assert alarm(template, "api-5xx")["Threshold"] == 20
    assert alarm(template, "dead-lettered-trades")["Threshold"] == 5
