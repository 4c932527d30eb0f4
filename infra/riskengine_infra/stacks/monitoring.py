"""The operations dashboard and the alarms that page ``ops_topic``; each alarm's description names its section of
docs/runbook.md.

Engine metrics are the handlers' EMF metrics (namespace ``RiskEngine``, the one dimension ``service`` = the
Powertools service name, riskengine/observability.py). Consumer lag is MSK's ``SumOffsetLag`` and
``EstimatedMaxTimeLag`` per consumer group and topic, one series per trigger; MSK stops emitting them for a group
that is rebalancing or gone, so missing data breaches. The triggers' own metrics (``AWS/Lambda``, dimension
``EventSourceMappingUUID``; the mappings' MetricsConfig ``EventCount`` and ``ErrorCount`` groups) say what was
written to the on-failure topic (``OnFailureDestinationDeliveredEventCount``), lost (``DroppedEventCount``) or
failed in the poller. A mapping's UUID is read as a weak reference (``Fn::GetStackOutput``), not an export: an
export would block replacing the mapping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from riskengine_infra.config import DeploymentConfig
from riskengine_infra.stacks.functions import NAMESPACE, service_name

if TYPE_CHECKING:
    from riskengine_infra.stacks.alerting import AlertingStack
    from riskengine_infra.stacks.api import ApiStack
    from riskengine_infra.stacks.functions import FunctionsStack, Trigger
    from riskengine_infra.stacks.search import SearchStack
    from riskengine_infra.stacks.state import StateStack
    from riskengine_infra.stacks.streaming import StreamingStack

__all__ = [
    "DEAD_LETTERS",
    "FAILURES",
    "ORDER_BOOK_PATTERNS",
    "PATTERNS",
    "RUNBOOK",
    "SCORING",
    "TRIGGER_ERRORS",
    "MonitoringStack",
]

PATTERNS = ("WASH_TRADING", "VOLUME_SPIKE", "LARGE_ORDER", "FLASH_CRASH", "RAPID_BURST")
# Raised by the event that completes a match: an order event (score_orders) or a trade (score_trades).
ORDER_BOOK_PATTERNS = ("SPOOFING", "LAYERING", "EXCESSIVE_CANCELS")
SCORING = ("score_trades", "score_orders")  # the functions that run the engine, one per input topic
# alarm name -> (EMF metric, function emitting it): records set aside instead of processed.
DEAD_LETTERS = {
    "dead-lettered-trades": ("DeadLettered", "score_trades"),
    "dead-lettered-orders": ("DeadLettered", "score_orders"),
    "dead-lettered-documents": ("DocumentsDeadLettered", "index_search"),
    "undecodable-alerts": ("AlertsUndecodable", "dispatch_alerts"),
}
# (alarm name, EMF metric, function emitting it): a batch (or its records) reported back for a retry; the alarm is
# named after the function too.
FAILURES = (
    ("batch-failures", "BatchFailures", "score_trades"),
    ("batch-failures", "BatchFailures", "score_orders"),
    ("delivery-failures", "DeliveryFailures", "dispatch_alerts"),
    ("indexing-failures", "IndexingFailures", "index_search"),
)
# The Kafka mappings' ErrorCount metrics (emitted only when an error happens): poller-side failures.
TRIGGER_ERRORS = ("PollingErrorCount", "InvokeErrorCount", "CommitErrorCount", "OnFailureDestinationDeliveryErrorCount")
RUNBOOK = "docs/runbook.md"
FIVE_MINUTES = cdk.Duration.minutes(5)
ONE_MINUTE = cdk.Duration.minutes(1)
GB = 1024**3
MB = 1024**2
KAFKA_DISK_PERCENT = 85  # storage auto-scaling keeps brokers near broker-storage-target-percent: 85 % means it cannot
JVM_PRESSURE_PERCENT = 95  # OpenSearch's recommended alarm: 95 % for three minutes
CACHE_CPU_PERCENT = 90  # a replication group has no throttling metric: a saturated engine thread is its equivalent


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
        api: ApiStack,
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
        self._alarm_on_handler_failures()
        self._alarm_on_triggers()
        self._alarm_on_cache(state, cache_memory)
        self._alarm_on_kafka()
        self._alarm_on_search(search, red)
        self._alarm_on_delivery(alerting, api)
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

    def _lag(self, trigger: Trigger, name: str = "SumOffsetLag") -> cw.Metric:
        return cw.Metric(
            namespace="AWS/Kafka",
            metric_name=name,
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
        self,
        name: str,
        metric: cw.IMetric,
        threshold: float,
        description: str,
        *,
        anchor: str,
        periods: int = 1,
        missing: cw.TreatMissingData = cw.TreatMissingData.NOT_BREACHING,  # mostly, no traffic is not a fault
        comparison: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            "".join(part.title() for part in name.split("-")) + "Alarm",
            alarm_name=f"{self._config.prefix}-{name}",
            alarm_description=f"{description}. Runbook: {RUNBOOK}#{anchor}",
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms[name] = alarm
        return alarm

    def _alarm_on_lag(self, lag: dict[str, cw.Metric]) -> None:
        config = self._config
        for trigger in self._functions.triggers:
            group, short = trigger.group, self._short(trigger.group)
            self._alarm(
                f"consumer-lag-{short}",
                lag[group].with_(period=FIVE_MINUTES),
                config.offset_lag_alarm,
                f"consumer group {group} is {config.offset_lag_alarm}+ records behind on {trigger.topic} for 15 "
                "minutes, or MSK reports no lag for it (group rebalancing, stopped or gone)",
                anchor="consumer-lag",
                periods=3,  # a burst drains within minutes; a stuck or slow consumer does not
                missing=cw.TreatMissingData.BREACHING,
            )
            self._alarm(
                f"consumer-time-lag-{short}",
                self._lag(trigger, "EstimatedMaxTimeLag").with_(period=FIVE_MINUTES),
                config.offset_time_lag_alarm_s,
                f"consumer group {group} is {config.offset_time_lag_alarm_s}+ s behind on {trigger.topic} for 15 "
                "minutes (MSK EstimatedMaxTimeLag), or MSK reports no lag for it",
                anchor="consumer-lag",
                periods=3,
                missing=cw.TreatMissingData.BREACHING,
            )
        heartbeat = cdk.Duration.minutes(config.trades_heartbeat_minutes)
        self._alarm(
            "trades-heartbeat",
            engine_metric("TradesScored", "score_trades").with_(period=heartbeat),
            1,
            f"score-trades scored no trade in {config.trades_heartbeat_minutes} minutes: trades stopped arriving "
            "or the trigger stopped invoking the function",
            anchor="trades-heartbeat",
            missing=cw.TreatMissingData.BREACHING,
            comparison=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
        )

    def _alarm_on_errors(self) -> None:
        for name in self._functions.functions:
            service, function_name = service_name(name), self._function_name(name)
            self._alarm(
                f"errors-{service}",
                _lambda_metric("Errors", function_name),
                1,
                f"{function_name} failed: a trigger retries the batch up to trigger.retry_attempts times, then "
                "writes it to the trigger failure topic; an API answered 5xx",
                anchor="function-errors",
            )
            self._alarm(
                f"throttles-{service}",
                _lambda_metric("Throttles", function_name),
                1,
                f"{function_name} was throttled (concurrency limit): its trigger falls behind, its API answers 429",
                anchor="function-throttles",
            )

    def _alarm_on_dead_letters(self) -> None:
        for name, (metric, function) in DEAD_LETTERS.items():
            self._alarm(
                name,
                engine_metric(metric, function).with_(period=FIVE_MINUTES),
                self._config.dead_letter_alarm,
                f"{metric} of {service_name(function)}: records set aside on their dead-letter topic",
                anchor="dead-letters",
            )

    def _alarm_on_handler_failures(self) -> None:
        for name, metric, function in FAILURES:
            self._alarm(
                f"{name}-{service_name(function)}",
                engine_metric(metric, function).with_(period=FIVE_MINUTES),
                1,
                f"{metric} of {service_name(function)}: records reported back to the trigger for a retry (see the "
                "function's log for the failure)",
                anchor="handler-failures",
            )

    def _alarm_on_triggers(self) -> None:
        """Per mapping: records written to the trigger failure topic, records lost, poller errors."""
        failures_topic = self._streaming.topics.trigger_failures
        for trigger in self._functions.triggers:
            short, uuid = self._short(trigger.group), self._mapping_uuid(trigger)
            self._alarm(
                f"trigger-failures-{short}",
                _mapping_metric("OnFailureDestinationDeliveredEventCount", uuid),
                1,
                f"the trigger of {service_name(trigger.function)} on {trigger.topic} gave up on records after "
                f"trigger.retry_attempts retries and wrote them to {failures_topic}: fix the cause, then "
                "riskengine redrive",
                anchor="trigger-failures",
            )
            self._alarm(
                f"trigger-dropped-{short}",
                _mapping_metric("DroppedEventCount", uuid),
                1,
                f"the trigger of {service_name(trigger.function)} on {trigger.topic} dropped records: writing them "
                f"to {failures_topic} failed too",
                anchor="trigger-dropped",
            )
            errors = {f"m{i}": _mapping_metric(metric, uuid) for i, metric in enumerate(TRIGGER_ERRORS)}
            self._alarm(
                f"trigger-errors-{short}",
                cw.MathExpression(
                    # Each is emitted only when an error happens: an absent one counts as none.
                    expression=" + ".join(f"FILL({m}, 0)" for m in errors),
                    using_metrics=errors,
                    period=FIVE_MINUTES,
                    label=f"{trigger.group}: poller errors",
                ),
                1,
                f"the trigger of {service_name(trigger.function)} on {trigger.topic} failed to poll, invoke, commit "
                f"or write to {failures_topic} ({', '.join(TRIGGER_ERRORS)})",
                anchor="trigger-errors",
            )

    def _alarm_on_kafka(self) -> None:
        """Per broker of a provisioned cluster (MSK Serverless manages its own storage and replication)."""
        count = self._streaming.broker_count
        if count is None:
            return
        for broker in range(1, count + 1):  # MSK numbers a provisioned cluster's brokers from 1
            self._alarm(
                f"kafka-disk-broker-{broker}",
                self._broker_metric("KafkaDataLogsDiskUsed", broker),
                KAFKA_DISK_PERCENT,
                f"broker {broker} uses {KAFKA_DISK_PERCENT}+ % of its disk: storage auto-scaling is at "
                "broker-volume-max-gb or in its six-hour cool-down",
                anchor="kafka-disk",
            )
            self._alarm(
                f"kafka-under-replicated-broker-{broker}",
                self._broker_metric("UnderReplicatedPartitions", broker),
                1,
                f"broker {broker} has under-replicated partitions for 15 minutes (longer than a rolling restart)",
                anchor="kafka-under-replicated",
                periods=3,
            )

    def _alarm_on_search(self, search: SearchStack, red: cw.Metric) -> None:
        config = self._config
        self._alarm(
            "search-red",
            red,
            1,
            "OpenSearch cluster status red: a primary shard is unassigned",
            anchor="search-red",
        )
        free_mb = config.search_volume_gb * 1024 // 4  # OpenSearch's advice: a quarter of each node's storage
        self._alarm(
            "search-free-storage",
            search.domain.metric_free_storage_space(statistic="Minimum", period=ONE_MINUTE),
            free_mb,
            f"an OpenSearch data node has {free_mb} MiB or less free (25 % of search-volume-gb); at 5 % or less "
            "OpenSearch blocks writes",
            anchor="search-free-storage",
            comparison=cw.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
        )
        self._alarm(
            "search-writes-blocked",
            search.domain.metric_cluster_index_writes_blocked(statistic="Maximum", period=FIVE_MINUTES),
            1,
            "OpenSearch blocks index writes (ClusterBlockException): index_search cannot index",
            anchor="search-writes-blocked",
        )
        self._alarm(
            "search-jvm-pressure",
            search.domain.metric_jvm_memory_pressure(statistic="Maximum", period=ONE_MINUTE),
            JVM_PRESSURE_PERCENT,
            f"OpenSearch JVM memory pressure {JVM_PRESSURE_PERCENT}+ % for three minutes: out-of-memory errors "
            "and rejected requests follow",
            anchor="search-jvm-pressure",
            periods=3,
        )

    def _alarm_on_delivery(self, alerting: AlertingStack, api: ApiStack) -> None:
        self._alarm(
            "api-5xx",
            api.api.metric_server_error(statistic="Sum", period=FIVE_MINUTES),
            self._config.api_5xx_alarm,
            f"the API answered {self._config.api_5xx_alarm}+ 5xx responses in 5 minutes (context api-5xx-alarm)",
            anchor="api-5xx",
        )
        for name, topic in (("alerts", alerting.alerts_topic), ("ops", alerting.ops_topic)):
            self._alarm(
                f"sns-failed-{name}",
                topic.metric_number_of_notifications_failed(statistic="Sum", period=FIVE_MINUTES),
                1,
                f"SNS failed to deliver notifications of the {name} topic to a subscriber",
                anchor="sns-failed",
            )

    def _mapping_uuid(self, trigger: Trigger) -> str:
        """The UUID of ``trigger``'s event source mapping, read from the functions stack's outputs at deployment."""
        function = self._functions.functions[trigger.function]
        (mapping,) = (
            child
            for child in function.node.find_all()
            if isinstance(child, lambda_.CfnEventSourceMapping) and child.topics == [trigger.topic]
        )
        return cdk.Stack.consume_reference(mapping.ref, cdk.ReferenceStrength.WEAK)

    def _broker_metric(self, name: str, broker: int) -> cw.Metric:
        return cw.Metric(
            namespace="AWS/Kafka",
            metric_name=name,
            dimensions_map={"Cluster Name": self._streaming.cluster_name, "Broker ID": str(broker)},
            statistic="Maximum",
            period=FIVE_MINUTES,
        )

    def _function_name(self, function: str) -> str:
        """The fixed name of ``functions/<function>``, not the function's attribute: no export for the functions
        stack to keep (an export cannot change while imported)."""
        return f"{self._config.prefix}-{service_name(function)}"

    def _short(self, group: str) -> str:
        return group.removeprefix(f"{self._config.prefix}-")

    def _alarm_on_cache(self, state: StateStack, memory: list[cw.IMetric]) -> None:
        config = self._config
        if config.cache_mode == "serverless":
            self._alarm(
                "cache-memory",
                memory[0].with_(period=FIVE_MINUTES),
                config.cache_memory_alarm_gb * GB,
                f"the serverless cache holds {config.cache_memory_alarm_gb}+ GB (context cache-memory-alarm-gb)",
                anchor="cache-memory",
            )
            for metric, what in (("ThrottledCmds", "throttled commands"), ("Evictions", "evicted keys")):
                self._alarm(
                    f"cache-{metric.lower()}",
                    _cache_metric(metric, "clusterId", state.cache_name, "Sum").with_(period=FIVE_MINUTES),
                    1,
                    f"the serverless cache {what} ({metric})",
                    anchor="cache-throttling-and-evictions",
                )
            return
        for index, nodes in enumerate(self._shards(state), start=1):
            worst = _over_nodes(
                "MAX", "DatabaseMemoryUsagePercentage", "Maximum", nodes, f"shard {index}: fullest node"
            )
            self._alarm(
                f"cache-memory-shard-{index}",
                worst,
                config.cache_memory_alarm_percent,
                f"a node of shard {index} uses {config.cache_memory_alarm_percent}+ % of its memory",
                anchor="cache-memory",
            )
            self._alarm(
                f"cache-evictions-shard-{index}",
                _over_nodes("SUM", "Evictions", "Sum", nodes, f"shard {index}: evictions"),
                1,
                f"a node of shard {index} evicted keys (Evictions)",
                anchor="cache-throttling-and-evictions",
            )
            self._alarm(
                f"cache-engine-cpu-shard-{index}",
                _over_nodes("MAX", "EngineCPUUtilization", "Maximum", nodes, f"shard {index}: busiest engine"),
                CACHE_CPU_PERCENT,
                f"the engine thread of a node of shard {index} is {CACHE_CPU_PERCENT}+ % busy for 15 minutes",
                anchor="cache-throttling-and-evictions",
                periods=3,
            )

    # --- dashboard -------------------------------------------------------------------------------------

    def _engine_widgets(self) -> list[cw.IWidget]:
        latency = [
            engine_metric("BatchLatencyMs", function, stat).with_(label=f"{service_name(function)} {stat}")
            for function in SCORING
            for stat in ("p50", "p99")
        ]
        spine = [engine_metric(f"AlertsRaised_{pattern}", "score_trades") for pattern in PATTERNS]
        order_book = [
            engine_metric(f"AlertsRaised_{pattern}", function).with_(label=f"{pattern} ({service_name(function)})")
            for pattern in ORDER_BOOK_PATTERNS
            for function in SCORING
        ]
        return [
            _graph("Trades scored (per minute)", [engine_metric("TradesScored", "score_trades")]),
            _graph("Batch latency (ms)", latency),
            _graph("Alerts raised per pattern", spine),
            _graph("Order-book alerts raised (by the function whose event completed the match)", order_book, width=24),
        ]

    def _pipeline_widgets(self, lag: dict[str, cw.Metric]) -> list[cw.IWidget]:
        names = [self._function_name(name) for name in self._functions.functions]
        dead = [engine_metric(metric, function) for metric, function in DEAD_LETTERS.values()]
        failed = [_mapping_metric("OnFailureDestinationDeliveredEventCount", self._mapping_uuid(t), ONE_MINUTE)
                  for t in self._functions.triggers]  # fmt: skip
        return [
            _graph("Dead-lettered records", dead, width=6),
            _graph("Consumer lag (records behind)", list(lag.values()), width=6),
            _graph("Lambda errors", [_lambda_metric("Errors", n, ONE_MINUTE) for n in names], width=6),
            _graph("Lambda throttles", [_lambda_metric("Throttles", n, ONE_MINUTE) for n in names], width=6),
            _graph("Records given up to the trigger failure topic", failed, width=24),
        ]


def _lambda_metric(name: str, function_name: str, period: cdk.Duration = FIVE_MINUTES) -> cw.Metric:
    return _aws_lambda("FunctionName", function_name, name, period, label=f"{name} {function_name}")


def _mapping_metric(name: str, uuid: str, period: cdk.Duration = FIVE_MINUTES) -> cw.Metric:
    return _aws_lambda("EventSourceMappingUUID", uuid, name, period)


def _aws_lambda(dimension: str, value: str, name: str, period: cdk.Duration, label: str | None = None) -> cw.Metric:
    """A summed AWS/Lambda metric of one function or one event source mapping."""
    return cw.Metric(
        namespace="AWS/Lambda",
        metric_name=name,
        dimensions_map={dimension: value},
        statistic="Sum",
        period=period,
        label=label,
    )


def _over_nodes(function: str, name: str, statistic: str, nodes: list[str], label: str) -> cw.MathExpression:
    """``function`` (SUM, MAX) of one metric over a shard's nodes."""
    return cw.MathExpression(
        expression=f"{function}([{', '.join(f'm{i}' for i in range(len(nodes)))}])",
        using_metrics={f"m{i}": _cache_metric(name, "CacheClusterId", node, statistic) for i, node in enumerate(nodes)},
        period=FIVE_MINUTES,
        label=label,
    )


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
