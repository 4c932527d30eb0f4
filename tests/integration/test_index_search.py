"""index_search end to end: real scored results through the real handler into a real OpenSearch-compatible
server (noida-db), dead letters to a real Kafka-protocol broker."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from alert_builders import raised_alert
from builders import CODEC, score, wash_trades
from opensearchpy import OpenSearch
from topic_reader import read_topic

from riskengine.codec import ALERTS_SUBJECT, ANALYZED_TRADES_SUBJECT
from riskengine.model import SourceRecord
from riskengine.msk import build_event
from riskengine.search import ALERTS, ANALYZED_TRADES, FAMILIES
from riskengine_tools.local import EmbeddedBroker, EmbeddedRedis, EmbeddedSearch, free_port
from riskengine_tools.local.bridge import load_handler
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.paths import function_handler
from riskengine_tools.local.topics import ensure_topics

pytestmark = pytest.mark.integration
USERS = (("U-A", 0), ("U-B", -86_400_000))  # one wash-trading episode each, on two different days


@pytest.fixture
def results(redis_server: EmbeddedRedis, redis_client: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two users' wash trading, scored by the real engine: six analysed trades and two alerts."""
    sink = score(redis_server.url, [t for user, start in USERS for t in wash_trades(user, start)])
    assert len(sink.analyzed) == 6 and len(sink.alerts) == 2
    return sink.analyzed, sink.alerts


@pytest.fixture
def dlq_topic(kafka_broker: EmbeddedBroker) -> str:
    topic = f"risk-search-dlq-{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_broker.bootstrap_servers, [topic], partitions=1, replication_factor=1)
    return topic


@pytest.fixture
def templates(search_client: OpenSearch) -> OpenSearch:
    for family in FAMILIES:
        search_client.indices.put_index_template(name=family.alias, body=family.template(replicas=0))
    return search_client


def records(analyzed: list[dict[str, Any]], alerts: list[dict[str, Any]]) -> list[SourceRecord]:
    out = [
        SourceRecord("risk-analyzed-trades", 0, i, 0, None, CODEC.encode(ANALYZED_TRADES_SUBJECT, a))
        for i, a in enumerate(analyzed)
    ]
    out += [SourceRecord("risk-alerts", 1, i, 0, None, CODEC.encode(ALERTS_SUBJECT, a)) for i, a in enumerate(alerts)]
    return out


def invoke(url: str, broker: EmbeddedBroker, dlq_topic: str, batch: list[SourceRecord]) -> dict[str, Any]:
    env = {
        "OPENSEARCH_URL": url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "SEARCH_DEAD_LETTER_TOPIC": dlq_topic,
    }
    with handler_environment(env):
        return load_handler(function_handler("index_search"))(build_event(batch))


def test_analysed_trades_and_alerts_land_in_daily_indices_behind_the_aliases(
    templates: OpenSearch, search_server: EmbeddedSearch, kafka_broker: EmbeddedBroker, dlq_topic: str, results: Any
) -> None:
    analyzed, alerts = results
    assert invoke(search_server.url, kafka_broker, dlq_topic, records(analyzed, alerts)) == {"batchItemFailures": []}
    templates.indices.refresh(index="risk-*")
    day_a, day_b = (ANALYZED_TRADES.index_for(wash_trades(user, start)[0]["timestamp"]) for user, start in USERS)
    assert day_a != day_b
    assert templates.count(index=day_a)["count"] == 3 and templates.count(index=day_b)["count"] == 3
    assert templates.count(index=ANALYZED_TRADES.alias)["count"] == 6
    trade = templates.get(index=day_a, id="U-A-2")["_source"]
    assert (trade["userId"], trade["triggeredPatterns"], trade["riskLevel"]) == ("U-A", ["WASH_TRADING"], "MEDIUM")
    alert_b = next(a for a in alerts if a["userId"] == "U-B")
    hits = templates.search(index=ALERTS.alias, body={"query": {"term": {"userId": "U-B"}}})["hits"]["hits"]
    assert [h["_id"] for h in hits] == [alert_b["alertId"]]
    assert hits[0]["_source"]["metrics"] == alert_b["metrics"]
    assert hits[0]["_index"] == ALERTS.index_for(alert_b["timestamp"]) == day_b.replace("analyzed-trades", "alerts")


def test_order_book_alerts_index_with_their_category_and_metrics_mapped_before_the_first_one(
    templates: OpenSearch, search_server: EmbeddedSearch, kafka_broker: EmbeddedBroker, dlq_topic: str
) -> None:
    alerts = [
        raised_alert("ob-spoof", "SPOOFING", "U-SPOOF"),
        raised_alert("ob-layer", "LAYERING", "U-LAYER", at=60_000),
        raised_alert("ob-cancels", "EXCESSIVE_CANCELS", "U-CXL", at=120_000),
        raised_alert("tr-wash", "WASH_TRADING", "U-WT", at=180_000, metrics={"quantityRatio": 1.02}, evidence=["T-1"]),
    ]
    assert invoke(search_server.url, kafka_broker, dlq_topic, records([], alerts)) == {"batchItemFailures": []}
    templates.indices.refresh(index="risk-*")
    index = ALERTS.index_for(alerts[0]["timestamp"])
    assert templates.get(index=index, id="ob-spoof")["_source"] == alerts[0] | {"category": "order_book"}

    def found(query: dict[str, Any]) -> list[str]:
        return sorted(hit["_id"] for hit in templates.search(index=ALERTS.alias, body={"query": query})["hits"]["hits"])

    assert found({"term": {"category": "order_book"}}) == ["ob-cancels", "ob-layer", "ob-spoof"]
    assert found({"term": {"category": "trades"}}) == ["tr-wash"]
    assert found({"term": {"patternType": "SPOOFING"}}) == ["ob-spoof"]
    assert found({"term": {"triggeredEvents": "ob-spoof-OE-CXL"}}) == ["ob-spoof"]  # an order eventId
    assert found({"range": {"metrics.notionalRatio": {"gte": 5}}}) == ["ob-spoof"]
    # Every metric of the order-book rules was in the day's mapping from its creation; only the trade
    # rule's metric was added by the dynamic template. All doubles.
    metrics = templates.indices.get_mapping(index=index)[index]["mappings"]["properties"]["metrics"]["properties"]
    template_metrics = set(ALERTS.mappings()["properties"]["metrics"]["properties"])
    assert {name for alert in alerts[:3] for name in alert["metrics"]} <= template_metrics
    assert set(metrics) == template_metrics | {"quantityRatio"}
    assert {spec["type"] for spec in metrics.values()} == {"double"}


def test_a_redelivered_batch_overwrites_instead_of_duplicating(
    templates: OpenSearch, search_server: EmbeddedSearch, kafka_broker: EmbeddedBroker, dlq_topic: str, results: Any
) -> None:
    batch = records(*results)
    for _ in range(2):
        assert invoke(search_server.url, kafka_broker, dlq_topic, batch) == {"batchItemFailures": []}
    templates.indices.refresh(index="risk-*")
    assert templates.count(index=ANALYZED_TRADES.alias)["count"] == 6
    assert templates.count(index=ALERTS.alias)["count"] == 2
    day_a = ANALYZED_TRADES.index_for(wash_trades("U-A")[0]["timestamp"])
    assert templates.get(index=day_a, id="U-A-0")["_version"] == 2


def test_a_document_that_can_never_index_is_dead_lettered_and_the_rest_indexed(
    templates: OpenSearch, search_server: EmbeddedSearch, kafka_broker: EmbeddedBroker, dlq_topic: str, results: Any
) -> None:
    analyzed, alerts = results
    # Someone created U-B's day by hand with userId as a number: U-B's alert conflicts with that mapping.
    alert_b = next(i for i, a in enumerate(alerts) if a["userId"] == "U-B")
    broken = ALERTS.index_for(alerts[alert_b]["timestamp"])
    templates.indices.create(index=broken, body={"mappings": {"properties": {"userId": {"type": "long"}}}})
    garbage = SourceRecord("risk-alerts", 1, 99, 0, b"k", b"\x00\x00\x00\x00\x63not avro")
    batch = [*records(analyzed, alerts), garbage]
    assert invoke(search_server.url, kafka_broker, dlq_topic, batch) == {"batchItemFailures": []}
    templates.indices.refresh(index="risk-*")
    assert templates.count(index=ANALYZED_TRADES.alias)["count"] == 6
    assert templates.count(index=ALERTS.alias)["count"] == 1
    letters = read_topic(kafka_broker.bootstrap_servers, dlq_topic, expected=2)
    by_reason = {headers["dlq.reason"].decode(): (value, headers) for value, headers in letters}
    assert sorted(by_reason) == ["unindexable", "unknown_schema_id"]
    value, headers = by_reason["unindexable"]
    assert value == batch[len(analyzed) + alert_b].value  # the original bytes, to replay once the mapping is fixed
    assert b"HTTP 400" in headers["dlq.detail"] and broken.encode() in headers["dlq.detail"]
    assert headers["dlq.source.topic"] == b"risk-alerts"
    assert by_reason["unknown_schema_id"][0] == garbage.value


def test_an_unreachable_cluster_fails_the_batch_for_a_retry_and_dead_letters_nothing(
    kafka_broker: EmbeddedBroker, dlq_topic: str, results: Any
) -> None:
    batch = records(*results)
    response = invoke(f"http://127.0.0.1:{free_port()}", kafka_broker, dlq_topic, batch)
    failures = sorted(
        (f["itemIdentifier"]["partition"], f["itemIdentifier"]["offset"]) for f in response["batchItemFailures"]
    )
    assert failures == [("risk-alerts-1", 0), ("risk-analyzed-trades-0", 0)]  # each partition from its first record
    assert read_topic(kafka_broker.bootstrap_servers, dlq_topic, expected=1, wait_s=2.0) == []
