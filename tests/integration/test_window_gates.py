"""Order-book windows' gates against a real redis-server: a trade's order-book window is written but not
read back until its user has placed an order event in that market, and that changes no score and no alert.

Spoofing and layering need order events, so an order-book window that never held one has nothing they
could match (windows/spec.py, ``Scope.gate``). Skipping its read is what keeps the order-book rules'
cost off a trade stream without orders (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from builders import CODEC, order, trade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_order_patterns import ORDERS, TRADES_TOPIC, Functions, batches

from riskengine.codec import ORDERS_SUBJECT, TRADES_SUBJECT
from riskengine.model import SourceRecord
from riskengine.windows import store
from riskengine_tools.local import EmbeddedRedis

pytestmark = pytest.mark.integration

BOOK = "rk:v2:{u:U1}:ob:BTC/USDT@BINANCE"


@pytest.fixture(scope="module")
def database(redis_server: EmbeddedRedis) -> Iterator[tuple[redis.Redis, str]]:
    client = redis.Redis.from_url(redis_server.url)
    yield client, redis_server.url
    client.close()


def records(topic: str, items: list[dict[str, Any]]) -> list[SourceRecord]:
    subject = ORDERS_SUBJECT if topic == ORDERS else TRADES_SUBJECT
    return [
        SourceRecord(topic, 0, offset, item["timestamp"], item["userId"].encode(), CODEC.encode(subject, item))
        for offset, item in enumerate(items)
    ]


def dormant_windows(functions: Functions, topic: str) -> list[str]:
    """Keys of the windows the last part of ``topic``'s processor left unread."""
    recorded: list[str] = []
    engine_store = functions.processors[topic].engine.store
    apply = engine_store.apply

    def watched(events: Any) -> Any:
        for part, windows in apply(events):
            recorded.extend(window.key for window in windows.windows if window.dormant)
            yield part, windows

    engine_store.apply = watched
    return recorded


@pytest.fixture
def watched(database: tuple[redis.Redis, str]) -> tuple[redis.Redis, Functions, list[str]]:
    """An empty Redis, both functions on it, and the keys of the windows score_trades leaves unread."""
    client, url = database
    client.flushall()
    functions = Functions(url)
    return client, functions, dormant_windows(functions, TRADES_TOPIC)


def test_an_order_book_window_is_read_only_once_its_user_has_placed_an_order_there(
    watched: tuple[redis.Redis, Functions, list[str]],
) -> None:
    client, functions, dormant = watched
    trades = records(TRADES_TOPIC, [trade("t1", at=1_000), trade("t2", at=2_000)])
    functions.deliver(trades[:1])
    assert dormant == [BOOK]
    assert client.zcard(BOOK) == 1 and not client.exists(f"{BOOK}:gate")  # placed all the same

    functions.deliver(records(ORDERS, [order("o1", "NEW", at=1_500)]))
    assert client.exists(f"{BOOK}:gate")
    assert abs(client.pttl(f"{BOOK}:gate") - client.pttl(BOOK)) < 1_000  # they expire together

    dormant.clear()
    functions.deliver(trades[1:])
    assert dormant == [] and client.zcard(BOOK) == 3


def test_a_trade_stream_without_orders_leaves_every_order_book_window_unread(
    watched: tuple[redis.Redis, Functions, list[str]],
) -> None:
    client, functions, dormant = watched
    items = [trade(f"t{i}", user=f"U{i % 3}", symbol=("BTC/USDT", "ETH/USDT")[i % 2], at=i * 500) for i in range(12)]
    functions.deliver(records(TRADES_TOPIC, items))
    assert sorted(set(dormant)) == sorted(key.decode() for key in client.keys("*:ob:*") if b":gate" not in key)
    assert len(set(dormant)) == 6 and not client.keys("*:gate")


_event = st.tuples(
    st.sampled_from(["trade", "NEW", "big NEW", "CANCEL"]),
    st.sampled_from(["U1", "U2"]),
    st.sampled_from(["BUY", "SELL"]),
    st.integers(0, 4),  # order id
    st.integers(0, 60_000),  # event time
)


def scenario(events: list[tuple[str, str, str, int, int]]) -> dict[str, list[SourceRecord]]:
    """Both topics' records of ``events`` in event-time order: orders of 1 or 2,500 units at 100 USD."""
    by_topic: dict[str, list[dict[str, Any]]] = {TRADES_TOPIC: [], ORDERS: []}
    for number, (kind, user, side, order_id, at) in enumerate(sorted(events, key=lambda event: event[4])):
        if kind == "trade":
            by_topic[TRADES_TOPIC].append(trade(f"t{number}", user=user, side=side, at=at))
        else:
            quantity = 2_500.0 if kind == "big NEW" else 1.0
            event_type = "CANCEL" if kind == "CANCEL" else "NEW"
            fields = {"order_id": f"{user}-o{order_id}", "user": user, "side": side, "quantity": quantity}
            by_topic[ORDERS].append(order(f"e{number}", event_type, at=at, **fields))
    return {topic: records(topic, items) for topic, items in by_topic.items()}


def run(url: str, streams: dict[str, list[SourceRecord]], cuts: list[int], schedule: list[bool]) -> Functions:
    functions = Functions(url)
    pending = {topic: list(batches(items, cuts)) for topic, items in streams.items()}
    for orders_next in [*schedule, *([True] * len(pending[ORDERS])), *([False] * len(pending[TRADES_TOPIC]))]:
        topic = ORDERS if orders_next else TRADES_TOPIC
        if pending[topic]:
            functions.deliver(pending[topic].pop(0))
    return functions


def outcome(functions: Functions) -> tuple[dict[str, Any], dict[str, Any]]:
    scores = {
        record["originalTrade"]["tradeId"]: (record["riskScore"], record["scoreContributions"], record["alertIds"])
        for record in functions.sink.analyzed
    }
    alerts = {alert["alertId"]: (alert["patternType"], alert["triggeredEvents"]) for alert in functions.sink.alerts}
    return scores, alerts


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=st.lists(_event, min_size=1, max_size=30),
    cuts=st.lists(st.integers(1, 6), max_size=3),
    schedule=st.lists(st.booleans(), max_size=12),
)
def test_gates_change_no_score_and_no_alert(
    database: tuple[redis.Redis, str],
    events: list[tuple[str, str, str, int, int]],
    cuts: list[int],
    schedule: list[bool],
) -> None:
    client, url = database
    streams = scenario(events)
    client.flushall()
    gated = outcome(run(url, streams, cuts, schedule))
    client.flushall()
    with pytest.MonkeyPatch.context() as patch:  # every order-book window read back, as before gates
        patch.setattr(store, "_gate_mode", lambda scope, events: store.NO_GATE)
        ungated = outcome(run(url, streams, cuts, schedule))
    assert gated == ungated
