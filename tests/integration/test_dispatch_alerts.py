"""dispatch_alerts end to end: the real handler, a real moto_server (SNS -> SQS) and a real redis-server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import redis
from topic_reader import read_topic

from riskengine.codec import ALERTS_SUBJECT, AvroCodec, FixedIdRegistry
from riskengine.model import SourceRecord
from riskengine.msk import build_event
from riskengine_tools.local import EmbeddedAws, EmbeddedBroker, EmbeddedRedis
from riskengine_tools.local.bridge import load_handler
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.paths import function_handler
from riskengine_tools.local.topics import ensure_topics

pytestmark = pytest.mark.integration
CODEC = AvroCodec(FixedIdRegistry())
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


@pytest.fixture(scope="module")
def aws() -> Iterator[EmbeddedAws]:
    with EmbeddedAws() as server:
        yield server


@pytest.fixture
def topology(aws: EmbeddedAws) -> dict[str, str]:
    """A fresh topic with a HIGH/CRITICAL-filtered queue and an unfiltered one (SNS envelopes, not raw)."""
    sns = boto3.client("sns", endpoint_url=aws.endpoint_url, **CREDENTIALS)
    sqs = boto3.client("sqs", endpoint_url=aws.endpoint_url, **CREDENTIALS)
    name = f"alerts-{uuid.uuid4().hex[:8]}"
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    urls = {}
    for queue, policy in (("filtered", {"severity": ["HIGH", "CRITICAL"]}), ("all", None)):
        url = sqs.create_queue(QueueName=f"{name}-{queue}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = {"RawMessageDelivery": "false"} | ({"FilterPolicy": json.dumps(policy)} if policy else {})
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
        urls[queue] = url
    return {"topic_arn": topic_arn, **urls}


def alert(alert_id: str, severity: str = "HIGH", pattern: str = "WASH_TRADING") -> dict[str, Any]:
    return {
        "alertId": alert_id,
        "patternType": pattern,
        "rule": f"{pattern}@1",
        "timestamp": 1_763_900_000_000,
        "detectedAt": 1_763_900_000_500,
        "severity": severity,
        "userId": f"USER_{alert_id}",
        "customerId": "CUST_1",
        "symbol": "BTC/USDT",
        "exchange": "BINANCE",
        "description": f"{pattern} by USER_{alert_id} on BTC/USDT@BINANCE",
        "recommendedAction": "Review.",
        "triggeredEvents": ["t1", "t2"],
        "metrics": {"ratio": 0.99, "ratioThreshold": 0.95},
        "acknowledged": False,
    }


def records(alerts: list[dict[str, Any]]) -> list[SourceRecord]:
    return [
        SourceRecord("risk-alerts", i % 3, i, 0, a["userId"].encode(), CODEC.encode(ALERTS_SUBJECT, a))
        for i, a in enumerate(alerts)
    ]


def invoke(
    aws: EmbeddedAws, server: EmbeddedRedis, topic_arn: str, alerts: list[dict[str, Any]], **extra_env: str
) -> dict[str, Any]:
    return invoke_records(aws, server, topic_arn, records(alerts), **extra_env)


def invoke_records(
    aws: EmbeddedAws, server: EmbeddedRedis, topic_arn: str, batch: list[SourceRecord], **extra_env: str
) -> dict[str, Any]:
    env = extra_env | {
        "REDIS_URL": server.url,
        "ALERTS_TOPIC_ARN": topic_arn,
        "AWS_ENDPOINT_URL": aws.endpoint_url,
        "DASHBOARD_URL": "https://dashboard.example",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    with handler_environment(env):
        return load_handler(function_handler("dispatch_alerts"))(build_event(batch))


def drain(aws: EmbeddedAws, url: str) -> list[dict[str, Any]]:
    """Every SNS envelope in the queue (moto delivers synchronously, so nothing is still in flight)."""
    sqs = boto3.client("sqs", endpoint_url=aws.endpoint_url, **CREDENTIALS)
    envelopes: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        envelopes.extend(json.loads(m["Body"]) for m in batch)
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    return envelopes


def test_subscribers_get_what_their_filter_lets_through(
    aws: EmbeddedAws, redis_server: EmbeddedRedis, redis_client: redis.Redis, topology: dict[str, str]
) -> None:
    alerts = [alert(f"a{i}", severity) for i, severity in enumerate(["LOW", "MEDIUM", "HIGH", "CRITICAL"] * 3)]
    assert invoke(aws, redis_server, topology["topic_arn"], alerts) == {"batchItemFailures": []}
    filtered, everything = drain(aws, topology["filtered"]), drain(aws, topology["all"])
    assert len(everything) == 12
    assert sorted(e["MessageAttributes"]["severity"]["Value"] for e in filtered) == ["CRITICAL"] * 3 + ["HIGH"] * 3
    first = next(e for e in filtered if "a3" in e["Message"])
    assert first["Subject"] == "[CRITICAL] WASH_TRADING — USER_a3 on BTC/USDT@BINANCE"
    assert {k: v["Value"] for k, v in first["MessageAttributes"].items()} == {
        "severity": "CRITICAL",
        "patternType": "WASH_TRADING",
        "symbol": "BTC/USDT",
        "exchange": "BINANCE",
    }
    assert "https://dashboard.example/alerts/a3" in first["Message"]
    assert "ratio: 0.99 (threshold 0.95)" in first["Message"]


def test_a_redelivered_batch_sends_nothing_twice(
    aws: EmbeddedAws, redis_server: EmbeddedRedis, redis_client: redis.Redis, topology: dict[str, str]
) -> None:
    alerts = [alert(f"r{i}") for i in range(5)]
    invoke(aws, redis_server, topology["topic_arn"], alerts)
    assert invoke(aws, redis_server, topology["topic_arn"], [*alerts, alert("r5")]) == {"batchItemFailures": []}
    ids = sorted(e["Message"].split("Alert id: ")[1].split()[0] for e in drain(aws, topology["all"]))
    assert ids == [f"r{i}" for i in range(6)]
    assert 0 < redis_client.ttl("rk:v1:alerting:sent:r0") <= 7 * 24 * 3600


def test_a_storm_is_capped_and_the_rest_digested(
    aws: EmbeddedAws, redis_server: EmbeddedRedis, redis_client: redis.Redis, topology: dict[str, str]
) -> None:
    # Records are read partition by partition (i % 3), so s29 is the last one read: it lands in the digest.
    storm = [alert(f"s{i:02}", "CRITICAL" if i == 29 else "MEDIUM", "FLASH_CRASH") for i in range(30)]
    assert invoke(aws, redis_server, topology["topic_arn"], storm) == {"batchItemFailures": []}
    everything = drain(aws, topology["all"])
    digests = [e for e in everything if e["Subject"].startswith("[DIGEST]")]
    assert len(everything) == 21
    assert [d["Subject"] for d in digests] == ["[DIGEST] 10 more FLASH_CRASH alerts"]
    assert digests[0]["MessageAttributes"]["severity"]["Value"] == "CRITICAL"
    singles = {e["Subject"].split("USER_")[1].split()[0] for e in everything if e not in digests}
    assert len(singles) == 20
    assert all((f"s{i:02}" in digests[0]["Message"]) != (f"s{i:02}" in singles) for i in range(30))
    assert invoke(aws, redis_server, topology["topic_arn"], storm) == {"batchItemFailures": []}
    assert drain(aws, topology["all"]) == []


def test_an_undecodable_alert_is_dead_lettered_and_the_rest_delivered(
    aws: EmbeddedAws,
    redis_server: EmbeddedRedis,
    redis_client: redis.Redis,
    topology: dict[str, str],
    kafka_broker: EmbeddedBroker,
) -> None:
    dlq = f"risk-alerts-dlq-{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_broker.bootstrap_servers, [dlq], partitions=1, replication_factor=1)
    garbage = SourceRecord("risk-alerts", 0, 7, 0, b"USER_x", b"{not json")
    batch = [*records([alert("g0"), alert("g1")]), garbage]
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers, "ALERTS_DEAD_LETTER_TOPIC": dlq}
    assert invoke_records(aws, redis_server, topology["topic_arn"], batch, **env) == {"batchItemFailures": []}
    assert len(drain(aws, topology["all"])) == 2
    [(value, headers)] = read_topic(kafka_broker.bootstrap_servers, dlq, expected=1)
    assert value == b"{not json"
    assert headers["dlq.reason"] == b"json_decode_error" and headers["dlq.source.offset"] == b"7"
