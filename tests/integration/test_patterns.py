"""Every pattern end to end through BatchProcessor on a real redis-server: within one batch and
across batches, out-of-order and late arrivals, no mixing of scopes, one alert per episode."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from builders import BASE_TS, CODEC, NOW, SUBJECT, trade

from riskengine.alerts import alert_id
from riskengine.model import SourceRecord
from riskengine.pipeline import BatchOutcome, BatchProcessor
from riskengine.runtime import build_engine
from riskengine.settings import Settings
from riskengine.sinks import MemorySink
from riskengine.windows.events import notional_cents
from riskengine_tools.local import EmbeddedRedis

pytestmark = pytest.mark.integration


class Feed:
    """A BatchProcessor on the test's Redis, fed Confluent-Avro records with increasing offsets."""

    def __init__(self, client: redis.Redis, url: str) -> None:
        self.sink = MemorySink()
        engine = build_engine(client, Settings(redis_url=url))
        self.processor = BatchProcessor(engine=engine, codec=CODEC, sink=self.sink, clock_ms=lambda: NOW)
        self.offset = 0

    def send(self, *trades: dict[str, Any]) -> BatchOutcome:
        records = []
        for t in trades:
            records.append(
                SourceRecord(
                    "crypto-trades", 0, self.offset, t["timestamp"], t["userId"].encode(), CODEC.encode(SUBJECT, t)
                )
            )
            self.offset += 1
        outcome = self.processor.process(records)
        assert outcome.failure is None, outcome.failure
        assert outcome.response() == {"batchItemFailures": []}
        assert not outcome.dead_letters, outcome.dead_letters
        assert outcome.rule_failures == 0
        return outcome

    def analyzed(self, trade_id: str) -> dict[str, Any]:
        (record,) = [a for a in self.sink.analyzed if a["originalTrade"]["tradeId"] == trade_id]
        return record


@pytest.fixture
def feed(redis_client: redis.Redis, redis_server: EmbeddedRedis) -> Feed:
    return Feed(redis_client, redis_server.url)


# --- scenarios: the trades of one pattern, and the alert they must raise --------------------


@dataclass(frozen=True)
class Scenario:
    pattern: str
    rule: str
    trades: list[dict[str, Any]]
    evidence: list[str]  # trade ids of the single expected alert, in event-time order
    window_key: str  # the window (scope key) the alert id is derived from
    trigger: str  # the trade whose arrival completes the match

    @property
    def user(self) -> str:
        return str(next(t for t in self.trades if t["tradeId"] == self.trigger)["userId"])


def volume_spike() -> Scenario:
    notionals = [2_000.0, 3_100.0, 4_700.0]
    trades = [
        trade(f"VS{i}", user="U-VS", symbol="ETH/USDT", quantity=n / 2_000, price=2_000.0, at=i * 30_000)
        for i, n in enumerate(notionals)
    ]
    return Scenario("VOLUME_SPIKE", "VOLUME_SPIKE@1", trades, ["VS0", "VS1", "VS2"], "rk:v2:{u:U-VS}", "VS2")


def wash_trading() -> Scenario:
    trades = [
        trade("WT0", user="U-WT", symbol="SOL/USDT", side="BUY", quantity=10.0, price=150.0, at=0),
        trade("WT1", user="U-WT", symbol="SOL/USDT", side="SELL", quantity=10.5, price=150.0, at=10_000),
        trade("WT2", user="U-WT", symbol="SOL/USDT", side="BUY", quantity=10.0, price=150.0, at=20_000),
    ]
    return Scenario("WASH_TRADING", "WASH_TRADING@1", trades, ["WT0", "WT1", "WT2"], "rk:v2:{u:U-WT}:s:SOL/USDT", "WT2")


def flash_crash() -> Scenario:
    trades = [
        trade(
            f"FC{i:02d}",
            user=f"U-FC{i}",
            symbol="ADA/USDT",
            side="SELL",
            quantity=1_000.0,
            price=0.5 - i * 0.005,
            at=i * 2_000,
            exchange="KRAKEN",
        )
        for i in range(15)
    ]
    return Scenario(
        "FLASH_CRASH", "FLASH_CRASH@1", trades, [f"FC{i:02d}" for i in range(10)], "rk:v2:{se:ADA/USDT@KRAKEN}", "FC09"
    )


def rapid_burst() -> Scenario:
    trades = [
        trade(f"RB{i:02d}", user="U-RB", symbol="DOT/USDT", quantity=1.0, price=7.0, at=i * 200) for i in range(30)
    ]
    return Scenario("RAPID_BURST", "RAPID_BURST@1", trades, [f"RB{i:02d}" for i in range(21)], "rk:v2:{u:U-RB}", "RB20")


SEQUENCE_SCENARIOS = [volume_spike, wash_trading, flash_crash, rapid_burst]


def _batches_in_one(trades: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [trades]


def _last_one_apart(trades: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [trades[:-1], trades[-1:]]


def _completing_trade_apart(trades: list[dict[str, Any]], trigger: str) -> list[list[dict[str, Any]]]:
    cut = next(i for i, t in enumerate(trades) if t["tradeId"] == trigger)
    return [trades[:cut], trades[cut:]]


def _one_per_batch(trades: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [[t] for t in trades]


SPLITS: dict[str, Callable[[Scenario], list[list[dict[str, Any]]]]] = {
    "one batch": lambda s: _batches_in_one(s.trades),
    "completing trade in batch 2": lambda s: _completing_trade_apart(s.trades, s.trigger),
    "last trade in batch 2": lambda s: _last_one_apart(s.trades),
    "one trade per batch": lambda s: _one_per_batch(s.trades),
}


def _assert_single_alert(feed: Feed, scenario: Scenario) -> dict[str, Any]:
    assert len(feed.sink.alerts) == 1, [(a["patternType"], a["triggeredEvents"]) for a in feed.sink.alerts]
    (alert,) = feed.sink.alerts
    assert alert["patternType"] == scenario.pattern
    assert alert["rule"] == scenario.rule
    assert alert["triggeredEvents"] == scenario.evidence
    assert alert["alertId"] == alert_id(scenario.pattern, scenario.window_key, tuple(scenario.evidence))
    assert alert["userId"] == scenario.user
    assert alert["timestamp"] == next(t["timestamp"] for t in scenario.trades if t["tradeId"] == scenario.evidence[-1])
    assert alert["severity"] in {"LOW", "MEDIUM", "HIGH", "CRITICAL"}
    assert alert["acknowledged"] is False
    trigger = feed.analyzed(scenario.trigger)
    assert scenario.pattern in trigger["triggeredPatterns"]
    assert alert["alertId"] in trigger["alertIds"]
    assert trigger["behavioralAnalysis"]["patternStrengths"][scenario.pattern] > 0
    return alert


@pytest.mark.parametrize("split", list(SPLITS))
@pytest.mark.parametrize("make", SEQUENCE_SCENARIOS, ids=lambda f: f.__name__)
def test_sequence_pattern_is_detected_once_however_the_trades_are_batched(
    feed: Feed, make: Callable[[], Scenario], split: str
) -> None:
    scenario = make()
    for batch in SPLITS[split](scenario):
        if batch:
            feed.send(*batch)
    _assert_single_alert(feed, scenario)
    assert len(feed.sink.analyzed) == len(scenario.trades)  # every trade scored exactly once
    assert not any(a["lateEvent"] for a in feed.sink.analyzed)


def test_all_patterns_together_in_one_batch_raise_exactly_their_alerts(feed: Feed) -> None:
    scenarios = [make() for make in SEQUENCE_SCENARIOS]
    interleaved = sorted((t for s in scenarios for t in s.trades), key=lambda t: (t["timestamp"], t["tradeId"]))
    outcome = feed.send(*interleaved)
    assert outcome.scored == len(interleaved)
    found = {(a["patternType"], tuple(a["triggeredEvents"])) for a in feed.sink.alerts}
    assert found == {(s.pattern, tuple(s.evidence)) for s in scenarios}
    assert sum(outcome.alerts.values()) == 4


def test_large_order_alerts_at_the_threshold_and_not_below(feed: Feed) -> None:
    feed.send(trade("warm-up", user="U-LO", at=0))
    feed.send(
        trade("LO-at", user="U-LO", quantity=10.0, price=50_000.0, at=1_000),  # exactly $500k of BTC
        trade("LO-below", user="U-LO2", quantity=9.99998, price=50_000.0, at=1_000),  # $499,999
    )
    (alert,) = feed.sink.alerts
    assert alert["patternType"] == "LARGE_ORDER"
    assert alert["rule"] == "LARGE_ORDER@1"
    assert alert["triggeredEvents"] == ["LO-at"]
    assert alert["metrics"] == {"notionalUsd": 500_000.0, "thresholdUsd": 500_000.0}
    assert alert["alertId"] == alert_id("LARGE_ORDER", "rk:v2:{u:U-LO}", ("LO-at",))
    assert feed.analyzed("LO-at")["triggeredPatterns"] == ["LARGE_ORDER"]
    assert feed.analyzed("LO-below")["triggeredPatterns"] == []


def test_self_trade_alerts_as_wash_trading(feed: Feed) -> None:
    feed.send(
        trade("ST1", user="U-ST", counterpartyUserId="U-ST", at=0),
        trade("ST2", user="U-ST", counterpartyUserId="U-OTHER", at=1_000),
    )
    (alert,) = feed.sink.alerts
    assert (alert["patternType"], alert["rule"], alert["triggeredEvents"]) == ("WASH_TRADING", "SELF_TRADE@1", ["ST1"])
    assert alert["severity"] == "CRITICAL"  # strength 0.9
    analyzed = feed.analyzed("ST1")
    assert analyzed["triggeredPatterns"] == ["WASH_TRADING"]
    assert analyzed["complianceFlags"] == ["SELF_MATCHED_COUNTERPARTY"]
    assert feed.analyzed("ST2")["complianceFlags"] == []


# --- event time, not arrival time -----------------------------------------------------------


def _wash_out_of_order() -> list[dict[str, Any]]:
    return [
        trade("B@0", user="U-OO", side="BUY", quantity=1.0, at=0),
        trade("B@4s", user="U-OO", side="BUY", quantity=1.0, at=4_000),
        trade("S@2s", user="U-OO", side="SELL", quantity=1.0, at=2_000),  # arrives last, 2 s behind
    ]


@pytest.mark.parametrize("batched", ["one batch", "late SELL in its own batch"])
def test_an_out_of_order_arrival_within_lateness_is_placed_by_event_time(feed: Feed, batched: str) -> None:
    trades = _wash_out_of_order()
    if batched == "one batch":
        feed.send(*trades)
    else:
        feed.send(*trades[:2])
        assert feed.sink.alerts == []
        feed.send(trades[2])
    (alert,) = feed.sink.alerts
    assert alert["patternType"] == "WASH_TRADING"
    assert alert["triggeredEvents"] == ["B@0", "S@2s", "B@4s"]  # event-time order, not arrival order
    assert alert["timestamp"] == BASE_TS + 4_000
    late_sell = feed.analyzed("S@2s")
    assert late_sell["lateEvent"] is False
    # Trades are judged one at a time in arrival order, however they are batched: the SELL,
    # arriving last, completes the match.
    assert [t for t in ("B@0", "S@2s", "B@4s") if feed.analyzed(t)["alertIds"]] == ["S@2s"]
    assert late_sell["alertIds"] == [alert["alertId"]]


def _in_window(client: redis.Redis, key: str, trade_id: str) -> bool:
    """Whether a window holds the trade (a member's third field is the trade id)."""
    return any(member.split(b"\x1f")[2] == trade_id.encode() for member in client.zrange(key, 0, -1))


@pytest.mark.parametrize(("behind_ms", "late"), [(10_000, False), (10_001, True)])
def test_user_lateness_is_10_seconds_behind_the_second_newest_trade(
    feed: Feed, redis_client: redis.Redis, behind_ms: int, late: bool
) -> None:
    # The watermark is the second-newest event time: the newest (stamped far ahead) does not move it.
    feed.send(trade("first", user="U-LB", at=100_000), trade("ahead", user="U-LB", at=400_000))
    outcome = feed.send(trade("straggler", user="U-LB", at=100_000 - behind_ms))
    assert outcome.late_trades == int(late)
    assert feed.analyzed("straggler")["lateEvent"] is late
    assert _in_window(redis_client, "rk:v2:{u:U-LB}", "straggler") is not late
    assert _in_window(redis_client, "rk:v2:{se:BTC/USDT@BINANCE}", "straggler")  # the market allows 60 s


@pytest.mark.parametrize(("behind_ms", "late"), [(60_000, False), (60_001, True)])
def test_market_lateness_is_60_seconds_behind_the_second_newest_trade(
    feed: Feed, redis_client: redis.Redis, behind_ms: int, late: bool
) -> None:
    feed.send(trade("m1", user="U-M1", at=100_000), trade("m2", user="U-M2", at=100_000))
    outcome = feed.send(trade("lagging", user="U-M3", at=100_000 - behind_ms))
    assert outcome.late_trades == int(late)
    analyzed = feed.analyzed("lagging")
    assert analyzed["lateEvent"] is late
    assert _in_window(redis_client, "rk:v2:{se:BTC/USDT@BINANCE}", "lagging") is not late
    assert _in_window(redis_client, "rk:v2:{u:U-M3}", "lagging")  # its own user window is fresh


def test_a_trade_later_than_lateness_is_scored_but_not_placed(feed: Feed, redis_client: redis.Redis) -> None:
    feed.send(
        trade("on-time", user="U-LT", quantity=0.01, price=50_000.0, at=100_000),
        trade("on-time-2", user="U-LT", quantity=0.01, price=50_000.0, at=101_000),
    )
    volume_before = redis_client.hgetall("rk:v2:{se:BTC/USDT@BINANCE}:vol")
    # $1M, 70 s behind: late for its user (10 s) and for its market (60 s).
    outcome = feed.send(trade("too-late", user="U-LT", quantity=20.0, price=50_000.0, at=30_000))
    assert outcome.late_trades == 1
    assert outcome.scored == 1
    analyzed = feed.analyzed("too-late")
    assert analyzed["lateEvent"] is True
    assert analyzed["triggeredPatterns"] == ["LARGE_ORDER"]
    assert analyzed["riskScore"] > 0
    # Its baseline and its market's volume are no longer reliably kept: both components are 0.
    assert analyzed["scoreContributions"]["volume"] == 0.0
    assert analyzed["marketImpactAnalysis"] == {"symbolVolume5m": 0.0, "impactRatio": None}
    (alert,) = feed.sink.alerts
    assert alert["patternType"] == "LARGE_ORDER"
    assert alert["triggeredEvents"] == ["too-late"]
    assert alert["alertId"] in analyzed["alertIds"]
    # Not placed in any window, and not counted in the market's volume.
    for key in redis_client.scan_iter("rk:v2:*"):
        if redis_client.type(key) == b"zset" and not key.endswith(b":alerts"):
            assert not _in_window(redis_client, key.decode(), "too-late"), key
    assert redis_client.hgetall("rk:v2:{se:BTC/USDT@BINANCE}:vol") == volume_before


def test_a_late_trade_does_not_complete_a_sequence(feed: Feed) -> None:
    feed.send(
        trade("B1", user="U-LS", side="BUY", at=0),
        trade("B2", user="U-LS", side="BUY", at=60_000),
        trade("B3", user="U-LS", side="BUY", at=61_000),
    )
    feed.send(trade("S-late", user="U-LS", side="SELL", at=30_000))  # 30 s behind: late for the user's windows
    assert feed.analyzed("S-late")["lateEvent"] is True
    assert feed.sink.alerts == []


# --- scopes do not mix ----------------------------------------------------------------------


INTERLEAVED: dict[str, list[dict[str, Any]]] = {
    "wash split across two users": [
        trade("A-buy", user="U-A", side="BUY", at=0),
        trade("B-sell", user="U-B", side="SELL", at=1_000),
        trade("A-buy2", user="U-A", side="BUY", at=2_000),
    ],
    "wash split across two symbols": [
        trade("btc-buy", user="U-A", symbol="BTC/USDT", side="BUY", at=0),
        trade("eth-sell", user="U-A", symbol="ETH/USDT", side="SELL", at=1_000),
        trade("btc-buy2", user="U-A", symbol="BTC/USDT", side="BUY", at=2_000),
    ],
    "crash split across two exchanges": [
        trade(f"sell{i}", user=f"U{i}", side="SELL", at=i * 1_000, exchange="BINANCE" if i % 2 else "KRAKEN")
        for i in range(18)
    ],
    "crash split across two symbols": [
        trade(f"sell{i}", user=f"U{i}", symbol="BTC/USDT" if i % 2 else "ETH/USDT", side="SELL", at=i * 1_000)
        for i in range(18)
    ],
    "burst split across two users": [trade(f"burst{i}", user="U-A" if i % 2 else "U-B", at=i * 100) for i in range(40)],
    "spike split across two users": [
        trade("a1", user="U-A", quantity=20.0, at=0),
        trade("b1", user="U-B", quantity=31.0, at=1_000),
        trade("a2", user="U-A", quantity=47.0, at=2_000),
        trade("b2", user="U-B", quantity=32.0, at=3_000),
        trade("a3", user="U-A", quantity=48.0, at=4_000),
    ],
}


@pytest.mark.parametrize("name", list(INTERLEAVED))
def test_interleaved_users_symbols_and_markets_do_not_mix(feed: Feed, name: str) -> None:
    trades = INTERLEAVED[name]
    feed.send(*trades)
    assert feed.sink.alerts == []
    assert len(feed.sink.analyzed) == len(trades)
    assert all(a["triggeredPatterns"] == [] for a in feed.sink.analyzed)


def test_the_same_sequence_by_one_user_on_one_market_does_alert(feed: Feed) -> None:
    # Positive control for the interleaving cases: each of them, kept in one scope, alerts.
    feed.send(
        trade("b1", user="U-A", side="BUY", at=0),
        trade("s1", user="U-A", side="SELL", at=1_000),
        trade("b2", user="U-A", side="BUY", at=2_000),
    )
    feed.send(*[trade(f"x{i}", user=f"U{i}", symbol="ETH/USDT", side="SELL", at=10_000 + i) for i in range(10)])
    feed.send(*[trade(f"r{i}", user="U-R", symbol="SOL/USDT", at=20_000 + i * 100) for i in range(21)])
    feed.send(
        trade("v1", user="U-V", symbol="DOT/USDT", quantity=200.0, price=10.0, at=30_000),
        trade("v2", user="U-V", symbol="DOT/USDT", quantity=310.0, price=10.0, at=31_000),
        trade("v3", user="U-V", symbol="DOT/USDT", quantity=470.0, price=10.0, at=32_000),
    )
    assert sorted(a["patternType"] for a in feed.sink.alerts) == [
        "FLASH_CRASH",
        "RAPID_BURST",
        "VOLUME_SPIKE",
        "WASH_TRADING",
    ]


# --- one alert per episode ------------------------------------------------------------------


def test_a_30_trade_burst_raises_exactly_one_rapid_burst_alert(feed: Feed) -> None:
    outcome = feed.send(*[trade(f"b{i:02d}", user="U-B", at=i * 300) for i in range(30)])
    assert outcome.alerts == {("RAPID_BURST", feed.sink.alerts[0]["severity"]): 1}
    assert feed.sink.alerts[0]["triggeredEvents"] == [f"b{i:02d}" for i in range(21)]


def test_a_15_sell_crash_raises_exactly_one_flash_crash_alert(feed: Feed) -> None:
    sells = [trade(f"s{i:02d}", user=f"U{i}", side="SELL", price=100.0 - i, at=i * 10_000) for i in range(15)]
    feed.send(*sells[:12])
    feed.send(*sells[12:])
    assert [a["patternType"] for a in feed.sink.alerts] == ["FLASH_CRASH"]
    assert feed.sink.alerts[0]["triggeredEvents"] == [f"s{i:02d}" for i in range(10)]


def test_a_late_trade_inside_an_alerted_crash_raises_no_second_alert(feed: Feed) -> None:
    sells = [trade(f"s{i:02d}", user=f"U{i}", side="SELL", price=100.0 - i, at=i * 1_000) for i in range(11)]
    feed.send(*sells)
    (alert,) = feed.sink.alerts
    # A sell stamped between s06 and s07 arrives within the allowed lateness: the run now
    # reaches ten sells one trade earlier, but it is the same episode (same first trade).
    outcome = feed.send(trade("s06b", user="U-L", side="SELL", price=93.5, at=6_500))
    assert [a["alertId"] for a in feed.sink.alerts] == [alert["alertId"]]
    assert outcome.alerts_suppressed == 1
    assert feed.analyzed("s06b")["alertIds"] == [alert["alertId"]]


def test_one_market_fed_by_two_partitions_in_one_batch_is_not_late(feed: Feed) -> None:
    # The trigger lists a batch partition by partition: a market's later trades (partition 0)
    # can precede its earlier ones (partition 1) by more than the lateness inside one batch.
    ahead = [trade(f"p0-{i}", user=f"A{i}", side="SELL", at=20_000 + i * 500) for i in range(5)]
    behind = [trade(f"p1-{i}", user=f"B{i}", side="SELL", at=i * 500) for i in range(5)]
    outcome = feed.send(*ahead, *behind)
    assert outcome.late_trades == 0
    assert [a["triggeredEvents"] for a in feed.sink.alerts if a["patternType"] == "FLASH_CRASH"] == [
        [t["tradeId"] for t in behind + ahead]
    ]


def test_a_match_spanning_the_parts_of_a_large_batch_is_alerted(feed: Feed) -> None:
    # 310 trades are applied in two parts (event-time order); the crash's sells straddle them
    # and its earliest sell arrives last, so the completing trade must come from the later part.
    sells = [trade(f"s{i}", user=f"S{i}", side="SELL", price=100.0 - i, at=i * 1_000) for i in range(10)]
    fillers = [trade(f"f{i:03d}", user=f"F{i}", symbol="ETH/USDT", at=500 + i * 25) for i in range(300)]
    feed.send(*sells[1:], *fillers, sells[0])
    crashes = [a for a in feed.sink.alerts if a["patternType"] == "FLASH_CRASH"]
    assert [a["triggeredEvents"] for a in crashes] == [[f"s{i}" for i in range(10)]]
    assert any(crashes[0]["alertId"] in feed.analyzed(f"s{i}")["alertIds"] for i in range(10))


def test_an_interrupted_run_is_two_episodes(feed: Feed) -> None:
    first = [trade(f"a{i:02d}", user=f"U{i}", side="SELL", at=i * 1_000) for i in range(12)]
    buy = trade("buy", user="U-X", side="BUY", at=12_000)
    second = [trade(f"c{i:02d}", user=f"U{i}", side="SELL", at=13_000 + i * 1_000) for i in range(11)]
    feed.send(*first, buy, *second)
    crashes = [a["triggeredEvents"] for a in feed.sink.alerts if a["patternType"] == "FLASH_CRASH"]
    assert crashes == [[f"a{i:02d}" for i in range(10)], [f"c{i:02d}" for i in range(10)]]


def test_a_growing_volume_spike_is_one_episode(feed: Feed) -> None:
    feed.send(*[trade(f"v{i}", user="U-V", quantity=20.0 * 2**i, at=i * 10_000) for i in range(5)])
    assert [a["triggeredEvents"] for a in feed.sink.alerts] == [["v0", "v1", "v2"]]


# --- deterministic alert ids ----------------------------------------------------------------


def test_alert_ids_are_deterministic_across_runs(redis_client: redis.Redis, redis_server: EmbeddedRedis) -> None:
    def run() -> list[tuple[str, str, list[str]]]:
        redis_client.flushall()
        feed = Feed(redis_client, redis_server.url)
        trades: Sequence[dict[str, Any]] = [t for make in SEQUENCE_SCENARIOS for t in make().trades]
        feed.send(*trades)
        return sorted((a["alertId"], a["patternType"], a["triggeredEvents"]) for a in feed.sink.alerts)

    first, second = run(), run()
    assert len(first) == 4
    assert first == second
    expected = sorted(
        (alert_id(s.pattern, s.window_key, tuple(s.evidence)), s.pattern, s.evidence)
        for s in (make() for make in SEQUENCE_SCENARIOS)
    )
    assert first == expected
    assert len({a for a, _, _ in first}) == 4


# --- scoring inputs come from the right windows ---------------------------------------------


def test_the_volume_baseline_is_the_users_own_earlier_trades(feed: Feed) -> None:
    feed.send(*[trade(f"u1-{i}", user="U-Z1", quantity=10.0, at=i * 1_000) for i in range(6)])  # $1,000 each
    feed.send(*[trade(f"u2-{i}", user="U-Z2", quantity=9_000.0, at=i * 1_000) for i in range(6)])  # $900,000
    feed.send(trade("usual", user="U-Z1", quantity=10.0, at=10_000))
    usual = feed.analyzed("usual")["volumeAnalysis"]
    assert usual["baselineTrades"] == 6  # U-Z1's six, not U-Z2's and not itself
    assert usual["baselineMean"] == pytest.approx(1_000.0)
    assert usual["zScore"] == 0.0
    feed.send(trade("tenfold", user="U-Z1", quantity=100.0, at=11_000))
    tenfold = feed.analyzed("tenfold")
    assert tenfold["volumeAnalysis"]["baselineTrades"] == 7
    assert tenfold["volumeAnalysis"]["zScore"] > 4
    assert tenfold["scoreContributions"]["volume"] == pytest.approx(0.15)
    # U-Z2's sixth trade has only five earlier trades of its own to compare with.
    assert feed.analyzed("u2-5")["volumeAnalysis"]["baselineTrades"] == 5
    assert feed.analyzed("u2-4")["volumeAnalysis"]["baselineTrades"] == 4
    assert feed.analyzed("u2-4")["volumeAnalysis"]["zScore"] == 0.0


def test_market_impact_uses_the_markets_volume_of_the_previous_five_minutes(feed: Feed) -> None:
    minute = 60_000
    next_minute = (BASE_TS // minute + 1) * minute - BASE_TS  # offset of the next whole minute
    feed.send(
        trade("m-old", user="U-M1", symbol="ETH/USDT", quantity=1.0, price=70_000.0, at=next_minute),  # 6 min back
        trade("m-in", user="U-M2", symbol="ETH/USDT", quantity=1.0, price=100_000.0, at=next_minute + 2 * minute),
        trade(
            "m-other-exchange",
            user="U-M3",
            symbol="ETH/USDT",
            quantity=1.0,
            price=40_000.0,
            at=next_minute + 3 * minute,
            exchange="KRAKEN",
        ),
        trade(
            "m-other-symbol", user="U-M4", symbol="SOL/USDT", quantity=1.0, price=30_000.0, at=next_minute + 3 * minute
        ),
    )
    feed.send(
        trade(
            "m-same-minute", user="U-M5", symbol="ETH/USDT", quantity=1.0, price=20_000.0, at=next_minute + 6 * minute
        ),
        trade(
            "m-trade", user="U-M6", symbol="ETH/USDT", quantity=1.0, price=2_500.0, at=next_minute + 6 * minute + 30_000
        ),
    )
    analyzed = feed.analyzed("m-trade")
    assert analyzed["marketImpactAnalysis"] == {"symbolVolume5m": 100_000.0, "impactRatio": 0.025}
    assert analyzed["scoreContributions"]["marketImpact"] == pytest.approx(0.05)


# --- every trade of an episode shows it --------------------------------------------------------


def test_every_trade_that_extends_a_burst_carries_its_alert(feed: Feed) -> None:
    feed.send(*[trade(f"b{i:02d}", user="U-X", at=i * 300) for i in range(30)])
    (alert,) = feed.sink.alerts
    for i in range(30):
        analyzed = feed.analyzed(f"b{i:02d}")
        if i < 20:  # evidence before the first match: no pattern of its own
            assert analyzed["triggeredPatterns"] == [] and analyzed["alertIds"] == []
        else:  # the 21st raised it, every later one extends it
            assert analyzed["triggeredPatterns"] == ["RAPID_BURST"]
            assert analyzed["alertIds"] == [alert["alertId"]]
            assert analyzed["scoreContributions"]["behaviour"] > 0


def test_the_eleventh_sell_of_a_crash_carries_the_crash_in_a_later_batch(feed: Feed) -> None:
    sells = [trade(f"s{i:02d}", user=f"U{i}", side="SELL", price=100.0 - i, at=i * 1_000) for i in range(11)]
    feed.send(*sells[:10])
    feed.send(sells[10])
    (alert,) = feed.sink.alerts
    assert feed.analyzed("s10")["triggeredPatterns"] == ["FLASH_CRASH"]
    assert feed.analyzed("s10")["alertIds"] == [alert["alertId"]]
    assert feed.analyzed("s09")["alertIds"] == [alert["alertId"]]


def test_a_sell_stamped_before_an_alerted_crash_extends_the_same_episode(feed: Feed) -> None:
    sells = [trade(f"s{i:02d}", user=f"U{i}", side="SELL", price=100.0 - i, at=10_000 + i * 1_000) for i in range(10)]
    feed.send(*sells)
    (alert,) = feed.sink.alerts
    outcome = feed.send(trade("before", user="U-B", side="SELL", price=101.0, at=9_500))  # within market lateness
    assert [a["alertId"] for a in feed.sink.alerts] == [alert["alertId"]]  # no second alert
    assert outcome.alerts_suppressed >= 1
    assert feed.analyzed("before")["alertIds"] == [alert["alertId"]]


def test_market_volume_is_summed_in_the_same_whole_cents_as_python_rounds_them(
    feed: Feed, redis_client: redis.Redis
) -> None:
    # Notionals on the half-cent boundary and beyond a double's exact cents: the script and
    # windows.events.notional_cents must round each the same way, or market impact would differ.
    notionals = [0.005, 0.015, 1.005, 2.675, 1_234_567.895, 99_999_999.995, 0.1 + 0.2]
    feed.send(*[trade(f"c{i}", user=f"U-C{i}", quantity=1.0, price=n, at=i) for i, n in enumerate(notionals)])
    buckets = {int(k): int(v) for k, v in redis_client.hgetall("rk:v2:{se:BTC/USDT@BINANCE}:vol").items()}
    assert buckets == {(BASE_TS) // 60_000: sum(notional_cents(n) for n in notionals)}
