"""The simulator must be reproducible, well-formed, and inject exactly the patterns it claims.

The rule checkers below are written from the rule definitions, independently of both the
simulator and the engine, so a passing test means the data satisfies the rules themselves.
"""

from __future__ import annotations

import statistics
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from itertools import pairwise
from typing import Any

import pytest

from riskengine.simulation import INVALID_KINDS, PATTERNS, SimulatorConfig, SimulatorStats, TradingSimulator

Trade = dict[str, Any]

RUN_LENGTH = 20_000
RUN_SECONDS = RUN_LENGTH / 200  # default event-time rate
THRESHOLDS = {"BTC": 500_000.0, "ETH": 250_000.0, "SOL": 100_000.0, "ADA": 50_000.0, "DOT": 75_000.0}
START_PRICES = {"BTC": 90_000.0, "ETH": 3_200.0, "SOL": 180.0, "ADA": 0.75, "DOT": 7.5}
EXCHANGES = {"BINANCE", "COINBASE", "KRAKEN", "KUCOIN", "OKX"}
ORDER_TYPES = {"MARKET", "LIMIT", "STOP_LOSS", "TAKE_PROFIT"}
REQUIRED = (
    "tradeId",
    "userId",
    "customerId",
    "symbol",
    "baseAsset",
    "quoteAsset",
    "side",
    "orderType",
    "quantity",
    "price",
    "notional",
    "timestamp",
    "exchange",
)
OPTIONAL = ("walletAddress", "sessionId", "ipAddress", "country", "orderId", "counterpartyUserId")


def is_valid(trade: Trade) -> bool:
    """What any validator must accept: every field present, positive sizes, consistent notional."""
    if any(trade.get(name) is None for name in REQUIRED):
        return False
    quantity, price = trade["quantity"], trade["price"]
    return (
        quantity > 0
        and price > 0
        and trade["side"] in ("BUY", "SELL")
        and abs(trade["notional"] - quantity * price) <= 0.01 * quantity * price
    )


def large_orders(trades: Iterable[Trade]) -> int:
    return sum(t["notional"] >= THRESHOLDS[t["baseAsset"]] for t in trades)


def volume_spikes(trades: Iterable[Trade]) -> int:
    """Three consecutive trades of a user within 2 min, first > 1,000, each > 1.5x the previous."""
    recent: defaultdict[str, deque[Trade]] = defaultdict(lambda: deque(maxlen=3))
    hits = 0
    for trade in trades:
        run = recent[trade["userId"]]
        run.append(trade)
        if len(run) == 3 and run[2]["timestamp"] - run[0]["timestamp"] <= 120_000:
            first, second, third = (t["notional"] for t in run)
            hits += first > 1_000 and second > 1.5 * first and third > 1.5 * second
    return hits


def wash_round_trips(trades: Iterable[Trade]) -> int:
    """BUY, SELL, BUY in a row per user and symbol within 1 min, quantities within 10%."""
    recent: defaultdict[tuple[str, str], deque[Trade]] = defaultdict(lambda: deque(maxlen=3))
    hits = 0
    for trade in trades:
        run = recent[trade["userId"], trade["symbol"]]
        run.append(trade)
        if len(run) < 3 or [t["side"] for t in run] != ["BUY", "SELL", "BUY"]:
            continue
        quantities = [t["quantity"] for t in run]
        in_time = run[2]["timestamp"] - run[0]["timestamp"] <= 60_000
        hits += in_time and max(quantities) <= 1.1 * min(quantities)
    return hits


def self_trades(trades: Iterable[Trade]) -> int:
    return sum(t["counterpartyUserId"] == t["userId"] for t in trades)


def flash_crashes(trades: Iterable[Trade]) -> int:
    """Runs of >= 10 SELLs in a row (no BUY between) per symbol and exchange within 5 min."""
    runs: defaultdict[tuple[str, str], deque[int]] = defaultdict(deque)
    alerted: set[tuple[str, str]] = set()
    hits = 0
    for trade in trades:
        venue = trade["symbol"], trade["exchange"]
        run = runs[venue]
        if trade["side"] == "BUY":
            run.clear()
            alerted.discard(venue)
            continue
        run.append(trade["timestamp"])
        while trade["timestamp"] - run[0] > 300_000:
            run.popleft()
        if len(run) >= 10 and venue not in alerted:
            alerted.add(venue)
            hits += 1
    return hits


def rapid_bursts(trades: Iterable[Trade]) -> int:
    """More than 20 trades of one user within 10 s, counted once per burst."""
    windows: defaultdict[str, deque[int]] = defaultdict(deque)
    alerted: set[str] = set()
    hits = 0
    for trade in trades:
        user, now = trade["userId"], trade["timestamp"]
        window = windows[user]
        window.append(now)
        while now - window[0] > 10_000:
            window.popleft()
        if len(window) > 20 and user not in alerted:
            alerted.add(user)
            hits += 1
        elif len(window) <= 20:
            alerted.discard(user)
    return hits


CHECKERS: dict[str, Callable[[Iterable[Trade]], int]] = {
    "LARGE_ORDER": large_orders,
    "VOLUME_SPIKE": volume_spikes,
    "WASH_TRADING": wash_round_trips,
    "SELF_TRADE": self_trades,
    "FLASH_CRASH": flash_crashes,
    "RAPID_BURST": rapid_bursts,
}


@pytest.fixture(scope="module")
def demo_run() -> tuple[list[Trade], SimulatorStats]:
    simulator = TradingSimulator()
    trades = list(simulator.trades(RUN_LENGTH))
    return trades, simulator.stats


@pytest.fixture(scope="module")
def valid_trades(demo_run: tuple[list[Trade], SimulatorStats]) -> list[Trade]:
    return [t for t in demo_run[0] if is_valid(t)]


def test_same_seed_and_config_give_identical_streams() -> None:
    config = SimulatorConfig(seed=11, users=200, rate_per_s=50.0)
    assert list(TradingSimulator(config).trades(3_000)) == list(TradingSimulator(config).trades(3_000))


def test_different_seeds_give_different_streams() -> None:
    first = list(TradingSimulator(SimulatorConfig(seed=1)).trades(100))
    second = list(TradingSimulator(SimulatorConfig(seed=2)).trades(100))
    assert [t["quantity"] for t in first] != [t["quantity"] for t in second]


def test_successive_calls_continue_one_stream() -> None:
    split = TradingSimulator()
    parts = [*split.trades(1_234), *split.trades(2_000)]
    assert parts == list(TradingSimulator().trades(3_234))
    assert split.stats.generated == 3_234


def test_emits_exactly_count_trades(demo_run: tuple[list[Trade], SimulatorStats]) -> None:
    trades, stats = demo_run
    assert len(trades) == stats.generated == RUN_LENGTH
    assert len({t["tradeId"] for t in trades}) == RUN_LENGTH
    assert list(TradingSimulator().trades(0)) == []


def test_event_time_starts_at_config_and_never_goes_back(demo_run: tuple[list[Trade], SimulatorStats]) -> None:
    stamps = [t["timestamp"] for t in demo_run[0] if "timestamp" in t]
    assert all(isinstance(s, int) for s in stamps)
    assert stamps[0] >= SimulatorConfig().start_ms
    assert all(a <= b for a, b in pairwise(stamps))
    # ~200 trades/s of event time, whatever the wall clock did.
    assert (stamps[-1] - stamps[0]) / 1000 == pytest.approx(RUN_SECONDS, rel=0.1)


def test_valid_trades_have_consistent_fields(valid_trades: list[Trade]) -> None:
    for trade in valid_trades:
        assert set(trade) == set(REQUIRED) | set(OPTIONAL)
        assert trade["notional"] == round(trade["quantity"] * trade["price"], 2)
        assert trade["symbol"] == f"{trade['baseAsset']}/{trade['quoteAsset']}"
        assert trade["baseAsset"] in THRESHOLDS and trade["quoteAsset"] == "USDT"
        assert trade["exchange"] in EXCHANGES and trade["orderType"] in ORDER_TYPES
        assert trade["customerId"] == trade["userId"].replace("USER_", "CUST_")
        assert trade["country"] is None or (len(trade["country"]) == 2 and trade["country"].isupper())
        assert all(trade[name] is None or isinstance(trade[name], str) for name in OPTIONAL)


def test_normal_flow_has_realistic_shape(valid_trades: list[Trade]) -> None:
    sides = [t["side"] for t in valid_trades]
    assert 0.47 <= sides.count("BUY") / len(sides) <= 0.53
    limit_share = sum(t["orderType"] == "LIMIT" for t in valid_trades) / len(valid_trades)
    assert 0.70 <= limit_share <= 0.80
    assert 1_000 <= statistics.median(t["notional"] for t in valid_trades) <= 2_000
    with_counterparty = [t for t in valid_trades if t["counterpartyUserId"] is not None]
    assert 0.05 <= len(with_counterparty) / len(valid_trades) <= 0.2
    assert len({t["userId"] for t in valid_trades}) > 500


def test_activity_is_skewed_towards_a_few_whales(valid_trades: list[Trade]) -> None:
    per_user = sorted((len(trades) for trades in _group(valid_trades, "userId").values()), reverse=True)
    mean = len(valid_trades) / len(per_user)
    assert sum(per_user[:20]) / len(valid_trades) > 3 * 20 / len(per_user)
    assert statistics.median(per_user) < 0.8 * mean
    # ...yet no whale comes near RAPID_BURST's 20 trades in 10 s (about 2 per second).
    assert per_user[0] / RUN_SECONDS < 1.2


def test_prices_follow_realistic_levels_per_symbol(valid_trades: list[Trade]) -> None:
    for base, trades in _group(valid_trades, "baseAsset").items():
        median = statistics.median(t["price"] for t in trades)
        assert median == pytest.approx(START_PRICES[base], rel=0.05)


def test_venues_quote_within_a_few_basis_points(valid_trades: list[Trade]) -> None:
    """Consecutive BTC trades on different venues a few ms apart differ by well under 0.2%."""
    btc = [t for t in valid_trades if t["baseAsset"] == "BTC"]
    gaps = [
        abs(b["price"] / a["price"] - 1)
        for a, b in pairwise(btc)
        if a["exchange"] != b["exchange"] and b["timestamp"] - a["timestamp"] < 50
    ]
    assert gaps and statistics.median(gaps) < 0.001


@pytest.mark.parametrize("pattern", PATTERNS)
def test_each_pattern_is_injected_and_satisfies_its_rule(
    pattern: str, demo_run: tuple[list[Trade], SimulatorStats], valid_trades: list[Trade]
) -> None:
    """Every finished episode shows up once; besides unfinished ones, normal flow adds nothing."""
    stats = demo_run[1]
    finished, unfinished = stats.episodes[pattern], stats.episodes_open[pattern]
    assert finished >= 3
    assert finished <= CHECKERS[pattern](valid_trades) <= finished + unfinished


def test_normal_flow_alone_trips_no_rule() -> None:
    config = SimulatorConfig(seed=3, episodes_per_10k=dict.fromkeys(PATTERNS, 0.0), invalid_fraction=0.0)
    simulator = TradingSimulator(config)
    trades = list(simulator.trades(RUN_LENGTH))
    assert {pattern: checker(trades) for pattern, checker in CHECKERS.items()} == dict.fromkeys(PATTERNS, 0)
    assert simulator.stats.injected_trades == 0


def test_flash_crashes_fall_steadily_from_many_users(
    demo_run: tuple[list[Trade], SimulatorStats], valid_trades: list[Trade]
) -> None:
    """Every run of >= 10 sells on a venue is a crash: each fill 0.5%-1% lower, each from a new user."""
    crashes = [run for run in _sell_runs(valid_trades) if len(run) >= 10]
    # Finished crashes have 12-20 sells; one cut off by the end of the stream may have fewer.
    assert sum(len(run) >= 12 for run in crashes) >= demo_run[1].episodes["FLASH_CRASH"]
    for run in crashes:
        assert len(run) <= 20
        assert all(0.989 <= b["price"] / a["price"] <= 0.996 for a, b in pairwise(run))
        assert len({t["userId"] for t in run}) == len(run)
        assert run[-1]["timestamp"] - run[0]["timestamp"] < 60_000


def test_invalid_trades_match_the_configured_fraction_and_counters() -> None:
    simulator = TradingSimulator(SimulatorConfig(seed=5, invalid_fraction=0.02))
    trades = list(simulator.trades(RUN_LENGTH))
    invalid = sum(not is_valid(t) for t in trades)
    stats = simulator.stats
    assert invalid == stats.invalid == sum(stats.invalid_by_kind.values())
    assert invalid / RUN_LENGTH == pytest.approx(0.02, rel=0.2)
    assert set(stats.invalid_by_kind) == set(INVALID_KINDS)
    assert all(count > 0 for count in stats.invalid_by_kind.values())


def test_default_invalid_trades_are_all_counted(demo_run: tuple[list[Trade], SimulatorStats]) -> None:
    trades, stats = demo_run
    assert sum(not is_valid(t) for t in trades) == stats.invalid > 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"users": 10}, "users"),
        ({"users": 1.5}, "users"),
        ({"seed": "7"}, "seed"),
        ({"rate_per_s": 0}, "rate_per_s"),
        ({"rate_per_s": float("nan")}, "rate_per_s"),
        ({"users": 100, "rate_per_s": 1_000.0}, "too high"),
        ({"invalid_fraction": -0.1}, "invalid_fraction"),
        ({"episodes_per_10k": {"SPOOFING": 1.0}}, "unknown patterns"),
        ({"episodes_per_10k": {"LARGE_ORDER": -1.0}}, "LARGE_ORDER"),
        ({"episodes_per_10k": {"RAPID_BURST": 500.0}}, "majority"),
    ],
)
def test_config_rejects_bad_settings(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulatorConfig(**overrides)


def test_partial_episode_rates_keep_other_defaults() -> None:
    config = SimulatorConfig(episodes_per_10k={"LARGE_ORDER": 9.0})
    assert config.episodes_per_10k["LARGE_ORDER"] == 9.0
    assert config.episodes_per_10k["RAPID_BURST"] == SimulatorConfig().episodes_per_10k["RAPID_BURST"]
    assert hash(config) == hash(SimulatorConfig(episodes_per_10k={"LARGE_ORDER": 9.0}))


def test_negative_count_is_rejected() -> None:
    with pytest.raises(ValueError, match="count"):
        TradingSimulator().trades(-1)


def _group(trades: Iterable[Trade], *keys: str) -> dict[tuple[Any, ...] | Any, list[Trade]]:
    groups: defaultdict[tuple[Any, ...] | Any, list[Trade]] = defaultdict(list)
    for trade in trades:
        key = tuple(trade[k] for k in keys)
        groups[key if len(keys) > 1 else key[0]].append(trade)
    return groups


def _sell_runs(trades: Iterable[Trade]) -> list[list[Trade]]:
    """Maximal runs of SELLs per symbol and exchange (a BUY on the venue ends a run)."""
    runs: list[list[Trade]] = []
    for venue_trades in _group(trades, "symbol", "exchange").values():
        run: list[Trade] = []
        for trade in venue_trades:
            if trade["side"] == "BUY":
                runs.append(run)
                run = []
            else:
                run.append(trade)
        runs.append(run)
    return runs
