"""Reference implementations of the spine's trade rules (docs/rules.md) over a list of trade dicts.

Written from the rule definitions, independently of the simulator and of the engine, so data that
passes them satisfies (or stays clear of) the rules themselves. Each checker counts matches as the
simulator's episodes come: one per self-trade, round trip, spike or large trade, one per run of
sells or burst of trades. Used by the trade simulator's tests and the labelled mixed stream's.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from typing import Any

Trade = dict[str, Any]

THRESHOLDS = {"BTC": 500_000.0, "ETH": 250_000.0, "SOL": 100_000.0, "ADA": 50_000.0, "DOT": 75_000.0}
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
