"""The default labelled stream (seed 3, as docs/detection.md's back-test uses it) holds what its labels say.

Checked against the files' contract (labels-format, docs/simulation.md) and against reference
implementations of the rules written from their definitions (orderbook_reference.py,
spine_reference.py), not against the engine: every injected episode satisfies its rule, and nothing
else in the stream does, honest look-alikes included.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import orderbook_reference
import pytest
from spine_reference import CHECKERS, is_valid

from riskengine.codec import ORDERS_SUBJECT, TRADES_SUBJECT, AvroCodec, FixedIdRegistry
from riskengine.validation import validate_order, validate_trade
from riskengine_tools.simulate import EPISODES, LOOKALIKES, MixedStream, StreamConfig

Record = dict[str, Any]

SEED = 3
MIN_EPISODES = 20
PATTERNS = ("LARGE_ORDER", "VOLUME_SPIKE", "WASH_TRADING", "FLASH_CRASH", "RAPID_BURST")
ORDER_PATTERNS = ("SPOOFING", "LAYERING", "EXCESSIVE_CANCELS")
LABEL_KEYS = ["patternType", "userId", "symbol", "exchange", "start", "end", "eventIds"]
ORDER_KEYS = [
    "kind", "eventId", "orderId", "userId", "customerId", "symbol", "baseAsset", "quoteAsset", "side", "orderType",
    "eventType", "price", "quantity", "filledQuantity", "notional", "timestamp", "exchange", "walletAddress",
    "ipAddress", "country", "sessionId",
]  # fmt: skip


class Run:
    def __init__(self, config: StreamConfig) -> None:
        stream = MixedStream(config)
        self.records: list[Record] = list(stream.records())
        self.labels = stream.labels()
        self.episodes = stream.episodes
        self.activities = stream.activities
        self.by_id = {_id(record): record for record in self.records}

    @property
    def trades(self) -> list[Record]:
        return [record for record in self.records if record["kind"] == "trade"]

    @property
    def orders(self) -> list[Record]:
        return [record for record in self.records if record["kind"] == "order"]

    def labelled(self, pattern: str) -> list[dict[str, Any]]:
        return [label for label in self.labels if label["patternType"] == pattern]


@pytest.fixture(scope="module")
def run() -> Run:
    return Run(StreamConfig(seed=SEED))


def _id(record: Record) -> str:
    return record["eventId"] if record["kind"] == "order" else record["tradeId"]


# --- the files' contract ---------------------------------------------------------------------------


def test_the_default_stream_is_the_size_the_docs_give(run: Run) -> None:
    """About 107,000 lines: a replay at 5,000 events/s takes about 20 s."""
    assert 95_000 <= len(run.records) <= 125_000
    assert 6_000 <= len(run.orders) <= 15_000


def test_every_line_is_a_trade_or_an_order_event_in_event_time_order(run: Run) -> None:
    assert {record["kind"] for record in run.records} == {"trade", "order"}
    assert all(next(iter(record)) == "kind" for record in run.records)
    stamps = [record["timestamp"] for record in run.records]
    assert all(isinstance(stamp, int) for stamp in stamps)
    assert all(a <= b for a, b in pairwise(stamps))
    assert len(run.by_id) == len(run.records)  # trade ids and order event ids are unique


def test_every_line_is_one_the_engine_accepts_and_its_avro_schema_holds(run: Run) -> None:
    """Trades pass validate_trade, order events validate_order, and each encodes to its subject's Avro
    schema and back unchanged (what the demo and a producer would send)."""
    now_ms = run.records[-1]["timestamp"]
    codec = AvroCodec(FixedIdRegistry())
    for record in run.records:
        fields = {key: value for key, value in record.items() if key != "kind"}
        if record["kind"] == "trade":
            assert is_valid(fields)
            assert validate_trade(fields, now_ms=now_ms).trade_id == record["tradeId"]
            subject = TRADES_SUBJECT
        else:
            assert validate_order(fields, now_ms=now_ms).event_id == record["eventId"]
            subject = ORDERS_SUBJECT
        assert codec.decode(subject, codec.encode(subject, fields)) == fields


def test_order_events_carry_the_order_event_fields(run: Run) -> None:
    for event in run.orders:
        assert list(event) == ORDER_KEYS
        assert event["side"] in ("BUY", "SELL") and event["orderType"] in ("LIMIT", "MARKET")
        assert event["eventType"] in ("NEW", "AMEND", "CANCEL", "PARTIAL_FILL", "FILL")
        assert event["price"] > 0 and event["quantity"] >= 0 and event["filledQuantity"] >= 0
        assert event["notional"] == round(event["quantity"] * event["price"], 2)
        assert event["symbol"] == f"{event['baseAsset']}/{event['quoteAsset']}"
        assert all(isinstance(event[key], str) for key in ORDER_KEYS[-4:])


def test_each_order_is_a_consistent_life(run: Run) -> None:
    """NEW first (nothing filled), then amendments and partial fills, then one FILL or CANCEL; the open
    quantity is what is left after the cumulative fills, 0 once the order is done."""
    lives: defaultdict[str, list[Record]] = defaultdict(list)
    for event in run.orders:
        lives[event["orderId"]].append(event)
    for events in lives.values():
        new, *middle, last = events
        assert new["eventType"] == "NEW" and new["filledQuantity"] == 0 and new["quantity"] > 0
        assert all(e["eventType"] in ("AMEND", "PARTIAL_FILL") for e in middle)
        assert last["eventType"] in ("FILL", "CANCEL") and last["quantity"] == 0 == last["notional"]
        assert len({(e["userId"], e["symbol"], e["exchange"], e["side"]) for e in events}) == 1
        for before, after in pairwise(events[:-1] if last["eventType"] == "CANCEL" else events):
            total = before["quantity"] + before["filledQuantity"]
            assert after["quantity"] + after["filledQuantity"] == pytest.approx(total, rel=1e-9)
            assert after["filledQuantity"] >= before["filledQuantity"]
        assert last["filledQuantity"] == events[-2]["filledQuantity"] or last["eventType"] == "FILL"


def test_the_trades_of_fills_match_their_fill_events(run: Run) -> None:
    """Every PARTIAL_FILL and FILL has exactly one trade: same trader, market, side, time and price,
    the fill's quantity, the order's id; and every trade with an order-flow order id is such a fill."""
    fills = [e for e in run.orders if e["eventType"] in ("PARTIAL_FILL", "FILL")]
    following = {
        fill["eventId"]: trade
        for fill, trade in pairwise(run.records)
        if fill["kind"] == "order" and trade["kind"] == "trade"
    }
    assert all(following[fill["eventId"]]["orderId"] == fill["orderId"] for fill in fills)  # on the next line
    trades = {t["orderId"]: [] for t in run.trades if t["orderId"] and t["orderId"].startswith("ORD-")}
    for trade in run.trades:
        if trade["orderId"] in trades:
            trades[trade["orderId"]].append(trade)
    assert sum(map(len, trades.values())) == len(fills) > 1_000
    filled_before: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for fill in fills:
        trade = trades[fill["orderId"]][seen[fill["orderId"]]]
        seen[fill["orderId"]] += 1
        same = ("userId", "customerId", "symbol", "exchange", "side", "orderType", "timestamp", "price")
        assert {key: trade[key] for key in same} == {key: fill[key] for key in same}
        quantity = fill["filledQuantity"] - filled_before[fill["orderId"]]
        assert trade["quantity"] == pytest.approx(quantity, rel=1e-9)
        assert trade["counterpartyUserId"] is None
        filled_before[fill["orderId"]] = fill["filledQuantity"]


def test_labels_have_exactly_the_shared_keys_and_their_events_times(run: Run) -> None:
    for label in run.labels:
        assert list(label) == LABEL_KEYS
        events = [run.by_id[event_id] for event_id in label["eventIds"]]
        assert [record["timestamp"] for record in events] == sorted(record["timestamp"] for record in events)
        assert (label["start"], label["end"]) == (events[0]["timestamp"], events[-1]["timestamp"])
        positions = [run.records.index(record) for record in events[:2]]
        assert positions == sorted(positions)


def test_every_labelled_event_is_in_the_stream_and_belongs_to_the_labelled_subject(run: Run) -> None:
    for label in run.labels:
        events = [run.by_id[event_id] for event_id in label["eventIds"]]  # KeyError: not in the stream
        if label["patternType"] == "FLASH_CRASH":
            assert label["userId"] is None
        else:
            assert {record["userId"] for record in events} == {label["userId"]}
        if label["symbol"] is not None or label["userId"] is None:
            assert {(r["symbol"], r["exchange"]) for r in events} == {(label["symbol"], label["exchange"])}
        else:
            assert len({(r["symbol"], r["exchange"]) for r in events}) > 1


def test_every_pattern_has_enough_episodes(run: Run) -> None:
    labelled = Counter(label["patternType"] for label in run.labels)
    assert set(labelled) == {*PATTERNS, *ORDER_PATTERNS}
    assert min(labelled.values()) >= MIN_EPISODES
    by_planner = Counter({planner: n for planners in run.episodes.values() for planner, n in planners.items()})
    assert by_planner["SELF_TRADE"] >= MIN_EPISODES / 2 and by_planner["QUOTE_STUFFING"] >= MIN_EPISODES / 2
    assert {pattern: sum(planners.values()) for pattern, planners in run.episodes.items()} == labelled
    assert set(EPISODES) <= set(by_planner)


# --- every injected episode matches its rule, and nothing else does ----------------------------


REFERENCES: dict[str, Callable[[list[Record]], list[orderbook_reference.Match]]] = {
    "SPOOFING (median over the market's orders)": orderbook_reference.spoofing,
    "SPOOFING (median over all the trader's orders)": lambda records: orderbook_reference.spoofing(
        records, median_by_market=False
    ),
    "LAYERING": orderbook_reference.layering,
    "EXCESSIVE_CANCELS": orderbook_reference.excessive_cancels,
}


@pytest.mark.parametrize("reference", list(REFERENCES))
def test_the_rule_finds_exactly_the_labelled_order_book_episodes(run: Run, reference: str) -> None:
    matches = REFERENCES[reference](run.records)
    pattern = matches[0].pattern if matches else reference.split()[0]
    labels = run.labelled(pattern)

    def same(match: orderbook_reference.Match, label: dict[str, Any]) -> bool:
        return match.user_id == label["userId"] and not match.evidence.isdisjoint(label["eventIds"])

    missed = [label for label in labels if not any(same(match, label) for match in matches)]
    stray = [match for match in matches if not any(same(match, label) for label in labels)]
    assert len(labels) >= MIN_EPISODES
    assert missed == []
    assert stray == []


def test_the_spine_rules_find_exactly_the_labelled_trade_episodes(run: Run) -> None:
    """The order flow's fills (and their traders' look-alikes) add no spine pattern and break none."""
    found = {planner: checker(run.trades) for planner, checker in CHECKERS.items()}
    injected = {planner: n for planners in run.episodes.values() for planner, n in planners.items()}
    assert found == {planner: injected[planner] for planner in CHECKERS}


# --- the honest look-alikes are there, and look like abuse to a careless rule ------------------


def test_every_kind_of_look_alike_is_there(run: Run) -> None:
    assert set(LOOKALIKES) <= set(run.activities)
    assert min(run.activities[kind] for kind in LOOKALIKES) >= 10
    assert run.activities["retail"] > 500


def _orders_by_trader(run: Run) -> dict[str, dict[str, list[Record]]]:
    traders: defaultdict[str, defaultdict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    for event in run.orders:
        traders[event["userId"]][event["orderId"]].append(event)
    return traders


def _labelled_users(run: Run, pattern: str) -> set[str]:
    return {label["userId"] for label in run.labelled(pattern)}


def test_market_makers_quote_both_sides_and_cancel_most_quotes(run: Run) -> None:
    """What a careless EXCESSIVE_CANCELS (cancels outnumber fills) or SPOOFING (cancelled after a fill on
    the other side) would flag: traders with the rule's 20 orders or more, on both sides, most of them
    cancelled (but never 6 per FILL: the exact-match test above)."""
    abusers = _labelled_users(run, "EXCESSIVE_CANCELS")
    makers = []
    for user, orders in _orders_by_trader(run).items():
        ends = Counter(events[-1]["eventType"] for events in orders.values())
        sides = {events[0]["side"] for events in orders.values()}
        if len(orders) >= 20 and sides == {"BUY", "SELL"} and ends["CANCEL"] > 1.5 * ends["FILL"] > 0:
            makers.append(user)
    assert len(set(makers) - abusers) >= 5


@pytest.mark.parametrize("median_by_market", [True, False])
def test_whales_place_orders_of_spoofing_bait_size_that_fill(run: Run, median_by_market: bool) -> None:
    """Orders of SPOOFING's bait size, 100,000 USD or more, partly or fully filled."""
    orders = _orders_by_trader(run)
    whales = {
        placed["userId"]
        for placed in orderbook_reference.bait_orders(run.records, median_by_market)
        if placed["notional"] >= 100_000.0 and orders[placed["userId"]][placed["orderId"]][-1]["filledQuantity"] > 0
    }
    assert len(whales - _labelled_users(run, "SPOOFING")) >= 5


def test_retail_traders_cancel_and_re_place_at_a_new_price(run: Run) -> None:
    """A cancelled order followed within seconds by one of the same trader, market and side at another
    price: what a careless LAYERING (no opposite trade, not all cancelled) would count as layers."""
    replaced = 0
    for orders in _orders_by_trader(run).values():
        lives = sorted(orders.values(), key=lambda events: events[0]["timestamp"])
        for before, after in pairwise(lives):
            cancelled = before[-1]["eventType"] == "CANCEL"
            same_side = before[0]["side"] == after[0]["side"] and before[0]["symbol"] == after[0]["symbol"]
            soon = 0 <= after[0]["timestamp"] - before[-1]["timestamp"] <= 1_000
            replaced += cancelled and same_side and soon and after[0]["price"] != before[0]["price"]
    assert replaced >= 100


def test_fast_markets_fill_many_traders_at_once(run: Run) -> None:
    """More than 45 order events and 20 fills on one market within 60 s (what quote stuffing, a burst
    and a crash look like to a rule that counts per market), from traders placing one order each."""
    fast = 0
    events = defaultdict(list)
    for event in run.orders:
        events[event["symbol"], event["exchange"]].append(event)
    for market in events.values():
        for end, last in enumerate(market):
            window = [e for e in market[max(0, end - 200) : end + 1] if e["timestamp"] >= last["timestamp"] - 60_000]
            fills = sum(e["eventType"] == "FILL" for e in window)
            if len(window) > 45 and fills > 20 and len({e["userId"] for e in window}) > 20:
                fast += 1
                break
    assert fast >= 5
