"""Order-book windows' gates against a real redis-server: a trade's order-book window is written but not
read back until its user has placed an order event in that market, and that changes no score and no alert.

Spoofing and layering need order events, so an order-book window that never held one has nothing they
could match (windows/spec.py, ``Scope.gate``). Skipping its read is what keeps the order-book rules'
cost off a trade stream without orders (docs/performance.md).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from builders import BASE_TS, CODEC, order, trade
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_cli import CLI_ENV, RISKENGINE
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


def test_behind_a_closed_gate_only_trades_a_rule_can_still_read_are_kept_and_not_for_long(
    watched: tuple[redis.Redis, Functions, list[str]],
) -> None:
    client, functions, _ = watched
    stream = records(TRADES_TOPIC, [trade(f"t{i}", at=i * 10_000) for i in range(40)])
    for start in range(0, 40, 5):
        functions.deliver(stream[start : start + 5])
    # The watermark (second newest) is 380 s; market lateness 60 s and LAYERING's reach 90 s cut at 230 s.
    kept = [int(score) for _, score in client.zrange(BOOK, 0, -1, withscores=True)]
    assert kept == [BASE_TS + i * 10_000 for i in range(23, 40)]
    assert 200_000 < client.pttl(BOOK) <= 90_000 + 60_000 + 60_000  # closed horizon + lateness + 60 s

    functions.deliver(records(ORDERS, [order("o1", "NEW", at=385_000)]))
    assert client.pttl(BOOK) > 3_600_000  # open: the order-book window's own TTL (SPOOFING's hour)


def test_a_trade_stream_without_orders_leaves_every_order_book_window_unread(
    watched: tuple[redis.Redis, Functions, list[str]],
) -> None:
    client, functions, dormant = watched
    items = [trade(f"t{i}", user=f"U{i % 3}", symbol=("BTC/USDT", "ETH/USDT")[i % 2], at=i * 500) for i in range(12)]
    functions.deliver(records(TRADES_TOPIC, items))
    assert sorted(set(dormant)) == sorted(key.decode() for key in client.keys("*:ob:*") if b":gate" not in key)
    assert len(set(dormant)) == 6 and not client.keys("*:gate")


_event = st.tuples(
    st.sampled_from(["trade"] * 5 + ["NEW", "big NEW", "CANCEL"]),
    st.sampled_from(["U1", "U2"]),
    st.sampled_from(["BUY", "SELL"]),
    st.integers(0, 4),  # order id
    st.integers(0, 400_000),  # event time: long enough for closed windows to drop trades (90 s reach)
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
    events=st.lists(_event, min_size=1, max_size=60),
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


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    trade_times=st.lists(st.integers(0, 400_000), min_size=17, max_size=40),
    bait_at=st.integers(300_000, 390_000),
    traded_after=st.integers(0, 25_000),
    cut=st.integers(1, 8),
)
# A spoof placed just after the boundary of the last closed trim: trimming any further drops its trade leg.
@example(trade_times=[i * 20_000 for i in range(19)], bait_at=295_000, traded_after=5_000, cut=4)
def test_trades_dropped_behind_a_closed_gate_change_no_score_and_no_alert(
    database: tuple[redis.Redis, str], trade_times: list[int], bait_at: int, traded_after: int, cut: int
) -> None:
    """A busy trader's window sheds trades while closed; then the orders of a spoof whose trade leg
    came first arrive on top of what is left (every trade batch first, so the gate is closed while
    they land)."""
    client, url = database
    events = [("trade", "U1", "BUY", 0, at) for at in trade_times]
    events.append(("trade", "U1", "BUY", 0, bait_at + traded_after))  # the spoof's trade leg
    events += [("big NEW", "U1", "SELL", 1, bait_at), ("CANCEL", "U1", "SELL", 1, bait_at + 28_000)]
    streams = scenario(events)
    schedule = [False] * len(events)
    client.flushall()
    gated = outcome(run(url, streams, [cut], schedule))
    client.flushall()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "_gate_mode", lambda scope, events: store.NO_GATE)
        ungated = outcome(run(url, streams, [cut], schedule))
    assert gated == ungated


def test_open_gates_gives_windows_written_before_gates_theirs_once(
    watched: tuple[redis.Redis, Functions, list[str]], database: tuple[redis.Redis, str]
) -> None:
    """The upgrade step: a window holding an order but no gate is read again by score_trades afterwards."""
    client, functions, dormant = watched
    functions.deliver(records(ORDERS, [order("o1", "NEW", quantity=2_500.0, at=1_000)]))
    client.delete(f"{BOOK}:gate")  # as an engine without gates left it
    client.pexpire(BOOK, 3_000_000)

    def open_gates() -> str:
        env = {**CLI_ENV, "REDIS_URL": database[1]}
        result = subprocess.run([str(RISKENGINE), "open-gates"], capture_output=True, text=True, env=env, check=True)
        return " ".join(result.stderr.split())

    assert "1 order-book windows, 1 gates opened" in open_gates()
    assert abs(client.pttl(f"{BOOK}:gate") - client.pttl(BOOK)) < 1_000
    assert not client.exists(f"{BOOK}:alerts:gate", f"{BOOK}:vol:gate")
    functions.deliver(records(TRADES_TOPIC, [trade("t1", side="SELL", at=2_000)]))
    assert dormant == []
    assert "1 order-book windows, 0 gates opened" in open_gates()
