"""Order events through the engine against a real redis-server: placed in order-book windows beside the
user's trades, judged where they arrive (whichever topic delivers the completing event), one alert per
named episode, idempotent under redelivery, conflicting copies dead-lettered.

The rule here is a test rule (a spoof without its size condition), so these tests pin the harness, not
a pattern's thresholds (tests/unit/detectors has those).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from builders import CODEC, NOW, order, trade
from test_redelivery import dump, stable

from riskengine.codec import ORDERS_SUBJECT, TRADES_SUBJECT
from riskengine.detectors.base import Match, RuleConfig, SequenceRule, within_reach
from riskengine.engine import RiskEngine, window_specs
from riskengine.model import SourceRecord
from riskengine.pipeline import ORDER_EVENTS, TRADES, BatchOutcome, BatchProcessor, RecordKind
from riskengine.scoring import ScoringConfig
from riskengine.sinks import MemorySink
from riskengine.windows.events import SEPARATOR
from riskengine.windows.spec import Scope
from riskengine.windows.store import RedisWindowStore

pytestmark = pytest.mark.integration

REACH_MS = 30_000


@dataclass(frozen=True)
class _CancelConfig(RuleConfig):
    pass


class CancelAroundOppositeTrade(SequenceRule):
    """Test rule: an order cancelled unfilled within REACH_MS of its NEW, with a trade or fill of the
    user on the other side in between. Named episode: the order."""

    name = pattern = "TEST_CANCEL_AROUND_TRADE"
    version = 1
    scope = Scope.ORDER_BOOK
    Config = _CancelConfig
    length = 50
    window_ms = 60_000

    def check(self, events: Sequence[Any], end: int) -> Match | None:
        cancel = events[end]
        if cancel.event_type != "CANCEL" or cancel.filled_quantity:
            return None
        placed = [e for e in events[:end] if e.order_id == cancel.order_id and e.event_type == "NEW"]
        if not placed or cancel.timestamp - placed[0].timestamp > REACH_MS:
            return None
        start = events.index(placed[0])
        opposite = [
            e
            for e in events[start:end]
            if e.side != cancel.side and (e.is_trade or e.event_type in ("PARTIAL_FILL", "FILL"))
        ]
        if not opposite:
            return None
        evidence = (placed[0].event_id, *(e.event_id for e in opposite), cancel.event_id)
        return Match(0.8, evidence, cancel.timestamp, {"oppositeTrades": len(opposite)}, "test", cancel.order_id)

    def last_affected(self, events: Sequence[Any], position: int) -> int:
        return within_reach(events, position, REACH_MS)


def _processors(client: redis.Redis) -> tuple[BatchProcessor, BatchProcessor, MemorySink]:
    """A trade and an order-event processor sharing one store layout (as two functions share Redis) and one sink."""
    rules = [CancelAroundOppositeTrade()]
    specs = window_specs(rules, ScoringConfig(), 5_000, 300_000)
    sink = MemorySink()

    def processor(kind: RecordKind) -> BatchProcessor:
        engine = RiskEngine(RedisWindowStore(client, specs), rules, clock_ms=lambda: NOW)
        return BatchProcessor(engine=engine, codec=CODEC, sink=sink, clock_ms=lambda: NOW, kind=kind)

    return processor(TRADES), processor(ORDER_EVENTS), sink


def _records(topic: str, items: Sequence[dict[str, Any]], first_offset: int = 0) -> list[SourceRecord]:
    subject = ORDERS_SUBJECT if topic == "crypto-orders" else TRADES_SUBJECT
    return [
        SourceRecord(topic, 0, offset, item["timestamp"], item["userId"].encode(), CODEC.encode(subject, item))
        for offset, item in enumerate(items, start=first_offset)
    ]


def _spoof() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    orders = [
        order("E1", "NEW", order_id="O1", side="SELL", quantity=50.0, at=0),
        order("E2", "CANCEL", order_id="O1", side="SELL", quantity=50.0, at=8_000),
    ]
    return orders, [trade("T1", side="BUY", at=4_000)]


def _alerts(outcome: BatchOutcome) -> list[dict[str, Any]]:
    assert outcome.failure is None and outcome.evaluation is not None
    return outcome.evaluation.new_alerts


def test_the_cancel_completes_the_episode_when_the_trade_came_first(redis_client: redis.Redis) -> None:
    trades, orders, _ = _processors(redis_client)
    placed, traded = _spoof()
    assert _alerts(orders.process(_records("crypto-orders", placed[:1]))) == []
    scored = trades.process(_records("crypto-trades", traded))
    assert _alerts(scored) == [] and scored.scored == 1
    completed = orders.process(_records("crypto-orders", placed[1:], first_offset=1))
    [alert] = _alerts(completed)
    assert alert["patternType"] == "TEST_CANCEL_AROUND_TRADE" and alert["triggeredEvents"] == ["E1", "T1", "E2"]
    assert (alert["userId"], alert["symbol"], alert["exchange"]) == ("U1", "BTC/USDT", "BINANCE")
    assert completed.scored == 0  # order events raise alerts; they are not scored records


def test_a_late_opposite_trade_completes_the_episode_with_the_same_alert_id(redis_client: redis.Redis) -> None:
    placed, traded = _spoof()
    trades, orders, _ = _processors(redis_client)
    orders.process(_records("crypto-orders", placed[:1]))
    trades.process(_records("crypto-trades", traded))
    [in_order] = _alerts(orders.process(_records("crypto-orders", placed[1:], first_offset=1)))
    redis_client.flushall()

    trades, orders, _ = _processors(redis_client)
    assert _alerts(orders.process(_records("crypto-orders", placed))) == []  # no opposite trade yet
    late = trades.process(_records("crypto-trades", traded))
    [alert] = _alerts(late)
    assert alert["alertId"] == in_order["alertId"]  # the episode is the order, whoever completes it
    assert set(alert["triggeredEvents"]) == {"E1", "T1", "E2"}
    [record] = late.evaluation.analyzed  # type: ignore[union-attr]
    assert alert["alertId"] in record["alertIds"] and "TEST_CANCEL_AROUND_TRADE" in record["triggeredPatterns"]


def test_order_events_and_trades_share_the_order_book_window(redis_client: redis.Redis) -> None:
    trades, orders, _ = _processors(redis_client)
    placed, traded = _spoof()
    orders.process(_records("crypto-orders", placed))
    trades.process(_records("crypto-trades", traded))
    book = [m.decode().split(SEPARATOR) for m in redis_client.zrange("rk:v2:{u:U1}:ob:BTC/USDT@BINANCE", 0, -1)]
    assert [fields[2] for fields in book] == ["E1", "T1", "E2"]  # event time order, both topics
    assert [len(fields) for fields in book] == [11, 8, 11]
    assert book[0][8:] == ["O1", "NEW", "0.0"] and book[0][1].endswith("o")  # order events' arrival keys
    assert redis_client.zcard("rk:v2:{u:U1}") == 1  # the user's trade window holds trades only
    assert not redis_client.exists("rk:v2:{u:U1}:o")  # no rule of this set reads the user's orders window


def test_a_redelivered_order_batch_changes_nothing_and_republishes_its_alert(redis_client: redis.Redis) -> None:
    trades, orders, sink = _processors(redis_client)
    placed, traded = _spoof()
    trades.process(_records("crypto-trades", traded))
    batch = _records("crypto-orders", placed)
    first = orders.process(batch)
    before = dump(redis_client)
    again = orders.process(batch)
    assert dump(redis_client) == before
    assert _alerts(again) == [] and again.redelivered == 2 and again.alerts_republished == 1
    assert stable(again.evaluation.alerts) == stable(first.evaluation.alerts)  # type: ignore[union-attr]
    assert len({alert["alertId"] for alert in sink.alerts}) == 1


def test_an_order_event_copy_with_other_content_is_dead_lettered(redis_client: redis.Redis) -> None:
    _, orders, sink = _processors(redis_client)
    placed, _ = _spoof()
    orders.process(_records("crypto-orders", placed[:1]))
    changed = _records("crypto-orders", [placed[0] | {"price": 101.0, "notional": 5_050.0}], first_offset=7)
    outcome = orders.process(changed)
    assert outcome.dead_letters == {"conflicting_duplicate": 1}
    [letter] = sink.dead_letters
    assert "order event E1 was first received at partition 0, offset 0" in letter.detail
    assert "new eventId" in letter.detail


def test_a_bad_order_event_is_dead_lettered_with_its_reason_and_the_rest_go_on(redis_client: redis.Redis) -> None:
    _, orders, sink = _processors(redis_client)
    good = order("E1", "NEW", order_id="O1", at=0)
    bad = order("E2", "NEW", order_id="O2", filled=1.0, at=10)  # something filled on a NEW
    outcome = orders.process(_records("crypto-orders", [good, bad]))
    assert outcome.failure is None and outcome.dead_letters == {"filled_quantity_not_zero": 1}
    assert redis_client.zcard("rk:v2:{u:U1}:ob:BTC/USDT@BINANCE") == 1
    assert [letter.record.offset for letter in sink.dead_letters] == [1]


def test_a_trade_and_an_order_event_with_one_id_do_not_answer_for_each_other(redis_client: redis.Redis) -> None:
    trades, orders, sink = _processors(redis_client)
    trades.process(_records("crypto-trades", [trade("X1", at=0)]))
    outcome = orders.process(_records("crypto-orders", [order("X1", "NEW", order_id="O1", at=10)]))
    assert outcome.redelivered == 0 and outcome.dead_letters == {} and sink.dead_letters == []
    assert redis_client.zcard("rk:v2:{u:U1}:ob:BTC/USDT@BINANCE") == 2


def test_trades_stay_out_of_order_book_windows_when_no_order_book_rule_is_on(redis_client: redis.Redis) -> None:
    specs = window_specs([], ScoringConfig(), 5_000, 300_000)
    assert Scope.ORDER_BOOK not in specs and Scope.USER_ORDERS not in specs
    engine = RiskEngine(RedisWindowStore(redis_client, specs), [], clock_ms=lambda: NOW)
    processor = BatchProcessor(engine=engine, codec=CODEC, sink=MemorySink(), clock_ms=lambda: NOW)
    processor.process(_records("crypto-trades", [trade("T1", at=0)]))
    assert redis_client.keys("*:ob:*") == []
