"""The engine's six Lambda functions: MSK triggers, the simulator's schedule, least-privilege permissions.

Every function runs ``functions/<name>/handler.py`` on the two layers, in the VPC behind ``functions_sg``, with
X-Ray tracing, its own log group, and exactly the environment variables the engine reads
(``Settings.from_env``, ``DispatchConfig.from_env``, ``SearchConfig.from_env``; docs/configuration.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from riskengine_infra import nag
from riskengine_infra.bundling import FUNCTIONS_DIR
from riskengine_infra.config import DeploymentConfig, FunctionSizing
from riskengine_infra.stacks.network import log_group
from riskengine_infra.stacks.streaming import SASL_MECHANISM, SECURITY_PROTOCOL

if TYPE_CHECKING:
    from riskengine_infra.stacks.alerting import AlertingStack
    from riskengine_infra.stacks.layers import LayersStack
    from riskengine_infra.stacks.network import NetworkStack
    from riskengine_infra.stacks.search import SearchStack
    from riskengine_infra.stacks.state import StateStack
    from riskengine_infra.stacks.streaming import StreamingStack

__all__ = ["NAMESPACE", "FunctionsStack", "Trigger", "service_name"]

NAMESPACE = "RiskEngine"  # riskengine.observability.NAMESPACE: where the handlers' EMF metrics go
MSK_EXECUTION = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaMSKExecutionRole"


def service_name(function: str) -> str:
    """The Powertools service of ``functions/<function>``: its log ``service`` key and metrics' dimension."""
    return function.replace("_", "-")


@dataclass(frozen=True, slots=True)
class Trigger:
    """One MSK event source mapping: ``function`` reads ``topic`` as consumer group ``group``."""

    function: str
    topic: str
    group: str


class FunctionsStack(cdk.Stack):
    """``functions`` by folder name, and the ``triggers`` (event source mappings) feeding them."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        network: NetworkStack,
        layers: LayersStack,
        streaming: StreamingStack,
        state: StateStack,
        search: SearchStack,
        alerting: AlertingStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._config, self._network, self._streaming, self._layers = config, network, streaming, layers
        self._layer_versions = layers.layers_for(self)
        self.functions: dict[str, lambda_.Function] = {}
        self.triggers: list[Trigger] = []
        self._kafka_env = {
            "KAFKA_BOOTSTRAP_SERVERS": streaming.bootstrap_servers_for(self),  # an SSM parameter: no export
            "KAFKA_SECURITY_PROTOCOL": SECURITY_PROTOCOL,
            "KAFKA_SASL_MECHANISM": SASL_MECHANISM,  # signed with the function's role: no Kafka secret
        }
        # With a replication group the AUTH token rides in REDIS_URL (a dynamic reference resolved at deploy time):
        # the engine reads no secret itself.
        self._redis_env = {
            "REDIS_URL": state.authenticated_redis_url(),
            "REDIS_CLUSTER": "true" if state.redis_cluster else "false",
        }
        self._search_env = {
            "OPENSEARCH_URL": f"https://{search.domain.domain_endpoint}",
            "OPENSEARCH_AUTH": "sigv4",
            "OPENSEARCH_SERVICE": "es",
        }
        self._intake_env = {**self._kafka_env, **self._redis_env, "TRADES_TOPIC": streaming.topics.trades}
        self._scoring()
        self._consumers(alerting, search)
        self._producers_and_apis(search)

    # --- the functions ---------------------------------------------------------------------------------

    def _scoring(self) -> None:
        topics = self._streaming.topics
        self._function(
            "score_trades",
            self._config.score_trades,
            "Scores every trade of crypto-trades, detects market abuse, writes analysed trades and alerts",
            {
                **self._kafka_env,
                **self._redis_env,
                "TRADES_TOPIC": topics.trades,
                "ANALYZED_TOPIC": topics.analyzed,
                "ALERTS_TOPIC": topics.alerts,
                "DEAD_LETTER_TOPIC": topics.trades_dlq,
            },
        )
        self._kafka(
            "score_trades",
            triggers={topics.trades: self._group("score-trades")},
            writes=[topics.analyzed, topics.alerts, topics.trades_dlq],
        )

    def _consumers(self, alerting: AlertingStack, search: SearchStack) -> None:
        topics, sizing = self._streaming.topics, self._config.downstream
        dispatch = self._function(
            "dispatch_alerts",
            sizing,
            "Publishes every RiskAlert of risk-alerts to the alerts SNS topic",
            {
                **self._kafka_env,
                **self._redis_env,
                "ALERTS_TOPIC_ARN": alerting.alerts_topic.topic_arn,
                "DASHBOARD_URL": self._config.dashboard_url,
                "ALERTS_DEAD_LETTER_TOPIC": topics.alerts_dlq,
            },
        )
        dispatch_trigger = {topics.alerts: self._group("dispatch-alerts")}
        self._kafka("dispatch_alerts", triggers=dispatch_trigger, writes=[topics.alerts_dlq])
        alerting.alerts_topic.grant_publish(dispatch)
        nag.acknowledge(
            dispatch,
            "IAM5[Action::kms:GenerateDataKey*]",
            "publishing to the KMS-encrypted alerts topic: SNS needs kms:GenerateDataKey* on that one key",
        )

        index = self._function(
            "index_search",
            sizing,
            "Indexes analysed trades and alerts into OpenSearch",
            {
                **self._kafka_env,
                **self._search_env,
                "ANALYZED_TOPIC": topics.analyzed,
                "ALERTS_TOPIC": topics.alerts,
                "SEARCH_DEAD_LETTER_TOPIC": topics.search_dlq,
            },
        )
        self._kafka(
            "index_search",
            # One consumer group per topic: each mapping commits its own offsets and lags on its own.
            triggers={
                topics.analyzed: self._group("index-search-analyzed"),
                topics.alerts: self._group("index-search-alerts"),
            },
            writes=[topics.search_dlq],
        )
        search.allow(_role(index))

    def _producers_and_apis(self, search: SearchStack) -> None:
        trades, intake = self._streaming.topics.trades, self._intake_env
        simulate = self._function("simulate_trades", self._config.downstream, "Ticks the trading simulation", intake)
        self._kafka("simulate_trades", writes=[trades])
        events.Rule(
            self,
            "SimulateTradesSchedule",
            description="Produce the running simulation's trades that came due (a no-op without a run)",
            schedule=events.Schedule.rate(cdk.Duration.minutes(1)),
            targets=[targets.LambdaFunction(simulate)],
        )

        api = self._config.api
        self._function("ingest_trade", api, "Trade intake API and the simulation's controls", intake)
        self._kafka("ingest_trade", writes=[trades])
        report = self._function("report_api", api, "Reporting API over OpenSearch", self._search_env)
        search.allow(_role(report))

    # --- building blocks ---------------------------------------------------------------------------------

    def _group(self, name: str) -> str:
        return f"{self._config.prefix}-{name}"

    def _function(
        self, name: str, sizing: FunctionSizing, description: str, environment: dict[str, str]
    ) -> lambda_.Function:
        service, construct_id = service_name(name), name.title().replace("_", "")
        function = lambda_.Function(
            self,
            construct_id,
            function_name=f"{self._config.prefix}-{service}",
            description=f"riskengine: {description}",
            runtime=self._layers.runtime,
            architecture=self._layers.architecture,
            handler="handler.lambda_handler",
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / name), exclude=["__pycache__", "*.pyc"]),
            layers=self._layer_versions,
            memory_size=sizing.memory_mb,
            timeout=cdk.Duration.seconds(sizing.timeout_s),
            reserved_concurrent_executions=sizing.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group(self, f"{construct_id}Logs", self._config),
            environment={
                "POWERTOOLS_SERVICE_NAME": service,
                "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **environment,
            },
            **self._network.function_placement(),
        )
        # A fixed role name: the search stack maps it in OpenSearch's FGAC before this stack exists.
        role = _role(function).node.default_child
        assert isinstance(role, iam.CfnRole)
        role.role_name = self._config.function_role_name(name)
        nag.acknowledge_vpc_function(function)
        nag.acknowledge(
            function,
            "IAM5[Resource::*]",
            "active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permission",
        )
        self.functions[name] = function
        return function

    def _kafka(self, name: str, *, writes: list[str], triggers: dict[str, str] | None = None) -> None:
        """MSK IAM access of the function as a producer and, for its triggers (topic -> group), as a consumer."""
        function, streaming, triggers = self.functions[name], self._streaming, triggers or {}
        cluster_actions = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"]
        if triggers:
            # The trigger's pollers sign with this role too; Lambda's MSK IAM guide lists this action for them.
            cluster_actions.append("kafka-cluster:DescribeClusterDynamicConfiguration")
            # Batches that exhaust their retries are written to this topic by Lambda, as this role.
            writes = [*writes, streaming.topics.trigger_failures]
        groups = [streaming.group_arn(group) for group in triggers.values()]
        grants = [
            (cluster_actions, [streaming.cluster_resource_arn]),
            (["kafka-cluster:ReadData", "kafka-cluster:DescribeTopic"], [streaming.topic_arn(t) for t in triggers]),
            (["kafka-cluster:WriteData", "kafka-cluster:DescribeTopic"], [streaming.topic_arn(t) for t in writes]),
            (["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"], groups),
        ]
        for actions, resources in grants:
            if resources:
                function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=resources))
        for topic, group in triggers.items():
            function.add_event_source(self._trigger(topic, group))
            self.triggers.append(Trigger(function=name, topic=topic, group=group))
        if triggers:
            nag.acknowledge(
                function,
                f"IAM4[{MSK_EXECUTION}]",
                "attached by CDK's ManagedKafkaEventSource: the trigger needs kafka:DescribeClusterV2 and "
                "kafka:GetBootstrapBrokers, and ENI actions for its pollers, which IAM cannot scope below '*'",
            )

    def _trigger(self, topic: str, group: str) -> sources.ManagedKafkaEventSource:
        trigger = self._config.trigger
        return sources.ManagedKafkaEventSource(
            cluster_arn=self._streaming.cluster_arn,
            topic=topic,
            consumer_group_id=group,
            starting_position=getattr(lambda_.StartingPosition, trigger.starting_position),
            batch_size=trigger.batch_size,
            max_batching_window=cdk.Duration.seconds(trigger.batching_window_s),
            provisioned_poller_config=sources.ProvisionedPollerConfig(
                minimum_pollers=trigger.min_pollers, maximum_pollers=trigger.max_pollers
            ),
            # The handlers answer batchItemFailures; bisecting isolates a poison record instead of the batch.
            report_batch_item_failures=True,
            bisect_batch_on_error=True,
            retry_attempts=trigger.retry_attempts,
            on_failure=sources.KafkaDlq(self._streaming.topics.trigger_failures),
        )


def _role(function: lambda_.Function) -> iam.IRole:
    assert function.role is not None  # the Function creates one: no role is passed in
    return function.role
