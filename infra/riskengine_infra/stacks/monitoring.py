"""The operations dashboard and the alarms that page ``ops_topic``.

Engine metrics are the handlers' EMF metrics (namespace ``RiskEngine``, dimension ``service`` = the Powertools
service name, riskengine/observability.py). Consumer lag is MSK's ``SumOffsetLag`` per consumer group and topic:
what Lambda's ``OffsetLag`` measures (records behind, over all partitions), one series per trigger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from constructs import Construct

from riskengine_infra.config import DeploymentConfig
from riskengine_infra.stacks.functions import NAMESPACE, service_name

if TYPE_CHECKING:
    from riskengine_infra.stacks.alerting import AlertingStack
    from riskengine_infra.stacks.functions import FunctionsStack, Trigger
    from riskengine_infra.stacks.search import SearchStack
    from riskengine_infra.stacks.state import StateStack
    from riskengine_infra.stacks.streaming import StreamingStack

__all__ = ["DEAD_LETTERS", "PATTERNS", "MonitoringStack"]

PATTERNS = ("WASH_TRADING", "VOLUME_SPIKE", "LARGE_ORDER", "FLASH_CRASH", "RAPID_BURST")
# alarm name -> (EMF metric, function emitting it): records set aside instead of processed.
DEAD_LETTERS = {
    "dead-lettered-trades": ("DeadLettered", "score_trades"),
    "dead-lettered-documents": ("DocumentsDeadLettered", "index_search"),
    "undecodable-alerts": ("AlertsUndecodable", "dispatch_alerts"),
}
FIVE_MINUTES = cdk.Duration.minutes(5)
GB = 1024**3


def engine_metric(name: str, function: str, statistic: str = "Sum") -> cw.Metric:
    return cw.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={"service": service_name(function)},
        statistic=statistic,
        period=cdk.Duration.minutes(1),
    )


class MonitoringStack(cdk.Stack):
    """``dashboard`` and ``alarms`` (by name, without the prefix), every alarm notifying ``ops_topic``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        functions: FunctionsStack,
        streaming: StreamingStack,
        state: StateStack,
        search: SearchStack,
        alerting: AlertingStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._config, self._functions, self._streaming = config, functions, streaming
        self._action = cw_actions.SnsAction(alerting.ops_topic)
        self.alarms: dict[str, cw.Alarm] = {}
        cache_cpu, cache_memory = self._cache_metrics(state)
        lag = {trigger.group: self._lag(trigger) for trigger in functions.triggers}
        red, yellow = search.domain.metric_cluster_status_red(), search.domain.metric_cluster_status_yellow()
        self._alarm_on_lag(lag)
        self._alarm_on_errors()
        self._alarm_on_dead_letters()
        self._alarm_on_cache(state, cache_memory)
        self._alarm("search-red", red, 1, "OpenSearch cluster status red: a primary shard is unassigned")
        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"{config.prefix}-operations")
        self.dashboard.add_widgets(
            cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24, height=4)
        )
        self.dashboard.add_widgets(*self._engine_widgets())
        self.dashboard.add_widgets(*self._pipeline_widgets(lag))
        self.dashboard.add_widgets(
            _graph("Cache CPU", cache_cpu),
            _graph("Cache memory", cache_memory),
            _graph("OpenSearch cluster status (1 = in that state)", [red, yellow]),
        )

    # --- metrics ---------------------------------------------------------------------------------------

    def _lag(self, trigger: Trigger) -> cw.Metric:
        return cw.Metric(
            namespace="AWS/Kafka",
            metric_name="SumOffsetLag",
            dimensions_map={
                "Cluster Name": self._streaming.cluster_name,
                "Consumer Group": trigger.group,
                "Topic": trigger.topic,
            },
            statistic="Maximum",
            period=cdk.Duration.minutes(1),
            label=f"{trigger.group} on {trigger.topic}",
        )

    def _cache_metrics(self, state: StateStack) -> tuple[list[cw.IMetric], list[cw.IMetric]]:
        """(CPU, memory) series: the serverless cache's own, or every node's of the replication group."""
        if self._config.cache_mode == "serverless":
            cpu = _cache_metric("ElastiCacheProcessingUnits", "clusterId", state.cache_name, "Sum")
            memory = _cache_metric("BytesUsedForCache", "clusterId", state.cache_name, "Maximum")
            return [cpu], [memory]
        nodes = [node for shard in self._shards(state) for node in shard]
        cpu_per_node = [_cache_metric("EngineCPUUtilization", "CacheClusterId", node, "Maximum") for node in nodes]
        memory_per_node = [
            _cache_metric("DatabaseMemoryUsagePercentage", "CacheClusterId", node, "Maximum") for node in nodes
        ]
        return cpu_per_node, memory_per_node

    def _shards(self, state: StateStack) -> list[list[str]]:
        """Node ids of the cluster-mode replication group per shard, as ElastiCache names them (``NAME-0001-001``)."""
        config = self._config
        return [
            [f"{state.cache_name}-{shard:04d}-{node:03d}" for node in range(1, config.cache_replicas + 2)]
            for shard in range(1, config.cache_shards + 1)
        ]

    # --- alarms ----------------------------------------------------------------------------------------

    def _alarm(
        self, name: str, metric: cw.IMetric, threshold: float, description: str, *, periods: int = 1
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            "".join(part.title() for part in name.split("-")) + "Alarm",
            alarm_name=f"{self._config.prefix}-{name}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,  # no traffic is not a fault
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms[name] = alarm
        return alarm

    def _alarm_on_lag(self, lag: dict[str, cw.Metric]) -> None:
        for group, metric in lag.items():
            self._alarm(
                f"consumer-lag-{group.removeprefix(f'{self._config.prefix}-')}",
                metric.with_(period=FIVE_MINUTES),
                self._config.offset_lag_alarm,
                f"consumer group {group} is {self._config.offset_lag_alarm}+ records behind for 15 minutes",
                periods=3,  # a burst drains within minutes; a stuck or slow consumer does not
            )

    def _alarm_on_errors(self) -> None:
        for name, function in self._functions.functions.items():
            service = service_name(name)
            self._alarm(
                f"errors-{service}",
                function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                1,
                f"{self._config.prefix}-{service} failed (a trigger retries the batch; an API answered 5xx)",
            )

    def _alarm_on_dead_letters(self) -> None:
        for name, (metric, function) in DEAD_LETTERS.items():
            self._alarm(
                name,
                engine_metric(metric, function).with_(period=FIVE_MINUTES),
                self._config.dead_letter_alarm,
                f"{metric} of {service_name(function)}: records set aside on their dead-letter topic",
            )

    def _alarm_on_cache(self, state: StateStack, memory: list[cw.IMetric]) -> None:
        config = self._config
        if config.cache_mode == "serverless":
            self._alarm(
                "cache-memory",
                memory[0].with_(period=FIVE_MINUTES),
                config.cache_memory_alarm_gb * GB,
                f"the serverless cache holds {config.cache_memory_alarm_gb}+ GB (context cache-memory-alarm-gb)",
            )
            return
        for index, nodes in enumerate(self._shards(state), start=1):
            worst = cw.MathExpression(
                expression=f"MAX([{', '.join(f'm{i}' for i in range(len(nodes)))}])",
                using_metrics={
                    f"m{i}": _cache_metric("DatabaseMemoryUsagePercentage", "CacheClusterId", node, "Maximum")
                    for i, node in enumerate(nodes)
                },
                period=FIVE_MINUTES,
                label=f"shard {index}: fullest node",
            )
            self._alarm(
                f"cache-memory-shard-{index}",
                worst,
                config.cache_memory_alarm_percent,
                f"a node of shard {index} uses {config.cache_memory_alarm_percent}+ % of its memory",
            )

    # --- dashboard -------------------------------------------------------------------------------------

    def _engine_widgets(self) -> list[cw.IWidget]:
        latency = [engine_metric("BatchLatencyMs", "score_trades", stat) for stat in ("p50", "p99")]
        alerts = [engine_metric(f"AlertsRaised_{pattern}", "score_trades") for pattern in PATTERNS]
        return [
            _graph("Trades scored (per minute)", [engine_metric("TradesScored", "score_trades")]),
            _graph("Batch latency (ms)", latency),
            _graph("Alerts raised per pattern", alerts),
        ]

    def _pipeline_widgets(self, lag: dict[str, cw.Metric]) -> list[cw.IWidget]:
        functions = self._functions.functions.values()
        dead = [engine_metric(metric, function) for metric, function in DEAD_LETTERS.values()]
        return [
            _graph("Dead-lettered records", dead, width=6),
            _graph("Consumer lag (records behind)", list(lag.values()), width=6),
            _graph("Lambda errors", [f.metric_errors(statistic="Sum") for f in functions], width=6),
            _graph("Lambda throttles", [f.metric_throttles(statistic="Sum") for f in functions], width=6),
        ]


def _cache_metric(name: str, dimension: str, value: str, statistic: str) -> cw.Metric:
    return cw.Metric(
        namespace="AWS/ElastiCache",
        metric_name=name,
        dimensions_map={dimension: value},
        statistic=statistic,
        period=cdk.Duration.minutes(1),
        label=f"{name} {value}",
    )


def _graph(title: str, metrics: list[cw.IMetric], *, width: int = 8) -> cw.GraphWidget:
    return cw.GraphWidget(title=title, left=metrics, width=width, height=6)
