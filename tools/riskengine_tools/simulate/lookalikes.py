"""Honest order flow: ordinary orders, and the honest behaviours a careless order-book rule flags.

One planner per kind of activity. Each look-alike resembles an abuse pattern but stays clearly on
the honest side of its rule (``rules.py``):

- ``market_maker``: quotes both sides and cancels most quotes, but at least one cycle in two fills
  (cancels stay under 4 per FILL, the rule wants 6), never four quotes a side within a minute
  (LAYERING wants 4 within 60 s) and never an outsized quote (SPOOFING's bait is 5x the median);
- ``whale``: an order of SPOOFING's bait size that fills, completely or in part before a cancel;
- ``retail_replace``: cancels and re-places at a new price, at most three cancelled orders a chain
  (LAYERING wants four), never trading the other side meanwhile;
- ``fast_market``: a burst of fills on one market from many traders, one order each (RAPID_BURST and
  quote stuffing are per trader), buys and sells mixed (FLASH_CRASH wants 10 sells in a row).

``retail`` is the bulk of ordinary orders: market orders, limit orders filled (sometimes in parts),
cancelled or amended towards the market.
"""

from __future__ import annotations

import math

from riskengine.simulation.scenarios import BUY, SELL
from riskengine_tools.simulate.context import FlowContext
from riskengine_tools.simulate.orders import CANCEL, Order, Session, behind, lots_of, quantity_of, usd
from riskengine_tools.simulate.rules import LAYERING_MIN_ORDERS, SPOOF_MIN_NOTIONAL_USD, SPOOF_MIN_RATIO
from riskengine_tools.simulate.spine import TradeFact, max_fill_notional
from riskengine_tools.simulate.traders import Role

MARKET_FILL_MS = (20.0, 300.0)
# Splitting a fill into parts below this notional (USD) is not worth it.
MIN_SPLIT_USD = 100.0

# Market makers: a cycle re-quotes both sides every 24-32 s, so three quotes a side span at least 48 s
# and four at least 72 s (LAYERING: 4 within 60 s); a quote's size is its maker's size +-25 %.
CYCLE_MS = (24_000.0, 32_000.0)
CYCLES = (4, 7)
HALF_SPREAD_BPS = (2.0, 8.0)
QUOTE_SIZE = (0.8, 1.25)
FILL_CHANCE = 0.55
MAKER_GAP_MS = 5_000.0

# Whales: their big order is SPOOFING's bait size with a margin, filled in parts a fill each
# 1-6 s; three in ten cancel the rest after a part or two, still within SPOOFING's 30 s.
WHALE_MARGIN = (1.05, 1.6)
WHALE_MAX_PARTS = 8
WHALE_PART_GAP_MS = (1_000.0, 6_000.0)
WHALE_CANCEL_MS = (18_000.0, 28_000.0)

# Re-placing: a chain of at most LAYERING_MIN_ORDERS orders, the last one filled (or a chain of at
# most one fewer, all cancelled): never four cancelled orders.
REPLACE_WAIT_MS = (5_000.0, 25_000.0)

# A fast market: 24-40 traders filled on one venue within 4-10 s while the price moves 0.3-1 %: more
# than 45 order events and 20 fills on one market, from traders who each place one order.
FAST_TRADERS = (24, 40)
FAST_SPAN_MS = (4_000.0, 10_000.0)
FAST_MOVE = (0.003, 0.01)
MAX_SELLS_IN_A_ROW = 2


def retail(ctx: FlowContext) -> Session | None:
    """One ordinary order: market (35 %), limit filled (30 %), cancelled (15 %) or amended (20 %)."""
    user = ctx.pick(Role.RETAIL, Role.WHALE, orders=1, anyone=False)
    if user is None:
        return None
    rng, venue, side = ctx.rng, ctx.venue(), ctx.side()
    price = ctx.quote(venue)
    lots = lots_of(venue[0], ctx.order_notional(user, venue[0]), price)
    session, at = Session("retail"), ctx.start()
    roll = rng.random()
    if roll < 0.35:
        order = session.place(at, user, venue, side, "MARKET", price, lots)
        session.fill(order, at + rng.uniform(*MARKET_FILL_MS))
    elif roll < 0.65:
        order = session.place(at, user, venue, side, "LIMIT", behind(price, side, rng.uniform(0.0, 0.002)), lots)
        _fill_in_parts(ctx, session, order, at, rng.choice((1, 1, 2, 3)), (1_000.0, 30_000.0))
    elif roll < 0.80:
        order = session.place(at, user, venue, side, "LIMIT", behind(price, side, rng.uniform(0.003, 0.02)), lots)
        session.cancel(order, at + rng.uniform(5_000.0, 120_000.0))
    else:
        order = session.place(at, user, venue, side, "LIMIT", behind(price, side, rng.uniform(0.002, 0.01)), lots)
        at += rng.uniform(5_000.0, 40_000.0)
        session.amend(order, at, behind(price, side, rng.uniform(0.0, 0.001)))
        at += rng.uniform(1_000.0, 30_000.0)
        if rng.random() < 0.7:
            session.fill(order, at)
        else:
            session.cancel(order, at)
    return session if ctx.fills_safe(session) else None


def retail_replace(ctx: FlowContext) -> Session | None:
    """Look-alike of LAYERING: a limit order cancelled and re-placed closer to the market, and again."""
    user = ctx.pick(Role.RETAIL, orders=LAYERING_MIN_ORDERS, anyone=False)
    if user is None:
        return None
    rng, venue, side = ctx.rng, ctx.venue(), ctx.side()
    price = ctx.quote(venue)
    lots = lots_of(venue[0], ctx.order_notional(user, venue[0]), price)
    gives_up = rng.random() < 0.3
    chain = rng.randint(2, LAYERING_MIN_ORDERS - 1) if gives_up else rng.randint(2, LAYERING_MIN_ORDERS)
    session, at, distance = Session("retail_replace"), ctx.start(), rng.uniform(0.004, 0.012)
    for link in range(chain):
        order = session.place(at, user, venue, side, "LIMIT", behind(price, side, distance), lots)
        at += rng.uniform(*REPLACE_WAIT_MS)
        if link < chain - 1 or gives_up:
            session.cancel(order, at)
            at += rng.uniform(50.0, 500.0)
            distance *= rng.uniform(0.3, 0.7)
        else:
            session.fill(order, at)
    return session if ctx.fills_safe(session) else None


def whale(ctx: FlowContext) -> Session | None:
    """Look-alike of SPOOFING: an order of bait size (5x the trader's median or more, 100,000 USD or
    more) that fills in parts; or is partly filled, then the rest cancelled within 30 s."""
    user = ctx.pick(Role.WHALE, orders=1)
    if user is None:
        return None
    rng, venue, side = ctx.rng, ctx.venue(), ctx.side()
    symbol, price = venue[0], ctx.quote(venue)
    part_cap = 0.95 * max_fill_notional(symbol)
    bait = max([SPOOF_MIN_NOTIONAL_USD, *(m * SPOOF_MIN_RATIO for m in ctx.trader(user).medians(venue))])
    notional = min(bait * rng.uniform(*WHALE_MARGIN), WHALE_MAX_PARTS * part_cap)
    parts = max(2, math.ceil(notional / part_cap))
    session, start = Session("whale"), ctx.start()
    order = session.place(start, user, venue, side, "LIMIT", price, lots_of(symbol, notional, price))
    if rng.random() < 0.7:
        _fill_in_parts(ctx, session, order, start, parts, WHALE_PART_GAP_MS)
    else:  # a part or two (never all of it), then the rest cancelled
        at = start
        for lots in _split(order.lots, parts, ctx)[: rng.randint(1, min(2, parts - 1))]:
            at += rng.uniform(*WHALE_PART_GAP_MS)
            session.fill(order, at, lots)
        session.cancel(order, start + rng.uniform(*WHALE_CANCEL_MS))
    return session if ctx.fills_safe(session) else None


def market_maker(ctx: FlowContext) -> Session | None:
    """Look-alike of SPOOFING, LAYERING and EXCESSIVE_CANCELS: both sides quoted each cycle, one side
    filled in some cycles and the rest cancelled at the next re-quote; never two cycles in a row
    without a fill, so a maker cancels at most about three quotes per FILL."""
    user = ctx.pick(Role.MARKET_MAKER, orders=0, idle_ms=MAKER_GAP_MS)
    if user is None:
        return None
    rng, venue, trader = ctx.rng, ctx.venue(), ctx.trader(user)
    symbol, mid = venue[0], ctx.quote(venue)
    size = min(trader.size_usd, max_fill_notional(symbol) / QUOTE_SIZE[1])
    half_spread = rng.uniform(*HALF_SPREAD_BPS) / 10_000
    must_fill = list(trader.terminals) == [CANCEL, CANCEL]  # the maker's last cycle had no fill
    session = Session("market_maker")
    at = max(ctx.start(), trader.last_placed_ms + CYCLE_MS[0])
    for _ in range(rng.randint(*CYCLES)):
        requote = at + rng.uniform(*CYCLE_MS)
        if requote > ctx.until_ms:
            break  # the stream ends soon: a shorter session
        mid *= 1 + rng.uniform(-0.0003, 0.0003)
        quotes = {BUY: mid * (1 - half_spread), SELL: mid * (1 + half_spread)}
        filled = (
            _maker_fill(ctx, session, user, venue, quotes, size, at, requote)
            if must_fill or (rng.random() < FILL_CHANCE)
            else None
        )
        if must_fill and filled is None:
            break  # no fill fits the maker's recent trades: stop quoting rather than cancel twice in a row
        for side, quote in quotes.items():
            if side != filled:
                lots = lots_of(symbol, size * rng.uniform(*QUOTE_SIZE), quote)
                session.cancel(session.place(at, user, venue, side, "LIMIT", quote, lots), requote - 1.0)
        must_fill = filled is None
        at = requote
    return session if session.events else None


def _maker_fill(
    ctx: FlowContext,
    session: Session,
    user: int,
    venue: tuple[int, int],
    quotes: dict[str, float],
    size: float,
    at: float,
    requote: float,
) -> str | None:
    """Quote and fill one side within the cycle, sized to keep the maker clear of the spine's rules.
    Returns the side filled, or None when no side and size fits."""
    rng, symbol = ctx.rng, venue[0]
    fill_at = at + rng.uniform(3_000.0, requote - at - 2_000.0)
    sides = rng.sample(list(quotes), 2)
    for side in sides:
        for factor in (rng.uniform(*QUOTE_SIZE), QUOTE_SIZE[0], QUOTE_SIZE[1]):
            lots = lots_of(symbol, size * factor, quotes[side])
            fact = TradeFact(fill_at, symbol, side, quantity_of(symbol, lots), usd(symbol, lots, quotes[side]))
            if ctx.fill_safe(session, user, fact):
                order = session.place(at, user, venue, side, "LIMIT", quotes[side], lots)
                session.fill(order, fill_at)
                return side
    return None


def fast_market(ctx: FlowContext) -> Session | None:
    """Look-alike of quote stuffing, RAPID_BURST and FLASH_CRASH: many traders' market orders filled on
    one venue within seconds while the price runs, one order each, buys and sells mixed."""
    rng, venue = ctx.rng, ctx.venue()
    users: list[int] = []
    for _ in range(rng.randint(*FAST_TRADERS)):
        user = ctx.pick(Role.RETAIL, orders=1, exclude=users, anyone=False)
        if user is None:
            break
        users.append(user)
    if len(users) < FAST_TRADERS[0]:
        return None
    symbol, price = venue[0], ctx.quote(venue)
    move = rng.choice((-1, 1)) * rng.uniform(*FAST_MOVE)
    start, span = ctx.start(), rng.uniform(*FAST_SPAN_MS)
    placed = sorted(start + rng.uniform(0.0, span) for _ in users)
    fills = sorted((at + rng.uniform(*MARKET_FILL_MS), at) for at in placed)
    session = Session("fast_market")
    for step, (user, side, (fill_at, at)) in enumerate(zip(users, _mixed_sides(ctx, len(users)), fills, strict=True)):
        at_price = price * (1 + move * step / len(users))
        lots = lots_of(symbol, ctx.order_notional(user, symbol), at_price)
        session.fill(session.place(at, user, venue, side, "MARKET", at_price, lots), fill_at)
    return session if ctx.fills_safe(session) else None


def _mixed_sides(ctx: FlowContext, count: int) -> list[str]:
    """Random sides with never more than MAX_SELLS_IN_A_ROW sells in a row."""
    sides: list[str] = []
    for _ in range(count):
        run = len(sides) - max((i for i, side in enumerate(sides) if side == BUY), default=-1) - 1
        sides.append(BUY if run >= MAX_SELLS_IN_A_ROW else ctx.side())
    return sides


def _fill_in_parts(
    ctx: FlowContext, session: Session, order: Order, at: float, parts: int, gap_ms: tuple[float, float]
) -> None:
    """Fill the whole order in ``parts`` fills, each no bigger than the one before, ``gap_ms`` apart
    (in one fill when parts would be too small to bother)."""
    parts = parts if order.placed_notional >= parts * MIN_SPLIT_USD else 1
    for lots in _split(order.lots, parts, ctx):
        at += ctx.rng.uniform(*gap_ms)
        session.fill(order, at, lots)


def _split(lots: int, parts: int, ctx: FlowContext) -> list[int]:
    """``lots`` in ``parts`` shares of 80-120 % of an even share, largest first: a fill never outgrows
    the one before, so a trader's fills never escalate into VOLUME_SPIKE. One share for tiny orders."""
    if lots < 2 * parts:
        return [lots]
    weights = [ctx.rng.uniform(0.8, 1.2) for _ in range(parts)]
    shares = [int(lots * weight / sum(weights)) for weight in weights[:-1]]
    return sorted([*shares, lots - sum(shares)], reverse=True)
