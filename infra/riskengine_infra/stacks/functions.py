"""The engine's Lambda functions: MSK triggers, the simulator's schedule, least-privilege permissions.

Every function runs ``functions/<name>/handler.py`` on the two layers, in the VPC behind its own security
group (``NetworkStack.function_groups``), with X-Ray tracing, its own log group, and exactly the environment
variables the engine reads (``Settings.from_env``, ``DispatchConfig.from_env``, ``SearchConfig.from_env``;
docs/configuration.md). ``simulate_trades`` and its schedule exist only with context ``simulator=true``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as cwlogs
from constructs import Construct

from riskengine_infra import nag
from riskengine_infra.bundling import FUNCTIONS_DIR
from riskengine_infra.config import DeploymentConfig, FunctionSizing, TriggerSettings
from riskengine_infra.stacks.network import Reach, function_reach, log_group
from riskengine_infra.stacks.streaming import SASL_MECHANISM, SECURITY_PROTOCOL

if TYPE_CHECKING:
    from riskengine_infra.stacks.alerting import AlertingStack
    from riskengine_infra.stacks.layers import LayersStack
    from riskengine_infra.stacks.network import NetworkStack
    from riskengine_infra.stacks.search import SearchStack
    from riskengine_infra.stacks.state import StateStack
    from riskengine_infra.stacks.streaming import StreamingStack

__all__ = ["NAMESPACE", "TRIGGER_METRICS", "FunctionsStack", "Trigger", "service_name"]

NAMESPACE = "RiskEngine"  # riskengine.observability.NAMESPACE: where the handlers' EMF metrics go
# Every metric group AWS::Lambda::EventSourceMapping's MetricsConfig offers a Kafka source.
TRIGGER_METRICS = (lambda_.MetricType.EVENT_COUNT, lambda_.MetricType.ERROR_COUNT, lambda_.MetricType.KAFKA_METRICS)
# What a function in a VPC needs for its network interfaces (AWSLambdaVPCAccessExecutionRole without its logs).
VPC_ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
ENI_REASON = (
    "active tracing (xray:PutTraceSegments, PutTelemetryRecords) and the ENI actions of a VPC function and of its "
    "MSK trigger's pollers (ec2:CreateNetworkInterface and co.) support no resource-level permission"
)
# What an MSK trigger needs beyond kafka-cluster:* (AWSLambdaMSKExecutionRole without its logs).
TRIGGER_KAFKA_ACTIONS = ("kafka:DescribeCluster", "kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers")
TRIGGER_ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
)


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
        self._state = state
        # What each function connects to decides its security group, and here its cache settings and grant.
        self._reach = function_reach(config)
        self._search_env = {
            "OPENSEARCH_URL": f"https://{search.domain.domain_endpoint}",
            "OPENSEARCH_AUTH": "sigv4",
            "OPENSEARCH_SERVICE": "es",
        }
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
        # The order events' sibling (docs/decisions/0001-order-events.md): the same engine, layer and stores behind
        # its own mapping, batch settings, metrics and alarms. Order events raise alerts and have no analysed
        # record; their dead letters join the trades' on the one dead-letter topic of the engine's inputs
        # (dlq.source.topic says which input a letter came from).
        self._function(
            "score_orders",
            self._config.score_orders,
            "Evaluates every order event of crypto-orders (spoofing, layering, excessive cancels), writes alerts",
            {
                **self._kafka_env,
                "ORDERS_TOPIC": topics.orders,
                "ALERTS_TOPIC": topics.alerts,
                "DEAD_LETTER_TOPIC": topics.trades_dlq,
            },
        )
        self._kafka(
            "score_orders",
            triggers={topics.orders: self._group("score-orders")},
            writes=[topics.alerts, topics.trades_dlq],
            trigger=self._config.orders_trigger,
        )

    def _consumers(self, alerting: AlertingStack, search: SearchStack) -> None:
        topics, sizing = self._streaming.topics, self._config.downstream
        dispatch = self._function(
            "dispatch_alerts",
            sizing,
            "Publishes every RiskAlert of risk-alerts to the alerts SNS topic",
            {
                **self._kafka_env,
                "ALERTS_TOPIC_ARN": alerting.alerts_topic.topic_arn,
                "DASHBOARD_URL": self._config.dashboard_url,
                "ALERTS_DEAD_LETTER_TOPIC": topics.alerts_dlq,
            },
        )
        dispatch_trigger = {topics.alerts: self._group("dispatch-alerts")}
        self._kafka("dispatch_alerts", triggers=dispatch_trigger, writes=[topics.alerts_dlq])
        alerting.alerts_topic.grant_publish(dispatch)
        nag.acknowledge(
            _role(dispatch),
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
        trades, config = self._streaming.topics.trades, self._config
        intake = {**self._kafka_env, "TRADES_TOPIC": trades}
        self._function("ingest_trade", config.api, "Trade intake API (and the simulation's controls)", intake)
        self._kafka("ingest_trade", writes=[trades])
        report = self._function("report_api", config.api, "Reporting API over OpenSearch", self._search_env)
        search.allow(_role(report))
        if not config.simulator:
            return
        simulate = self._function("simulate_trades", config.downstream, "Ticks the trading simulation", intake)
        self._kafka("simulate_trades", writes=[trades])
        events.Rule(
            self,
            "SimulateTradesSchedule",
            description="Produce the running simulation's trades that came due (a no-op without a run)",
            schedule=events.Schedule.rate(cdk.Duration.minutes(1)),
            targets=[targets.LambdaFunction(simulate)],
        )

    # --- building blocks ---------------------------------------------------------------------------------

    def _group(self, name: str) -> str:
        return f"{self._config.prefix}-{name}"

    def _function(
        self, name: str, sizing: FunctionSizing, description: str, environment: dict[str, str]
    ) -> lambda_.Function:
        service, construct_id = service_name(name), name.title().replace("_", "")
        cache = Reach.CACHE in self._reach[name]
        if cache:  # connection settings only: the function signs its own IAM token, no secret is passed
            environment = {**environment, **self._state.client_environment()}
        logs = log_group(self, f"{construct_id}Logs", self._config)
        function = lambda_.Function(
            self,
            construct_id,
            role=self._role(name, construct_id, logs),
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
            log_group=logs,
            environment={
                "POWERTOOLS_SERVICE_NAME": service,
                "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **environment,
            },
            **self._network.function_placement(name),
        )
        nag.acknowledge_runtime(function)
        if cache:
            self._state.grant_connect(function)
        self.functions[name] = function
        return function

    def _role(self, name: str, construct_id: str, logs: cwlogs.ILogGroup) -> iam.Role:
        """The function's role: its own log group only, and the ENI actions of a VPC function.

        Written out instead of Lambda's managed execution policies, whose CloudWatch Logs statements allow
        every log group of the account. A fixed name: the search stack maps it in OpenSearch's FGAC before
        this stack exists.
        """
        role = iam.Role(
            self,
            f"{construct_id}Role",
            role_name=self._config.function_role_name(name),
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            inline_policies={
                "run": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[logs.log_group_arn]
                        ),
                        iam.PolicyStatement(actions=list(VPC_ENI_ACTIONS), resources=["*"]),
                    ]
                )
            },
        )
        nag.acknowledge(role, "IAM5[Resource::*]", ENI_REASON)
        return role

    def _kafka(
        self,
        name: str,
        *,
        writes: list[str],
        triggers: dict[str, str] | None = None,
        trigger: TriggerSettings | None = None,
    ) -> None:
        """MSK IAM access of the function as a producer and, for its triggers (topic -> group), as a consumer;
        the triggers' settings are ``trigger`` (context ``trigger`` unless given)."""
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
        if triggers:
            # What AWSLambdaMSKExecutionRole gives a trigger, minus its logs on '*': the mapping reads the
            # cluster and its brokers, and its pollers create ENIs in the cluster's subnets.
            function.add_to_role_policy(
                iam.PolicyStatement(actions=list(TRIGGER_KAFKA_ACTIONS), resources=[streaming.cluster_arn])
            )
            function.add_to_role_policy(iam.PolicyStatement(actions=list(TRIGGER_ENI_ACTIONS), resources=["*"]))
        for topic, group in triggers.items():
            self._trigger(function, topic, group, trigger or self._config.trigger)
            self.triggers.append(Trigger(function=name, topic=topic, group=group))

    def _trigger(self, function: lambda_.Function, topic: str, group: str, trigger: TriggerSettings) -> None:
        """The MSK event source mapping, built directly: CDK's ManagedKafkaEventSource would attach
        AWSLambdaMSKExecutionRole (CloudWatch Logs on every log group) to the role."""
        function.add_event_source_mapping(
            # ManagedKafkaEventSource's id: the mappings keep their logical ids
            f"KafkaEventSource:{cdk.Names.node_unique_id(function.node)}{topic}",
            event_source_arn=self._streaming.cluster_arn,
            kafka_topic=topic,
            kafka_consumer_group_id=group,
            starting_position=getattr(lambda_.StartingPosition, trigger.starting_position),
            batch_size=trigger.batch_size,
            max_batching_window=cdk.Duration.seconds(trigger.batching_window_s),
            provisioned_poller_config=lambda_.ProvisionedPollerConfig(
                minimum_pollers=trigger.min_pollers, maximum_pollers=trigger.max_pollers
            ),
            # The handlers answer batchItemFailures; bisecting isolates a poison record instead of the batch.
            report_batch_item_failures=True,
            bisect_batch_on_error=True,
            retry_attempts=trigger.retry_attempts,
            on_failure=sources.KafkaDlq(self._streaming.topics.trigger_failures),
            # Lambda publishes a mapping's event, error and Kafka consumer metrics (lag among them) only when
            # asked; the monitoring stack alarms on them.
            metrics_config=lambda_.MetricsConfig(metrics=list(TRIGGER_METRICS)),
        )


def _role(function: lambda_.Function) -> iam.IRole:
    assert function.role is not None  # every function here is given its role
    return function.role
