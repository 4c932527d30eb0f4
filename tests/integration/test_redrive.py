"""``riskengine redrive`` on real processes: failure records in the two shapes Lambda documents, on a real
Kafka-protocol broker, redriven through the real score_trades handler against a real redis-server.

The failure records are built as docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure-destination.html
shows them (one message per failed record, the record inside ``payload``) and as kafka-on-failure.html
shows the metadata-only records of SQS/SNS destinations (``KafkaBatchInfo.recordsInfo`` coordinates).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import builders
import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from riskengine.codec import ALERTS_SUBJECT, ANALYZED_TRADES_SUBJECT, TRADES_SUBJECT
from riskengine.model import SourceRecord
from riskengine.msk import build_event
from riskengine.sinks import Topics
from riskengine_tools.local import EmbeddedBroker, EmbeddedRedis
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.redrive import RedriveOptions, RedriveReport, local_handlers, redrive

pytestmark = pytest.mark.integration

CLUSTER_ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/riskengine/abc123"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:riskengine-score-trades:$LATEST"
QUIET_S = 1.5
IDLE_MS = 1_500


@dataclass(frozen=True)
class Setup:
    broker: EmbeddedBroker
    redis_url: str
    topics: Topics
    failures: str
    trade_ids: set[str]
    wash_ids: list[str]
    carried: int  # records carried inside Kafka-destination failure messages
    by_coordinates: int  # records named only by recordsInfo coordinates

    def options(self, **overrides: Any) -> RedriveOptions:
        fields: dict[str, Any] = {
            "bootstrap_servers": self.broker.bootstrap_servers,
            "failure_topic": self.failures,
            "group_id": f"redrive-{self.failures}",
            "idle_ms": IDLE_MS,
            "batch_size": 25,
        }
        return RedriveOptions(**(fields | overrides))

    def run(self, **overrides: Any) -> RedriveReport:
        env = {
            "REDIS_URL": self.redis_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
            "RISKENGINE_SINK": "kafka",
            "TRADES_TOPIC": self.topics.trades,
            "ANALYZED_TOPIC": self.topics.analyzed,
            "ALERTS_TOPIC": self.topics.alerts,
            "DEAD_LETTER_TOPIC": self.topics.dead_letter,
        }
        with handler_environment(env):
            return redrive(self.options(**overrides), local_handlers("riskengine"))


def failure_envelope() -> dict[str, Any]:
    """What every failure record Lambda writes starts with: who failed, why, after how many tries."""
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": FUNCTION_ARN,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 11,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-12-04T18:16:05.568Z",
    }


def kafka_destination_message(record: SourceRecord) -> bytes:
    """What Lambda writes to a Kafka on-failure destination for one failed record (payload included)."""
    event = build_event([record], cluster_arn=CLUSTER_ARN, bootstrap_servers="b-1.example:9098")
    return json.dumps(
        failure_envelope()
        | {
            "KafkaBatchInfo": {
                "batchSize": 1,
                "eventSourceArn": CLUSTER_ARN,
                "bootstrapServers": "b-1.example:9098",
                "payloadSize": len(json.dumps(event)),
                "recordInfo": {"offset": str(record.offset), "timestamp": "2026-12-04T18:16:04.835Z"},
            },
            "payload": event,
        }
    ).encode()


def metadata_only_message(topic: str, partition: int, first: int, last: int) -> bytes:
    """What Lambda writes to an SQS or SNS on-failure destination: the batch's coordinates, no records."""
    return json.dumps(
        failure_envelope()
        | {
            "KafkaBatchInfo": {
                "batchSize": last - first + 1,
                "eventSourceArn": CLUSTER_ARN,
                "bootstrapServers": "b-1.example:9098",
                "payloadSize": 2039,
                "recordsInfo": {
                    f"{topic}-{partition}": {
                        "firstRecordOffset": str(first),
                        "lastRecordOffset": str(last),
                        "firstRecordTimestamp": "2026-12-04T00:38:04.835Z",
                        "lastRecordTimestamp": "2026-12-04T00:38:05.580Z",
                    }
                },
            },
        }
    ).encode()


def read_all(broker: EmbeddedBroker, topic: str, partitions: int = 1) -> list[Any]:
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers, group_id=None, enable_auto_commit=False)
    records: list[Any] = []
    with closing(consumer):
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        consumer.seek_to_beginning()
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < QUIET_S:
            polled = consumer.poll(timeout_ms=200)
            for batch in polled.values():
                records.extend(batch)
            if polled:
                quiet_since = time.monotonic()
    return records


def decoded(setup: Setup, topic: str, subject: str) -> list[dict[str, Any]]:
    return [builders.CODEC.decode(subject, r.value) for r in read_all(setup.broker, topic)]


def by_trade(analysed: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Analysed trades by trade id, without ``processedAt`` (when this copy was made, by design)."""
    return {a["originalTrade"]["tradeId"]: {k: v for k, v in a.items() if k != "processedAt"} for a in analysed}


def redis_state(url: str) -> dict[str, Any]:
    """Every key with its type-appropriate content: what a redelivery must not change."""
    with redis.Redis.from_url(url) as client:
        state: dict[str, Any] = {}
        for key in client.scan_iter(count=1_000):
            kind = client.type(key)
            if kind == b"zset":
                state[key] = client.zrange(key, 0, -1, withscores=True)
            elif kind == b"hash":
                state[key] = client.hgetall(key)
            elif kind == b"string":
                state[key] = client.get(key)
            else:
                state[key] = kind
        return state


@pytest.fixture
def setup(kafka_broker: EmbeddedBroker, redis_server: EmbeddedRedis) -> Iterator[Setup]:
    """Trades on two partitions that score_trades never got through; the failure topic describing them."""
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    run = uuid.uuid4().hex[:8]
    topics = Topics(f"trades-{run}", f"analyzed-{run}", f"alerts-{run}", f"dlq-{run}")
    failures = f"failures-{run}"
    kafka_broker.create_topics([topics.trades], partitions=2)
    kafka_broker.create_topics([topics.analyzed, topics.alerts, topics.dead_letter, failures], partitions=1)
    start = int(time.time() * 1000) - 600_000
    washer = f"WASHER-{run}"
    wash = [
        builders.trade(f"wash-{run}-{i}", user=washer, symbol="SOL/USDT", side=side, quantity=q, price=150.0)
        | {"timestamp": start + 1_000 * (i + 1)}
        for i, (side, q) in enumerate((("BUY", 10.0), ("SELL", 10.5), ("BUY", 10.0)))
    ]
    trades = sorted([*builders.normal_flow(7, start, 40), *wash], key=lambda t: t["timestamp"])
    sources: list[SourceRecord] = []
    with closing(KafkaProducer(bootstrap_servers=kafka_broker.bootstrap_servers, acks="all")) as producer:
        # Partition 0 for the washer (keyed by user, as crypto-trades is), partition 1 for the rest.
        futures = [
            (t, producer.send(topics.trades, key=t["userId"].encode(), value=builders.CODEC.encode(TRADES_SUBJECT, t),
                              partition=0 if t["userId"] == washer else 1, timestamp_ms=t["timestamp"]))
            for t in trades
        ]  # fmt: skip
        producer.flush()
        for t, future in futures:
            meta = future.get(timeout=10)
            value = builders.CODEC.encode(TRADES_SUBJECT, t)
            sources.append(
                SourceRecord(topics.trades, meta.partition, meta.offset, t["timestamp"], t["userId"].encode(), value)
            )
        carried = [s for s in sources if s.partition == 0]
        others = sorted(s.offset for s in sources if s.partition == 1)
        messages = [kafka_destination_message(s) for s in carried]
        half = len(others) // 2  # two metadata-only batches, and one record also carried in a message (a repeat)
        messages.append(metadata_only_message(topics.trades, 1, others[0], others[half - 1]))
        messages.append(metadata_only_message(topics.trades, 1, others[half], others[-1]))
        messages.append(kafka_destination_message(next(s for s in sources if s.partition == 1)))
        for message in messages:
            producer.send(failures, value=message)
        producer.flush()
    yield Setup(
        kafka_broker, redis_server.url, topics, failures, {t["tradeId"] for t in trades},
        [t["tradeId"] for t in wash], len(carried), len(others),
    )  # fmt: skip


def test_redrive_recovers_both_shapes_and_scores_every_failed_trade_once(setup: Setup) -> None:
    report = setup.run()
    assert report.ok and report.committed and not report.unreadable
    (scoring,) = report.functions.values()
    assert scoring.function == "riskengine-score-trades"
    assert scoring.messages == setup.carried + 3
    assert (scoring.records, scoring.fetched) == (len(setup.trade_ids), setup.by_coordinates)
    assert (scoring.redriven, scoring.still_failing, scoring.missing) == (len(setup.trade_ids), [], [])
    analysed = decoded(setup, setup.topics.analyzed, ANALYZED_TRADES_SUBJECT)
    assert sorted(a["originalTrade"]["tradeId"] for a in analysed) == sorted(setup.trade_ids)
    alerts = decoded(setup, setup.topics.alerts, ALERTS_SUBJECT)
    assert [a["patternType"] for a in alerts] == ["WASH_TRADING"]
    assert set(alerts[0]["triggeredEvents"]) <= set(setup.wash_ids)


def test_a_second_redrive_reads_nothing_and_a_full_one_changes_nothing(setup: Setup) -> None:
    setup.run()
    state = redis_state(setup.redis_url)
    first = decoded(setup, setup.topics.analyzed, ANALYZED_TRADES_SUBJECT)
    alerts = decoded(setup, setup.topics.alerts, ALERTS_SUBJECT)

    again = setup.run()
    assert again.ok and again.functions == {} and not again.committed

    full = setup.run(from_beginning=True)
    assert full.ok and full.functions["riskengine-score-trades"].redriven == len(setup.trade_ids)
    assert redis_state(setup.redis_url) == state  # windows, ledger and alert marks untouched
    replayed = decoded(setup, setup.topics.analyzed, ANALYZED_TRADES_SUBJECT)[len(first) :]
    assert len(replayed) == len(first)
    assert by_trade(replayed) == by_trade(first)  # the first answers, scores and alert ids included
    republished = decoded(setup, setup.topics.alerts, ALERTS_SUBJECT)[len(alerts) :]
    assert {a["alertId"] for a in republished} <= {a["alertId"] for a in alerts}  # same alerts, never new ones


def test_a_dry_run_reports_and_touches_nothing(setup: Setup) -> None:
    report = setup.run(dry_run=True)
    assert report.dry_run and not report.committed
    (scoring,) = report.functions.values()
    assert (scoring.records, scoring.redriven) == (len(setup.trade_ids), 0)
    assert read_all(setup.broker, setup.topics.analyzed) == []
    assert redis_state(setup.redis_url) == {}
    assert setup.run().functions["riskengine-score-trades"].redriven == len(setup.trade_ids)  # nothing committed


def test_records_gone_from_the_source_and_unreadable_messages_are_reported_and_not_committed(setup: Setup) -> None:
    with closing(KafkaProducer(bootstrap_servers=setup.broker.bootstrap_servers)) as producer:
        producer.send(setup.failures, value=metadata_only_message(setup.topics.trades, 1, 10_000, 10_002))
        producer.send(setup.failures, value=b"not json")
        producer.flush()
    report = setup.run()
    assert not report.ok and not report.committed
    scoring = report.functions["riskengine-score-trades"]
    assert scoring.missing == [f"{setup.topics.trades}-1@10000..10002"]
    assert scoring.redriven == len(setup.trade_ids)  # what could be recovered still went through
    assert len(report.unreadable) == 1 and "not JSON" in report.unreadable[0]


def test_the_command_prints_the_report_and_fails_when_the_topic_is_missing(setup: Setup) -> None:
    cli = [
        str(Path(sys.executable).with_name("riskengine")),
        "redrive",
        "--bootstrap-servers",
        setup.broker.bootstrap_servers,
    ]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    common = ["--target", "local", "--idle-ms", str(IDLE_MS), "--group-id", f"cli-{setup.failures}"]
    dry = subprocess.run([*cli, *common, "--failure-topic", setup.failures, "--dry-run"],
                         capture_output=True, text=True, env=env, timeout=120, check=False)  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert "riskengine-score-trades" in dry.stdout and "Dry run: nothing was invoked" in dry.stdout
    assert f"{len(setup.trade_ids)}" in dry.stdout
    missing = subprocess.run([*cli, *common, "--failure-topic", "no-such-topic"],
                             capture_output=True, text=True, env=env, timeout=120, check=False)  # fmt: skip
    assert missing.returncode == 1
    assert "'no-such-topic' not found" in missing.stderr and "--failure-topic" in missing.stderr
