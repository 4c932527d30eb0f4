"""Keeps the order flow's fills clear of the spine's trade rules, with a margin over their defaults.

The order flow's traders are not the trade simulator's, so its guards do not cover them: every fill
a planner schedules is checked here against the user's previous trades first. A check that fails
makes the planner size the fill differently or drop the activity; an injected order-book episode
must not also look like a spine pattern, and an honest look-alike must not look like any.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from riskengine.detectors.large_order import LargeOrderConfig
from riskengine.detectors.rapid_burst import RapidBurstConfig
from riskengine.detectors.volume_spike import VolumeSpikeConfig
from riskengine.detectors.wash_trading import WashTradingConfig
from riskengine.simulation.config import SYMBOLS
from riskengine.simulation.scenarios import BUY, SELL

LARGE_ORDER = LargeOrderConfig()
VOLUME_SPIKE = VolumeSpikeConfig()
WASH_TRADING = WashTradingConfig()
RAPID_BURST = RapidBurstConfig()

# A fill is at most this share of its asset's LARGE_ORDER threshold (the trade flow caps at 0.5).
FILL_SHARE = 0.4
# Time windows are stretched and size limits loosened by these, so what passes is clearly no match.
WINDOW_MARGIN = 1.25
GROWTH_MARGIN = 0.93
FIRST_NOTIONAL_MARGIN = 0.9
QUANTITY_MARGIN = 1.05
BURST_SHARE = 0.75
WASH_SIDES = (BUY, SELL, BUY)


@dataclass(frozen=True, slots=True)
class TradeFact:
    """What the spine's user rules see of one trade."""

    at_ms: float
    symbol: int
    side: str
    quantity: float
    notional: float


def max_fill_notional(symbol: int) -> float:
    """The largest fill (USD) of the order flow on ``SYMBOLS[symbol]``: well below LARGE_ORDER."""
    base = SYMBOLS[symbol].base
    return FILL_SHARE * LARGE_ORDER.thresholds_usd.get(base, LARGE_ORDER.default_threshold_usd)


def spine_safe(previous: Sequence[TradeFact], new: TradeFact) -> bool:
    """Whether ``new``, after the user's ``previous`` trades (in event-time order), stays clear of
    LARGE_ORDER, VOLUME_SPIKE, WASH_TRADING and RAPID_BURST (SELF_TRADE: the order flow never sets
    a counterparty)."""
    return (
        new.notional <= max_fill_notional(new.symbol)
        and not _spike(previous, new)
        and not _wash(previous, new)
        and not _burst(previous, new)
    )


def _spike(previous: Sequence[TradeFact], new: TradeFact) -> bool:
    wanted = VOLUME_SPIKE.trades - 1
    if len(previous) < wanted:
        return False
    run = [*previous[len(previous) - wanted :], new]
    if new.at_ms - run[0].at_ms > VOLUME_SPIKE.window_ms * WINDOW_MARGIN:
        return False
    if run[0].notional <= VOLUME_SPIKE.min_first_notional_usd * FIRST_NOTIONAL_MARGIN:
        return False
    growth = VOLUME_SPIKE.growth_factor * GROWTH_MARGIN
    return all(b.notional > growth * a.notional for a, b in pairwise(run))


def _wash(previous: Sequence[TradeFact], new: TradeFact) -> bool:
    same_symbol = [trade for trade in previous if trade.symbol == new.symbol][-2:]
    run = [*same_symbol, new]
    if len(run) < len(WASH_SIDES) or tuple(trade.side for trade in run) != WASH_SIDES:
        return False
    if new.at_ms - run[0].at_ms > WASH_TRADING.window_ms * WINDOW_MARGIN:
        return False
    quantities = [trade.quantity for trade in run]
    return max(quantities) <= WASH_TRADING.max_quantity_ratio * QUANTITY_MARGIN * min(quantities)


def _burst(previous: Sequence[TradeFact], new: TradeFact) -> bool:
    since = new.at_ms - RAPID_BURST.window_ms * WINDOW_MARGIN
    recent = sum(trade.at_ms >= since for trade in previous) + 1
    return recent > RAPID_BURST.max_trades * BURST_SHARE
