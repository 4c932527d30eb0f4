"""The simulator must be reproducible, well-formed, and inject exactly the patterns it claims.

The rule checkers (spine_reference.py) are written from the rule definitions, independently of both
the simulator and the engine, so a passing test means the data satisfies the rules themselves.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import pairwise
from typing import Any

import pytest
from spine_reference import CHECKERS, OPTIONAL, REQUIRED, THRESHOLDS, is_valid

from riskengine.simulation import (
    INVALID_KINDS,
    PATTERNS,
    EpisodeTag,
    SimulatorConfig,
    SimulatorStats,
    TradingSimulator,
    UserBook,
)

Trade = dict[str, Any]

RUN_LENGTH = 20_000
RUN_SECONDS = RUN_LENGTH / 200  # default event-time rate
START_PRICES = {"BTC": 90_000.0, "ETH": 3_200.0, "SOL": 180.0, "ADA": 0.75, "DOT": 7.5}
EXCHANGES = {"BINANCE", "COINBASE", "KRAKEN", "KUCOIN", "OKX"}
ORDER_TYPES = {"MARKET", "LIMIT", "STOP_LOSS", "TAKE_PROFIT"}


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
        ({"crash_exchanges": ()}, "crash_exchanges"),
        ({"crash_exchanges": ("NYSE",)}, "crash_exchanges"),
        ({"crash_exchanges": ["KRAKEN"]}, "crash_exchanges"),
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
    with pytest.raises(ValueError, match="count"):
        next(TradingSimulator().tagged_trades(-1))


def test_tagged_trades_are_the_same_trades_with_their_episodes(demo_run: tuple[list[Trade], SimulatorStats]) -> None:
    trades, stats = demo_run
    tagged = list(TradingSimulator().tagged_trades(RUN_LENGTH))
    assert [trade for trade, _ in tagged] == trades
    episodes: defaultdict[int, list[tuple[Trade, EpisodeTag]]] = defaultdict(list)
    for trade, tag in tagged:
        if tag is not None:
            episodes[tag.number].append((trade, tag))
    finished = [members for members in episodes.values() if members[-1][1].last]
    assert Counter(members[0][1].pattern for members in finished) == Counter(stats.episodes)
    assert sum(tag is not None for _, tag in tagged) == stats.injected_trades
    for members in episodes.values():
        assert len({tag.pattern for _, tag in members}) == 1
        assert [tag.last for _, tag in members].count(True) <= 1
        assert all(not tag.last for _, tag in members[:-1])


def test_each_tagged_episode_is_its_pattern() -> None:
    """The trades a finished episode's tags name are that episode: alone, they match its rule once."""
    episodes: defaultdict[int, list[Trade]] = defaultdict(list)
    finished: dict[int, str] = {}
    for trade, tag in TradingSimulator().tagged_trades(RUN_LENGTH):
        if tag is not None:
            episodes[tag.number].append(trade)
            if tag.last:
                finished[tag.number] = tag.pattern
    assert set(finished.values()) == set(PATTERNS)
    for number, pattern in finished.items():
        members = episodes[number]
        assert CHECKERS[pattern](members) == 1, (pattern, members)
        sellers = {trade["userId"] for trade in members}
        assert len(sellers) == (len(members) if pattern == "FLASH_CRASH" else 1)


def test_stop_episodes_lets_the_planned_ones_finish_and_plans_no_more() -> None:
    simulator = TradingSimulator()
    *_, (last, _) = before = list(simulator.tagged_trades(5_000))
    simulator.stop_episodes()
    after = list(simulator.tagged_trades(RUN_LENGTH))
    started_before = {tag.number for _, tag in before if tag is not None}
    first_after: dict[int, int] = {}
    for trade, tag in after:
        if tag is not None and tag.number not in started_before:
            first_after.setdefault(tag.number, trade["timestamp"])
    # Episodes planned before the stop start within a second of it; 100 s of trading follow.
    assert all(at <= last["timestamp"] + 1_000 for at in first_after.values())
    assert sum(simulator.stats.episodes_open.values()) == 0
    assert sum(simulator.stats.episodes.values()) == len(started_before) + len(first_after)


def test_flash_crashes_stay_on_the_crash_exchanges() -> None:
    config = SimulatorConfig(seed=4, crash_exchanges=("KRAKEN",), episodes_per_10k={"FLASH_CRASH": 8.0})
    crashes = {
        (trade["symbol"], trade["exchange"])
        for trade, tag in TradingSimulator(config).tagged_trades(RUN_LENGTH)
        if tag is not None and tag.pattern == "FLASH_CRASH"
    }
    assert crashes
    assert {exchange for _, exchange in crashes} == {"KRAKEN"}


def test_quote_is_the_price_walk_the_trades_use() -> None:
    simulator = TradingSimulator()
    symbols = {f"{base}/USDT": index for index, base in enumerate(START_PRICES)}
    exchanges = {name: index for index, name in enumerate(("BINANCE", "COINBASE", "OKX", "KRAKEN", "KUCOIN"))}
    checked = 0
    for trade, tag in simulator.tagged_trades(2_000):
        if tag is None and "price" in trade and trade["price"] > 0:
            venue = symbols[trade["symbol"]], exchanges[trade["exchange"]]
            assert simulator.quote(*venue, trade["timestamp"]) == trade["price"]
            checked += 1
    assert checked > 1_500


def test_a_companion_user_book_is_numbered_after_the_simulators_users() -> None:
    book = UserBook.build(random.Random(1), 3, 1.0, first=1_000)
    assert book.ids == ("USER_01000", "USER_01001", "USER_01002")
    assert book.customers == ("CUST_01000", "CUST_01001", "CUST_01002")
    assert len(set(book.wallets)) == 3


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
