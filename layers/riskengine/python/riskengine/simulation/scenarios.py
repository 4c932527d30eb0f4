"""Injected market-abuse episodes: one planner per pattern the engine must detect.

Each planner turns "start an episode now" into a timed list of trades sized with a clear
margin over the engine's rule, so a detection miss points at the engine, not the data.
Planners only choose who/what/when; the generator fills in prices, venue routing and the
optional fields when each trade's event time comes, exactly as for normal flow.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from riskengine.simulation.config import EXCHANGES, SYMBOLS

BUY = "BUY"
SELL = "SELL"
BURST_WINDOW_MS = 10_000.0


@dataclass(frozen=True, slots=True)
class InjectedTrade:
    """One planned trade. ``None`` sizes/prices are drawn like normal flow when it is emitted.

    ``quantity`` wins over ``notional``; ``pinned`` keeps the venue even if it is busy, which
    only the flash crash may do because it is the episode that made the venue busy.
    """

    at_ms: float
    user: int
    symbol: int
    exchange: int
    side: str
    order_type: str = "LIMIT"
    notional: float | None = None
    quantity: float | None = None
    price: float | None = None
    counterparty: int | None = None
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class Episode:
    """Trades of one injected pattern, in event-time order.

    ``blocks`` names a (symbol, exchange) venue the rest of the flow must avoid until the
    episode ends, so nothing interrupts a run the rule needs unbroken.
    """

    pattern: str
    trades: tuple[InjectedTrade, ...]
    blocks: tuple[int, int] | None = None

    @property
    def end_ms(self) -> float:
        return self.trades[-1].at_ms

    @property
    def users(self) -> frozenset[int]:
        return frozenset(trade.user for trade in self.trades)


class EpisodeContext(Protocol):
    """What a planner may ask of the running simulation."""

    rng: random.Random
    now_ms: float

    def pick_user(
        self, first_notional: float | None = None, exclude: Collection[int] = (), idle_ms: float = 0.0
    ) -> int | None:
        """A user, not in ``exclude``, free of episodes and rate limits for ``idle_ms``, whose
        history a first trade worth ``first_notional`` cannot turn into a VOLUME_SPIKE."""
        ...

    def price(self, symbol: int, exchange: int, at_ms: float) -> float:
        """The venue's quote at ``at_ms``."""
        ...

    def venue_busy(self, symbol: int, exchange: int) -> bool:
        """Whether another episode currently owns the venue."""
        ...

    def sell_run(self, symbol: int, exchange: int) -> int:
        """How many SELLs in a row the venue has seen since its last BUY."""
        ...

    def crash_allowed(self, symbol: int, exchange: int) -> bool:
        """Whether a flash crash may take the venue over (``SimulatorConfig.crash_exchanges``)."""
        ...


Planner = Callable[[EpisodeContext], Episode | None]


def _start(ctx: EpisodeContext) -> float:
    """First trade shortly after planning, so the episode lands in the flow's near future."""
    return ctx.now_ms + ctx.rng.uniform(50.0, 1_000.0)


def _any_venue(rng: random.Random) -> tuple[int, int]:
    return rng.randrange(len(SYMBOLS)), rng.randrange(len(EXCHANGES))


def large_order(ctx: EpisodeContext) -> Episode | None:
    """LARGE_ORDER: one trade worth 1.2x-5x its symbol's threshold."""
    rng = ctx.rng
    symbol, exchange = _any_venue(rng)
    notional = SYMBOLS[symbol].large_order_usd * rng.uniform(1.2, 5.0)
    user = ctx.pick_user(notional)
    if user is None:
        return None
    side, order_type = rng.choice((BUY, SELL)), rng.choice(("LIMIT", "MARKET"))
    trade = InjectedTrade(_start(ctx), user, symbol, exchange, side, order_type, notional)
    return Episode("LARGE_ORDER", (trade,))


def volume_spike(ctx: EpisodeContext) -> Episode | None:
    """VOLUME_SPIKE: three trades 5-30 s apart, each double the last (rule: > 1.5x in 2 min).

    The last trade stays below 80% of the large-order threshold so the spike is not also
    reported as a large order.
    """
    rng = ctx.rng
    symbol, exchange = _any_venue(rng)
    first = rng.uniform(2_000.0, min(20_000.0, 0.2 * SYMBOLS[symbol].large_order_usd))
    user = ctx.pick_user(first)
    if user is None:
        return None
    at_ms = _start(ctx)
    trades = []
    for step in range(3):
        side = rng.choice((BUY, SELL))
        trades.append(InjectedTrade(at_ms, user, symbol, exchange, side, "MARKET", first * 2**step))
        at_ms += rng.uniform(5_000.0, 30_000.0)
    return Episode("VOLUME_SPIKE", tuple(trades))


def wash_trading(ctx: EpisodeContext) -> Episode | None:
    """WASH_TRADING round trip: BUY, SELL, BUY 5-15 s apart, quantities within 2% (rule: 10%, 1 min)."""
    rng = ctx.rng
    symbol, exchange = _any_venue(rng)
    spec = SYMBOLS[symbol]
    notional = rng.uniform(2_000.0, min(30_000.0, 0.3 * spec.large_order_usd))
    user = ctx.pick_user(notional)
    if user is None:
        return None
    at_ms = _start(ctx)
    quantity = notional / ctx.price(symbol, exchange, ctx.now_ms)
    trades = []
    for side in (BUY, SELL, BUY):
        exact = round(quantity * rng.uniform(0.99, 1.01), spec.quantity_decimals)
        trades.append(InjectedTrade(at_ms, user, symbol, exchange, side, quantity=exact))
        at_ms += rng.uniform(5_000.0, 15_000.0)
    return Episode("WASH_TRADING", tuple(trades))


def self_trade(ctx: EpisodeContext) -> Episode | None:
    """WASH_TRADING self-match: one ordinary-sized trade whose counterparty is its own user."""
    rng = ctx.rng
    user = ctx.pick_user()
    if user is None:
        return None
    symbol, exchange = _any_venue(rng)
    trade = InjectedTrade(_start(ctx), user, symbol, exchange, rng.choice((BUY, SELL)), counterparty=user)
    return Episode("SELF_TRADE", (trade,))


def flash_crash(ctx: EpisodeContext) -> Episode | None:
    """FLASH_CRASH: 12-20 sells on one venue from different users, each 0.5-1% lower, 0.5-3 s apart.

    The venue is blocked for the rest of the flow until the last sell, so no BUY breaks the
    run (rule: 10 sells in a row within 5 minutes; this one lasts at most 57 s).
    """
    rng = ctx.rng
    venue = _crash_venue(ctx)
    if venue is None:
        return None
    symbol, exchange = venue
    decimals = SYMBOLS[symbol].price_decimals
    at_ms = _start(ctx)
    price = ctx.price(symbol, exchange, ctx.now_ms)
    trades: list[InjectedTrade] = []
    for _ in range(rng.randint(12, 20)):
        user = ctx.pick_user(exclude={trade.user for trade in trades})
        if user is None:
            return None
        price = round(price * (1.0 - rng.uniform(0.005, 0.01)), decimals)
        order_type = rng.choice(("MARKET", "STOP_LOSS"))
        crash_sell = InjectedTrade(at_ms, user, symbol, exchange, SELL, order_type, price=price, pinned=True)
        trades.append(crash_sell)
        at_ms += rng.uniform(500.0, 3_000.0)
    return Episode("FLASH_CRASH", tuple(trades), blocks=venue)


def _crash_venue(ctx: EpisodeContext) -> tuple[int, int] | None:
    """A free venue whose symbol keeps another free venue, so displaced flow has somewhere to go.

    The venue's last trade must be a BUY, so the crash starts a run of its own instead of
    extending one (which would merge two crashes on a venue into one alert). Venues a crash may not
    take over still count as somewhere for displaced flow to go.
    """
    free = [
        (symbol, exchange)
        for symbol in range(len(SYMBOLS))
        for exchange in range(len(EXCHANGES))
        if not ctx.venue_busy(symbol, exchange)
    ]
    candidates = [
        venue
        for venue in free
        if ctx.crash_allowed(*venue) and ctx.sell_run(*venue) == 0 and sum(other[0] == venue[0] for other in free) >= 2
    ]
    return ctx.rng.choice(candidates) if candidates else None


def rapid_burst(ctx: EpisodeContext) -> Episode | None:
    """RAPID_BURST: 25-40 trades of one user spread evenly over 5-8 s (rule: > 20 within 10 s).

    Even spacing (jittered +-50%) keeps the burst dense throughout, so it is one alert, not two;
    a user idle for the rule's 10 s cannot have an earlier burst merge into this one.
    """
    rng = ctx.rng
    user = ctx.pick_user(idle_ms=BURST_WINDOW_MS)
    if user is None:
        return None
    symbol, exchange = _any_venue(rng)
    count = rng.randint(25, 40)
    gaps = [rng.uniform(0.5, 1.5) for _ in range(count - 1)]
    scale = rng.uniform(5_000.0, 8_000.0) / sum(gaps)
    at_ms = _start(ctx)
    trades = []
    for gap in [*gaps, 0.0]:
        side = rng.choice((BUY, SELL))
        trades.append(InjectedTrade(at_ms, user, symbol, exchange, side, rng.choice(("MARKET", "LIMIT"))))
        at_ms += gap * scale
    return Episode("RAPID_BURST", tuple(trades))


PLANNERS: Mapping[str, Planner] = MappingProxyType(
    {
        "LARGE_ORDER": large_order,
        "VOLUME_SPIKE": volume_spike,
        "WASH_TRADING": wash_trading,
        "SELF_TRADE": self_trade,
        "FLASH_CRASH": flash_crash,
        "RAPID_BURST": rapid_burst,
    }
)
