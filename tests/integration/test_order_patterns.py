"""SPOOFING, LAYERING and EXCESSIVE_CANCELS with their default settings, through both functions' processors
against a real redis-server: each episode is one alert however the two topics are cut into batches and
interleaved (within the order-book window's lateness), and redelivering any batch changes nothing.

Unit tests (tests/unit/detectors) pin each rule's thresholds; these pin what live delivery does to them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import redis
from builders import CODEC, NOW, order, trade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_redelivery import dump

from riskengine.codec import ORDERS_SUBJECT, TRADES_SUBJECT
from riskengine.model import SourceRecord
from riskengine.pipeline import ORDER_EVENTS, TRADES, BatchProcessor, RecordKind
from riskengine.runtime import build_engine
from riskengine.settings import Settings
from riskengine.sinks import MemorySink
from riskengine_tools.local import EmbeddedRedis

pytestmark = pytest.mark.integration

ORDERS, TRADES_TOPIC = "crypto-orders", "crypto-trades"


def spoof(user: str = "SPOOFER") -> list[tuple[str, dict[str, Any]]]:
    """A 200,000 USD bait (no previous orders: the 100,000 USD floor) cancelled after 8 s, a buy in between."""
    same = {"user": user, "order_id": f"{user}-bait", "side": "SELL", "price": 100.0}
    return [
        (ORDERS, order(f"{user}-1", "NEW", quantity=2_000.0, at=1_000, **same)),
        (TRADES_TOPIC, trade(f"{user}-t", user=user, side="BUY", quantity=1.0, price=100.0, at=5_000)),
        (ORDERS, order(f"{user}-2", "CANCEL", quantity=2_000.0, at=9_000, **same)),
    ]


def layer(user: str = "LAYERER") -> list[tuple[str, dict[str, Any]]]:
    """Four resting buys at four prices within 3 s, a sell, then all four cancelled within 15 s."""
    events = [
        (ORDERS, order(f"{user}-n{i}", "NEW", order_id=f"{user}-o{i}", user=user, price=99.0 - i, at=i * 1_000))
        for i in range(4)
    ]
    events.append((TRADES_TOPIC, trade(f"{user}-t", user=user, side="SELL", price=100.0, at=6_000)))
    events += [
        (ORDERS, order(f"{user}-c{i}", "CANCEL", order_id=f"{user}-o{i}", user=user, price=99.0 - i, at=10_000 + i))
        for i in range(4)
    ]
    return events


def stuffing(user: str = "STUFFER") -> list[tuple[str, dict[str, Any]]]:
    """46 order events within 46 s: one more than quote stuffing's limit."""
    events = []
    for i in range(23):
        same = {"order_id": f"{user}-o{i}", "user": user, "symbol": "ETH/USDT", "price": 3_000.0}
        events.append((ORDERS, order(f"{user}-n{i}", "NEW", at=i * 2_000, **same)))
        events.append((ORDERS, order(f"{user}-c{i}", "CANCEL", at=i * 2_000 + 1_000, **same)))
    return events


def honest(user: str = "HONEST") -> list[tuple[str, dict[str, Any]]]:
    """A large order that fills while the user also trades the other side: a whale, not a spoofer."""
    same = {"user": user, "order_id": f"{user}-o", "side": "SELL", "price": 100.0}
    return [
        (ORDERS, order(f"{user}-1", "NEW", quantity=2_000.0, at=1_500, **same)),
        (TRADES_TOPIC, trade(f"{user}-t", user=user, side="BUY", price=100.0, at=4_000)),
        (ORDERS, order(f"{user}-2", "FILL", quantity=0.0, filled=2_000.0, at=7_000, **same)),
    ]


SCENARIO = sorted(spoof() + layer() + stuffing() + honest(), key=lambda item: item[1]["timestamp"])
EXPECTED = {"SPOOFING": 1, "LAYERING": 1, "EXCESSIVE_CANCELS": 1}


def topic_records(topic: str) -> list[SourceRecord]:
    """The scenario's records of one topic, one partition, in event-time order (as a producer keyed by user)."""
    subject = ORDERS_SUBJECT if topic == ORDERS else TRADES_SUBJECT
    items = [item for item_topic, item in SCENARIO if item_topic == topic]
    return [
        SourceRecord(topic, 0, offset, item["timestamp"], item["userId"].encode(), CODEC.encode(subject, item))
        for offset, item in enumerate(items)
    ]


class Functions:
    """score_trades and score_orders as two processors on one Redis, writing to one sink."""

    def __init__(self, url: str) -> None:
        self.sink = MemorySink()
        settings = Settings(redis_url=url)
        self.processors = {
            TRADES_TOPIC: self._processor(url, settings, TRADES),
            ORDERS: self._processor(url, settings, ORDER_EVENTS),
        }

    def _processor(self, url: str, settings: Settings, kind: RecordKind) -> BatchProcessor:
        engine = build_engine(redis.Redis.from_url(url), settings)
        return BatchProcessor(engine=engine, codec=CODEC, sink=self.sink, clock_ms=lambda: NOW, kind=kind)

    def deliver(self, batch: Sequence[SourceRecord]) -> None:
        outcome = self.processors[batch[0].topic].process(batch)
        assert outcome.failure is None and not outcome.dead_letters

    def alerts(self) -> dict[str, str]:
        """Alert id -> pattern of every alert written (republished copies included, so ids must agree)."""
        found: dict[str, str] = {}
        for alert in self.sink.alerts:
            assert found.setdefault(alert["alertId"], alert["patternType"]) == alert["patternType"]
        return found


def batches(records: list[SourceRecord], cuts: Sequence[int]) -> Iterator[list[SourceRecord]]:
    """``records`` cut into consecutive batches of the sizes in ``cuts`` (cycled), the rest in the last."""
    start, index = 0, 0
    while start < len(records):
        size = cuts[index % len(cuts)] if cuts else len(records)
        yield records[start : start + size]
        start, index = start + size, index + 1


def feed(functions: Functions, trade_cuts: Sequence[int], order_cuts: Sequence[int], schedule: Sequence[bool]) -> None:
    """Both topics' batches, interleaved as ``schedule`` says (True: the orders topic goes next)."""
    pending = {
        TRADES_TOPIC: list(batches(topic_records(TRADES_TOPIC), trade_cuts)),
        ORDERS: list(batches(topic_records(ORDERS), order_cuts)),
    }
    for orders_next in [*schedule, *([True] * len(pending[ORDERS])), *([False] * len(pending[TRADES_TOPIC]))]:
        topic = ORDERS if orders_next else TRADES_TOPIC
        if pending[topic]:
            functions.deliver(pending[topic].pop(0))


@pytest.fixture(scope="module")
def database(redis_server: EmbeddedRedis) -> Iterator[tuple[redis.Redis, str]]:
    client = redis.Redis.from_url(redis_server.url)
    yield client, redis_server.url
    client.close()


def reference(database: tuple[redis.Redis, str]) -> dict[str, str]:
    """One record at a time, in event-time order across both topics."""
    client, url = database
    client.flushall()
    functions = Functions(url)
    for topic, item in SCENARIO:
        records = topic_records(topic)
        key = "eventId" if topic == ORDERS else "tradeId"
        functions.deliver([next(r for r in records if CODEC.decode(_subject(topic), r.value)[key] == item[key])])
    return functions.alerts()


def _subject(topic: str) -> str:
    return ORDERS_SUBJECT if topic == ORDERS else TRADES_SUBJECT


def test_each_episode_is_one_alert_and_the_honest_whale_none(database: tuple[redis.Redis, str]) -> None:
    alerts = reference(database)
    counts = {pattern: list(alerts.values()).count(pattern) for pattern in set(alerts.values())}
    assert counts == EXPECTED


@pytest.mark.parametrize("completing", ["trade last", "cancel last"])
def test_a_spoof_is_the_same_alert_whichever_topic_completes_it(
    database: tuple[redis.Redis, str], completing: str
) -> None:
    client, url = database
    client.flushall()
    functions = Functions(url)
    new, traded, cancel = spoof()
    records = {topic: topic_records(topic) for topic in (ORDERS, TRADES_TOPIC)}

    def record(item: tuple[str, dict[str, Any]]) -> list[SourceRecord]:
        topic, fields = item
        key = "eventId" if topic == ORDERS else "tradeId"
        return [r for r in records[topic] if CODEC.decode(_subject(topic), r.value)[key] == fields[key]]

    order_of = [new, traded, cancel] if completing == "cancel last" else [new, cancel, traded]
    for item in order_of:
        functions.deliver(record(item))
    [alert_id] = [a for a, p in functions.alerts().items() if p == "SPOOFING"]
    assert alert_id in reference(database)
    [alert] = [a for a in functions.sink.alerts if a["alertId"] == alert_id]
    assert set(alert["triggeredEvents"]) == {"SPOOFER-1", "SPOOFER-t", "SPOOFER-2"}


def test_redelivering_every_batch_changes_nothing(database: tuple[redis.Redis, str]) -> None:
    client, url = database
    client.flushall()
    functions = Functions(url)
    feed(functions, [7], [5], [True, False] * 10)
    first, before = functions.alerts(), dump(client)
    raised = len(functions.sink.alerts)
    feed(functions, [7], [5], [True, False] * 10)  # the trigger retries everything
    assert dump(client) == before
    assert functions.alerts() == first and len(functions.sink.alerts) == 2 * raised  # republished, not new


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    trade_cuts=st.lists(st.integers(1, 4), max_size=3),
    order_cuts=st.lists(st.integers(1, 60), max_size=4),
    schedule=st.lists(st.booleans(), max_size=20),
)
def test_alerts_do_not_depend_on_batches_or_on_how_the_topics_interleave(
    database: tuple[redis.Redis, str], trade_cuts: list[int], order_cuts: list[int], schedule: list[bool]
) -> None:
    expected = reference(database)
    client, url = database
    client.flushall()
    functions = Functions(url)
    feed(functions, trade_cuts, order_cuts, schedule)
    assert functions.alerts() == expected
