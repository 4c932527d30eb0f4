"""What an order-flow planner sees of the running simulation: randomness, time, prices, traders.

One context is made per planner call, at the event time ``now_ms`` the merged stream has reached;
everything a planner schedules starts after it, so the stream never has to go back in time.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection

from riskengine.simulation.config import EXCHANGES, SYMBOLS
from riskengine.simulation.generator import SIZE_BITS, SIZE_TABLE
from riskengine.simulation.scenarios import BUY, SELL
from riskengine_tools.simulate.orders import Session, quantity_of, usd
from riskengine_tools.simulate.rules import LAYERING_CANCEL_WITHIN_MS
from riskengine_tools.simulate.spine import TradeFact, max_fill_notional, spine_safe
from riskengine_tools.simulate.traders import Population, Role, Trader

# The venues the order flow trades on; flash crashes are injected on the others
# (SimulatorConfig.crash_exchanges), so none is ever interrupted by an order-flow fill.
ORDER_EXCHANGES = ("BINANCE", "COINBASE", "OKX")
# Traders rest this long between activities: as long as LAYERING's cancel window (and longer than
# SPOOFING's), so no order of one activity can combine with the next one's into an order-book pattern
# (the spine's rules are kept off by checking every fill against the trader's previous trades: spine.py).
IDLE_MS = float(LAYERING_CANCEL_WITHIN_MS)
START_MS = (50.0, 1_000.0)

Quote = Callable[[int, int, float], float]


class FlowContext:
    def __init__(
        self, rng: random.Random, now_ms: float, until_ms: float, population: Population, quote: Quote
    ) -> None:
        self.rng = rng
        self.now_ms = now_ms
        self.until_ms = until_ms  # everything planned must be over by then (the stream ends soon after)
        self.population = population
        self._quote = quote

    def start(self) -> float:
        """A first event shortly after now, so what is planned lands in the stream's near future."""
        return self.now_ms + self.rng.uniform(*START_MS)

    def venue(self) -> tuple[int, int]:
        """A symbol (weighted as the trade flow weighs them) on one of the order flow's exchanges."""
        symbol = self.rng.choices(range(len(SYMBOLS)), [spec.flow_weight for spec in SYMBOLS])[0]
        exchanges = [i for i, (name, _) in enumerate(EXCHANGES) if name in ORDER_EXCHANGES]
        exchange = self.rng.choices(exchanges, [EXCHANGES[i][1] for i in exchanges])[0]
        return symbol, exchange

    def quote(self, venue: tuple[int, int]) -> float:
        """The venue's price now, on the trade flow's own price walk."""
        return self._quote(*venue, self.now_ms)

    def side(self) -> str:
        return self.rng.choice((BUY, SELL))

    def pick(
        self,
        *roles: Role,
        orders: int,
        idle_ms: float = IDLE_MS,
        quiet_ms: float | None = None,
        exclude: Collection[int] = (),
        anyone: bool = True,
    ) -> int | None:
        """A trader for an activity (``Population.pick``)."""
        return self.population.pick(
            self.rng,
            roles,
            self.now_ms,
            idle_ms=idle_ms,
            orders=orders,
            quiet_ms=quiet_ms,
            exclude=exclude,
            anyone=anyone,
        )

    def trader(self, user: int) -> Trader:
        return self.population.traders[user]

    def order_notional(self, user: int, symbol: int) -> float:
        """An ordinary order size for ``user``: the trade flow's lognormal sizes, scaled to the trader,
        never more than a fill may be."""
        size = SIZE_TABLE[self.rng.getrandbits(SIZE_BITS)] * self.trader(user).size_usd
        return min(size, max_fill_notional(symbol))

    def fills_safe(self, session: Session) -> bool:
        """Whether every fill of ``session`` keeps its trader clear of the spine's trade rules."""
        return all(self.fill_safe(session, user) for user in session.users)

    def fill_safe(self, session: Session, user: int, extra: TradeFact | None = None) -> bool:
        """Whether ``user``'s fills in ``session`` (and ``extra`` after them) keep them clear of the
        spine's trade rules, after what they traded before."""
        previous = list(self.trader(user).trades)
        facts = [
            TradeFact(
                event.at_ms,
                event.order.symbol,
                event.order.side,
                quantity_of(event.order.symbol, event.fill_lots),
                usd(event.order.symbol, event.fill_lots, event.price),
            )
            for event in session.fills_of(user)
        ]
        for fact in [*facts, *([extra] if extra is not None else [])]:
            if not spine_safe(previous, fact):
                return False
            previous.append(fact)
        return True
