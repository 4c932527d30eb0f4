"""The local demo: simulator -> Kafka -> trigger bridges -> real handlers -> Kafka, SNS, OpenSearch.

Everything runs on loopback: an embedded redis-server, Kafka-protocol broker and OpenSearch-compatible
server (or the ones given) and moto's SNS/SQS; ``riskengine simulate``'s labelled stream (the trading
simulator's trades with injected abuse, and an order flow with spoofing, layering and excessive-cancel
episodes among honest look-alikes) produced as Confluent Avro to ``crypto-trades`` and ``crypto-orders``;
event source mapping bridges invoking ``functions/score_trades`` and ``functions/score_orders`` side by
side, then ``dispatch_alerts`` and ``index_search`` in-process, and a final read-back of topics, queues
and indices, so the summary counts what actually arrived.

The order flow is dev tooling (``riskengine_tools.simulate``), not the Lambda layer's trade simulator:
no function generates order events, and the layer carries only what the functions import.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field

import boto3
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from riskengine.codec import (
    ALERTS_SUBJECT,
    ANALYZED_TRADES_SUBJECT,
    ORDERS_SUBJECT,
    TRADES_SUBJECT,
    AvroCodec,
    CodecError,
    FixedIdRegistry,
)
from riskengine.detectors import available_rules
from riskengine.search import ALERTS, ANALYZED_TRADES, ProvisionOptions, SearchConfig, create_client, provision
from riskengine.simulation import SimulatorConfig
from riskengine.sinks import Topics
from riskengine_tools.local.aws import EmbeddedAws
from riskengine_tools.local.bridge import BridgeStats
from riskengine_tools.local.broker import EmbeddedBroker
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.redis_server import EmbeddedRedis
from riskengine_tools.local.search_server import EmbeddedSearch
from riskengine_tools.local.topics import ensure_topics
from riskengine_tools.local.triggers import Trigger, dispatching, indexing, scoring
from riskengine_tools.simulate import MixedStream, StreamConfig
from riskengine_tools.simulate.records import Record

TOPICS = Topics()
ALERTS_SNS_TOPIC = "risk-alerts"
COMPLIANCE_EMAIL = "compliance@example.com"
EMAIL_FILTER = {"severity": ["HIGH", "CRITICAL"]}
DASHBOARD_URL = "http://localhost:5601/app/dashboards"
SEARCH_DEAD_LETTER_TOPIC = "risk-search-dlq"
ALERTS_DEAD_LETTER_TOPIC = "risk-alerts-dlq"
# The target is every record of the topic, but on a reused broker the group may have consumed earlier runs'
# records already, so a downstream bridge also stops once it went quiet: IDLE_S after its last batch, or
# JOIN_S without any batch (joining a fresh consumer group on tansu takes a few seconds, sometimes more).
IDLE_S = 5.0
JOIN_S = 30.0
AWS_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
# Each line's topic and Avro subject, by its "kind".
KINDS = {"trade": (TOPICS.trades, TRADES_SUBJECT), "order": (TOPICS.orders, ORDERS_SUBJECT)}
# Malformed trades among the simulated ones, as the trade simulator injects them by default: dead letters to show.
INVALID_FRACTION = SimulatorConfig().invalid_fraction


@dataclass(frozen=True, slots=True)
class DemoOptions:
    trades: int = 20_000
    users: int = 500
    seed: int = 7
    partitions: int = 3
    batch_size: int = 500
    batching_window_ms: int = 200
    redis_url: str | None = None
    bootstrap_servers: str | None = None
    opensearch_url: str | None = None
    verbose: bool = False

    def stream_config(self, end_ms: int) -> StreamConfig:
        """The labelled stream the demo produces, ending at ``end_ms``: long enough in event time for about
        ``trades`` trades of the trade flow (half the users, ``StreamConfig.rate_per_s``), with the order flow
        of the other half beside it (order events, and the trades of their fills)."""
        rate = StreamConfig(seed=self.seed, users=self.users).rate_per_s
        duration_ms = round(self.trades / rate * 1000)
        return StreamConfig(
            seed=self.seed,
            minutes=duration_ms / 60_000,
            users=self.users,
            start_ms=end_ms - duration_ms,
            invalid_fraction=INVALID_FRACTION,
            whole_episodes=False,  # a short run keeps its trade-flow episodes; one cut at the end is not counted
        )


@dataclass(frozen=True, slots=True)
class Message:
    """One stream line as it is produced: topic, key (the user), value, record timestamp and its id."""

    topic: str
    key: bytes
    value: bytes
    timestamp_ms: int
    record_id: str


@dataclass(slots=True)
class UserRisk:
    user_id: str
    max_score: float = 0.0
    alerts: int = 0
    trades: int = 0


@dataclass(slots=True)
class DemoReport:
    produced: int = 0  # trades, the order flow's fills included
    orders_produced: int = 0
    scored: int = 0
    orders_evaluated: int = 0  # order events score_orders acknowledged (they have no analysed record to read back)
    late: int = 0
    dead_lettered: Counter[str] = field(default_factory=Counter)
    alerts: Counter[tuple[str, str]] = field(default_factory=Counter)
    injected: dict[str, int] = field(default_factory=dict)
    patterns: tuple[str, ...] = ()  # every pattern the engine's rules raise, so the table lists each one
    batches: int = 0
    retries: int = 0
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    riskiest_users: list[UserRisk] = field(default_factory=list)
    alert_records: int = 0  # every record in risk-alerts, this run's or not: what the dispatcher gets to read
    analyzed_records: int = 0  # every record in risk-analyzed-trades, this run's or not
    dispatched: int = 0  # alert records the dispatch_alerts bridge consumed
    sns_delivered: int = 0  # SNS messages the unfiltered SQS subscriber received (alerts and digests)
    digests_sent: int = 0
    email_notifications: int = 0  # of those, the ones the email subscription's severity filter lets through
    indexed_trades: int = 0  # this run's analysed trades found in OpenSearch through the alias
    indexed_alerts: int = 0  # this run's alerts found in OpenSearch through the alias
    first_event_ms: int = 0  # event time of the run's first trade

    @property
    def throughput(self) -> float:
        """Trades scored and order events evaluated per second, end to end."""
        return (self.scored + self.orders_evaluated) / self.elapsed_s if self.elapsed_s else 0.0


Progress = Callable[[int, int], None]  # (records the scoring functions consumed, records produced)


def run_demo(options: DemoOptions, progress: Progress | None = None) -> DemoReport:
    """Run the whole pipeline once and report what reached the output topics."""
    with ExitStack() as stack:
        redis_url = options.redis_url or stack.enter_context(EmbeddedRedis()).url
        # An existing cluster keeps its own replication default; the embedded broker has one node.
        bootstrap, replication = options.bootstrap_servers, -1
        if not bootstrap:
            bootstrap, replication = stack.enter_context(EmbeddedBroker()).bootstrap_servers, 1
        inputs = [TOPICS.trades, TOPICS.orders]  # both keyed by user: one partitioning
        ensure_topics(bootstrap, inputs, partitions=options.partitions, replication_factor=replication)
        outputs = [
            TOPICS.analyzed,
            TOPICS.alerts,
            TOPICS.dead_letter,
            SEARCH_DEAD_LETTER_TOPIC,
            ALERTS_DEAD_LETTER_TOPIC,
        ]
        ensure_topics(bootstrap, outputs, partitions=1, replication_factor=replication)
        aws = stack.enter_context(EmbeddedAws())
        alerts_topic = _alert_topology(aws.endpoint_url)
        search = SearchConfig(url=options.opensearch_url or stack.enter_context(EmbeddedSearch()).url)
        provision(create_client(search), ProvisionOptions(replicas=0))
        env = {
            "REDIS_URL": redis_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "RISKENGINE_SINK": "kafka",
            "AWS_ACCESS_KEY_ID": AWS_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": AWS_CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": AWS_CREDENTIALS["region_name"],
            "AWS_ENDPOINT_URL": aws.endpoint_url,
            "AWS_ENDPOINT_URL_SNS": aws.endpoint_url,  # a caller's own SNS endpoint must not win over moto
            "ALERTS_TOPIC_ARN": alerts_topic.topic_arn,
            "ALERTS_DEAD_LETTER_TOPIC": ALERTS_DEAD_LETTER_TOPIC,
            "DASHBOARD_URL": DASHBOARD_URL,
            "OPENSEARCH_URL": search.url,
            "SEARCH_DEAD_LETTER_TOPIC": SEARCH_DEAD_LETTER_TOPIC,
        }
        stack.enter_context(handler_environment(env, verbose=options.verbose))
        report = _run(options, bootstrap, progress)
        _run_downstream(report, bootstrap, options)
        _read_notifications(report, aws.endpoint_url, alerts_topic.queue_url)
        _count_indexed(report, search)
        return report


@dataclass(frozen=True, slots=True)
class AlertTopology:
    topic_arn: str
    queue_url: str


def _alert_topology(endpoint_url: str) -> AlertTopology:
    """The SNS topic, compliance's severity-filtered email subscription and an unfiltered SQS queue."""
    sns = boto3.client("sns", endpoint_url=endpoint_url, **AWS_CREDENTIALS)
    sqs = boto3.client("sqs", endpoint_url=endpoint_url, **AWS_CREDENTIALS)
    topic_arn = sns.create_topic(Name=ALERTS_SNS_TOPIC)["TopicArn"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="email",
        Endpoint=COMPLIANCE_EMAIL,
        Attributes={"FilterPolicy": json.dumps(EMAIL_FILTER)},
    )
    queue_url = sqs.create_queue(QueueName=f"{ALERTS_SNS_TOPIC}-all")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "false"})
    return AlertTopology(topic_arn, queue_url)


def _run_downstream(report: DemoReport, bootstrap: str, options: DemoOptions) -> None:
    """dispatch_alerts on risk-alerts, index_search on both output topics: concurrently, like separate triggers."""
    index_analyzed, index_alerts = indexing(TOPICS)
    triggers = {
        dispatching(TOPICS): report.alert_records,
        index_analyzed: report.analyzed_records,
        index_alerts: report.alert_records,
    }
    with ThreadPoolExecutor(max_workers=len(triggers)) as pool:
        consumed = {
            trigger: pool.submit(_drive, trigger, expected, bootstrap, options)
            for trigger, expected in triggers.items()
            if expected
        }
    report.dispatched = sum(future.result() for t, future in consumed.items() if t.function == "dispatch_alerts")


def _drive(trigger: Trigger, expected: int, bootstrap: str, options: DemoOptions) -> int:
    """Run one bridge until it consumed ``expected`` records (or nothing new came); return what it consumed."""
    bridge = trigger.bridge(bootstrap, options.batch_size, options.batching_window_ms)
    started = time.monotonic()
    last_batch: float | None = None

    def on_batch(_count: int, _latency: float) -> None:
        nonlocal last_batch
        last_batch = time.monotonic()

    def done(stats: BridgeStats) -> bool:
        now = time.monotonic()
        if last_batch is None:
            return now - started >= JOIN_S
        return stats.records >= expected or now - last_batch >= IDLE_S

    try:
        bridge.run(until=done, on_batch=on_batch)
    finally:
        bridge.close()
    return bridge.stats.records


def _count_indexed(report: DemoReport, search: SearchConfig) -> None:
    """Documents of this run (event time since its start) found through the aliases, as a dashboard sees them."""
    client = create_client(search)
    try:
        client.indices.refresh(index=f"{ANALYZED_TRADES.pattern},{ALERTS.pattern}")
        this_run = {"query": {"range": {"timestamp": {"gte": report.first_event_ms}}}}
        report.indexed_trades = client.count(index=ANALYZED_TRADES.alias, body=this_run)["count"]
        report.indexed_alerts = client.count(index=ALERTS.alias, body=this_run)["count"]
    finally:
        client.close()


def _read_notifications(report: DemoReport, endpoint_url: str, queue_url: str) -> None:
    """Count the SNS envelopes the unfiltered queue got (moto delivers synchronously: none still in flight)."""
    sqs = boto3.client("sqs", endpoint_url=endpoint_url, **AWS_CREDENTIALS)
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            envelope = json.loads(message["Body"])
            report.sns_delivered += 1
            report.digests_sent += str(envelope.get("Subject", "")).startswith("[DIGEST]")
            severity = envelope.get("MessageAttributes", {}).get("severity", {}).get("Value")
            report.email_notifications += severity in EMAIL_FILTER["severity"]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )


def _run(options: DemoOptions, bootstrap: str, progress: Progress | None) -> DemoReport:
    """Produce the whole stream while score_trades and score_orders consume their topics, like two triggers."""
    codec = AvroCodec(FixedIdRegistry())
    config = options.stream_config(end_ms=int(time.time() * 1000))  # event time ends about now: live traffic
    stream = MixedStream(config)
    messages = _messages(codec, stream.records())
    expected = Counter(message.topic for message in messages)
    report = DemoReport(
        produced=expected[TOPICS.trades],
        orders_produced=expected[TOPICS.orders],
        injected={pattern: sum(planners.values()) for pattern, planners in stream.episodes.items()},
        patterns=tuple(sorted({rule.pattern for rule in available_rules().values()})),
        first_event_ms=config.start_ms,
    )
    producer_done = threading.Event()
    producer = threading.Thread(target=_produce, args=(messages, bootstrap, producer_done), daemon=True)
    consumed, lock = [0], threading.Lock()

    def on_batch(count: int, _latency: float) -> None:
        with lock:
            consumed[0] += count
            if progress is not None:
                progress(consumed[0], len(messages))

    started = time.perf_counter()
    producer.start()
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [
            pool.submit(_score, trigger, expected[trigger.topic], producer_done, bootstrap, options, on_batch)
            for trigger in scoring(TOPICS)
        ]
        trades, orders = (run.result() for run in runs)
    report.elapsed_s = time.perf_counter() - started
    report.orders_evaluated = orders.records
    report.batches, report.retries = trades.batches + orders.batches, trades.retries + orders.retries
    report.latencies_ms = trades.latencies_ms + orders.latencies_ms
    _read_back(report, bootstrap, codec, {message.record_id for message in messages})
    return report


def _score(
    trigger: Trigger,
    expected: int,
    produced: threading.Event,
    bootstrap: str,
    options: DemoOptions,
    on_batch: Callable[[int, float], None],
) -> BridgeStats:
    """Run ``trigger``'s bridge until it consumed the ``expected`` records of its topic, all produced."""
    bridge = trigger.bridge(bootstrap, options.batch_size, options.batching_window_ms)
    try:
        return bridge.run(until=lambda stats: produced.is_set() and stats.records >= expected, on_batch=on_batch)
    finally:
        bridge.close()


def _messages(codec: AvroCodec, records: Iterable[Record]) -> list[Message]:
    """Each line for its topic, keyed by user, stamped with its event time as an exchange's producer would;
    a malformed trade without one keeps the stream's last event time."""
    messages: list[Message] = []
    event_time = 0
    for line in records:
        topic, subject = KINDS[line["kind"]]
        record = {name: value for name, value in line.items() if name != "kind"}
        if isinstance(record.get("timestamp"), int) and record["timestamp"] > 0:
            event_time = record["timestamp"]
        record_id = str(record.get("eventId") if topic == TOPICS.orders else record.get("tradeId"))
        key = str(record.get("userId")).encode()
        messages.append(Message(topic, key, _encode(codec, subject, record), event_time, record_id))
    return messages


def _produce(messages: list[Message], bootstrap: str, done: threading.Event) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all", linger_ms=5)
    try:
        for message in messages:
            producer.send(message.topic, key=message.key, value=message.value, timestamp_ms=message.timestamp_ms)
        producer.flush()
    finally:
        producer.close()
        done.set()


def _encode(codec: AvroCodec, subject: str, record: Record) -> bytes:
    """Avro when the record fits the schema; a malformed one goes as JSON, as a hand-fed record would."""
    try:
        return codec.encode(subject, record)
    except CodecError:
        return json.dumps(record).encode()


def _read_back(report: DemoReport, bootstrap: str, codec: AvroCodec, produced_ids: set[str]) -> None:
    """Count what reached the output topics for this run's trades (records of earlier runs are ignored).

    Like any consumer of the topics, it deduplicates: a retried batch writes its results again
    (analysed trades by tradeId, alerts by alertId, dead letters by their dlq.id header).
    """
    users: dict[str, UserRisk] = {}
    analyzed_records = _drain(bootstrap, TOPICS.analyzed)
    report.analyzed_records = len(analyzed_records)
    seen: set[str] = set()
    for value, _headers in analyzed_records:
        record = codec.decode(ANALYZED_TRADES_SUBJECT, value)
        trade = record["originalTrade"]
        if trade["tradeId"] in produced_ids and trade["tradeId"] not in seen:
            seen.add(trade["tradeId"])
            report.scored += 1
            report.late += record["lateEvent"]
            user = users.setdefault(trade["userId"], UserRisk(trade["userId"]))
            user.max_score, user.trades = max(user.max_score, record["riskScore"]), user.trades + 1
    alert_records = _drain(bootstrap, TOPICS.alerts)
    report.alert_records = len(alert_records)
    for value, _headers in alert_records:
        alert = codec.decode(ALERTS_SUBJECT, value)
        if not produced_ids.isdisjoint(alert["triggeredEvents"]) and alert["alertId"] not in seen:
            seen.add(alert["alertId"])
            report.alerts[(alert["patternType"], alert["severity"])] += 1
            users.setdefault(alert["userId"], UserRisk(alert["userId"])).alerts += 1
    for _value, headers in _drain(bootstrap, TOPICS.dead_letter):
        header = {name: value.decode() for name, value in headers}
        letter = f"dlq:{header.get('dlq.id')}"
        if letter not in seen:
            seen.add(letter)
            report.dead_lettered[header.get("dlq.reason", "?")] += 1
    report.riskiest_users = sorted(users.values(), key=lambda u: (u.max_score, u.alerts), reverse=True)[:10]


def _drain(bootstrap: str, topic: str, idle_s: float = 1.5) -> list[tuple[bytes, list[tuple[str, bytes]]]]:
    """Every record of ``topic``, read until it stays quiet for ``idle_s`` (end offsets are not trusted)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap.split(","), enable_auto_commit=False, auto_offset_reset="earliest", group_id=None
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        consumer.seek_to_beginning()
        records: list[tuple[bytes, list[tuple[str, bytes]]]] = []
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < idle_s:
            polled = consumer.poll(timeout_ms=300)
            for batch in polled.values():
                records.extend((r.value, list(r.headers or [])) for r in batch)
            if polled:
                quiet_since = time.monotonic()
        return records
    finally:
        consumer.close()
