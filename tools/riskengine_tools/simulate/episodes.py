"""Injected order-book abuse: one planner per pattern, each episode clearing its rule with a margin.

The traders are ordinary retail accounts (their earlier orders make SPOOFING's median), resting
before the episode as long as every honest activity does. The opposite-side leg of SPOOFING and
LAYERING is a small market order filled at once, so its trade is both a fill and a trade of the
same trader, symbol and exchange. ``quote_stuffing`` is EXCESSIVE_CANCELS' second condition and is
labelled EXCESSIVE_CANCELS (as ``SELF_TRADE`` is labelled WASH_TRADING); EXCESSIVE_CANCELS traders
are quiet for the rule's 30 minutes before and after, so nothing else of theirs counts in its window.
"""

from __future__ import annotations

import math

from riskengine.simulation.scenarios import BUY, SELL
from riskengine_tools.simulate.context import FlowContext
from riskengine_tools.simulate.orders import Session, behind, lots_of
from riskengine_tools.simulate.rules import (
    CANCELS_MIN_ORDERS,
    CANCELS_PER_FILL,
    CANCELS_WINDOW_MS,
    LAYERING_MIN_LEVELS,
    LAYERING_PLACE_WITHIN_MS,
    SPOOF_CANCEL_WITHIN_MS,
    SPOOF_MIN_NOTIONAL_USD,
    SPOOF_MIN_RATIO,
    STUFFING_MAX_EVENTS,
    STUFFING_WINDOW_MS,
)
from riskengine_tools.simulate.spine import max_fill_notional
from riskengine_tools.simulate.traders import Role

LEG_USD = (1_000.0, 15_000.0)
LEG_FILL_MS = (30.0, 300.0)
# SPOOFING: the bait is twice the rule's size at least, the trade 3-10 s after it and the cancel
# 15-24 s after it (the rule: within 30 s).
SPOOF_SIZE_MARGIN = 2.0
SPOOF_SIZE = (1.0, 1.5)
SPOOF_TRADE_MS = (3_000.0, 10_000.0)
SPOOF_CANCEL_MS = (0.5 * SPOOF_CANCEL_WITHIN_MS, 0.8 * SPOOF_CANCEL_WITHIN_MS)
SPOOF_DISTANCE = (0.001, 0.004)
# LAYERING: 4-6 levels placed within 45 s (rule: 60 s), 0.05-0.15 % apart, the trade 1-5 s after the
# last, the cancels 2-8 s later (the last at most ~62 s after the first; rule: 90 s). Layers are
# ordinary sizes (at most 1.25x the trader's median order), so none is also a SPOOFING bait.
LAYERS = (LAYERING_MIN_LEVELS, LAYERING_MIN_LEVELS + 2)
LAYERS_SPAN_MS = 0.75 * LAYERING_PLACE_WITHIN_MS
LAYER_STEP = (0.0005, 0.0015)
LAYER_SIZE = (0.8, 1.25)
LAYER_DEFAULT_USD = (2_000.0, 15_000.0)
LAYER_TRADE_MS = (1_000.0, 5_000.0)
LAYER_CANCEL_MS = (2_000.0, 8_000.0)
# EXCESSIVE_CANCELS: 1-2 orders filled first, then 22-30 placed and cancelled, one every 4.5-6 s (at
# most 28 events a minute: not quote stuffing), so from the 20th order on there are at least 8
# cancels per FILL (rule: 6). The fills come first so no cancelled order has a trade of the other
# side during its life (no SPOOFING, no LAYERING).
CANCEL_FILLS = (1, 2)
CANCELLED = (max(CANCELS_MIN_ORDERS, round(1.3 * CANCELS_PER_FILL * CANCEL_FILLS[1])) + 2, CANCELS_MIN_ORDERS + 10)
CANCEL_GAP_MS = (4_500.0, 6_000.0)
CANCEL_AFTER_MS = (1_000.0, 4_000.0)
CANCEL_USD = (500.0, 5_000.0)
QUIET_MS = CANCELS_WINDOW_MS + 60_000.0
# Quote stuffing: 30-40 orders, each placed, amended 0-2 times and cancelled, all within 15-36 s: at
# least 60 events where the rule counts more than 45 within 60 s. Nothing fills, so the cancel ratio
# (which needs a FILL) never applies.
STUFFED_ORDERS = (math.ceil(1.3 * STUFFING_MAX_EVENTS / 2), 40)  # two events an order at least
STUFFING_SPAN_MS = (STUFFING_WINDOW_MS / 4, STUFFING_WINDOW_MS * 7 / 12)


def spoofing(ctx: FlowContext) -> Session | None:
    """SPOOFING: a bait order far bigger than the trader's usual, a small trade on the other side,
    then the bait cancelled with nothing filled."""
    user = ctx.pick(Role.RETAIL, orders=2)
    if user is None:
        return None
    rng, venue, side = ctx.rng, ctx.venue(), ctx.side()
    symbol, price = venue[0], ctx.quote(venue)
    medians = ctx.trader(user).medians(venue)
    bait_usd = SPOOF_SIZE_MARGIN * max([SPOOF_MIN_NOTIONAL_USD, *(m * SPOOF_MIN_RATIO for m in medians)])
    bait_usd *= rng.uniform(*SPOOF_SIZE)
    bait_price = behind(price, side, rng.uniform(*SPOOF_DISTANCE))
    session, start = Session("SPOOFING", "SPOOFING"), ctx.start()
    bait = session.place(start, user, venue, side, "LIMIT", bait_price, lots_of(symbol, bait_usd, bait_price))
    _opposite_leg(ctx, session, user, venue, side, price, start + rng.uniform(*SPOOF_TRADE_MS))
    session.cancel(bait, start + rng.uniform(*SPOOF_CANCEL_MS))
    return session if ctx.fills_safe(session) else None


def layering(ctx: FlowContext) -> Session | None:
    """LAYERING: orders on one side at several levels, a trade on the other side, all orders cancelled."""
    user = ctx.pick(Role.RETAIL, orders=LAYERS[1] + 1)
    if user is None:
        return None
    rng, venue, side = ctx.rng, ctx.venue(), ctx.side()
    symbol, price = venue[0], ctx.quote(venue)
    layers = rng.randint(*LAYERS)
    step = rng.uniform(*LAYER_STEP)
    prices = [behind(price, side, level * step) for level in range(1, layers + 1)]
    # Not above the median of any previous orders, however few: the layers join that history and
    # must not become SPOOFING baits once it counts.
    usual = min([rng.uniform(*LAYER_DEFAULT_USD), *ctx.trader(user).medians(venue, at_least=1)])
    gaps = [rng.uniform(0.2, 1.0) for _ in range(layers - 1)]
    scale = rng.uniform(0.5, 1.0) * LAYERS_SPAN_MS / sum(gaps)
    session, at = Session("LAYERING", "LAYERING"), ctx.start()
    orders = []
    for level, gap in zip(prices, [*gaps, 0.0], strict=True):
        lots = lots_of(symbol, usual * rng.uniform(*LAYER_SIZE), level)
        orders.append(session.place(at, user, venue, side, "LIMIT", level, lots))
        at += gap * scale
    if len({order.price for order in orders}) < LAYERING_MIN_LEVELS:
        return None  # levels too close for the symbol's price precision
    at += rng.uniform(*LAYER_TRADE_MS)
    _opposite_leg(ctx, session, user, venue, side, price, at)
    at += rng.uniform(*LAYER_CANCEL_MS)
    for order in orders:
        at += rng.uniform(100.0, 400.0)
        session.cancel(order, at)
    return session if ctx.fills_safe(session) else None


def excessive_cancels(ctx: FlowContext) -> Session | None:
    """EXCESSIVE_CANCELS by cancel ratio: one or two orders filled, then a long run of orders placed and
    cancelled by a trader who is otherwise quiet for half an hour either side."""
    user = ctx.pick(Role.RETAIL, orders=0, quiet_ms=QUIET_MS)
    if user is None:
        return None
    rng, venue = ctx.rng, ctx.venue()
    symbol, price = venue[0], ctx.quote(venue)
    session, at = Session("EXCESSIVE_CANCELS", "EXCESSIVE_CANCELS", QUIET_MS), ctx.start()
    fills = rng.randint(*CANCEL_FILLS)
    for _ in range(fills):
        lots = lots_of(symbol, rng.uniform(*CANCEL_USD), price)
        session.fill(session.place(at, user, venue, ctx.side(), "MARKET", price, lots), at + rng.uniform(*LEG_FILL_MS))
        at += rng.uniform(*CANCEL_GAP_MS)
    for _ in range(rng.randint(*CANCELLED)):
        side = ctx.side()
        limit = behind(price, side, rng.uniform(0.001, 0.01))
        order = session.place(at, user, venue, side, "LIMIT", limit, lots_of(symbol, rng.uniform(*CANCEL_USD), limit))
        session.cancel(order, at + rng.uniform(*CANCEL_AFTER_MS))
        at += rng.uniform(*CANCEL_GAP_MS)
    return session if ctx.fills_safe(session) else None


def quote_stuffing(ctx: FlowContext) -> Session | None:
    """EXCESSIVE_CANCELS by event rate: dozens of orders placed, amended and cancelled within seconds."""
    user = ctx.pick(Role.RETAIL, orders=0, quiet_ms=QUIET_MS)
    if user is None:
        return None
    rng, venue = ctx.rng, ctx.venue()
    symbol, price = venue[0], ctx.quote(venue)
    session, start = Session("QUOTE_STUFFING", "EXCESSIVE_CANCELS", QUIET_MS), ctx.start()
    count, span = rng.randint(*STUFFED_ORDERS), rng.uniform(*STUFFING_SPAN_MS)
    for index in range(count):
        at = start + span * index / count
        side = ctx.side()
        limit = behind(price, side, rng.uniform(0.0005, 0.005))
        order = session.place(at, user, venue, side, "LIMIT", limit, lots_of(symbol, rng.uniform(*CANCEL_USD), limit))
        for _ in range(rng.randint(0, 2)):
            at += rng.uniform(50.0, 300.0)
            session.amend(order, at, behind(price, side, rng.uniform(0.0005, 0.005)))
        session.cancel(order, at + rng.uniform(100.0, 600.0))
    return session


def _opposite_leg(
    ctx: FlowContext, session: Session, user: int, venue: tuple[int, int], side: str, price: float, at: float
) -> None:
    """A small market order on the other side, filled at once: the trade the rule looks for."""
    symbol = venue[0]
    usd = ctx.rng.uniform(LEG_USD[0], min(LEG_USD[1], max_fill_notional(symbol)))
    other = SELL if side == BUY else BUY
    order = session.place(at, user, venue, other, "MARKET", price, lots_of(symbol, usd, price))
    session.fill(order, at + ctx.rng.uniform(*LEG_FILL_MS))
