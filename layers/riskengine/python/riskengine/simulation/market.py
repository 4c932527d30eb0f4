"""Event-time price random walks, one per symbol, quoted per venue a few basis points apart."""

from __future__ import annotations

import math
import random

from riskengine.simulation.config import EXCHANGES, SYMBOLS

MS_PER_YEAR = 365 * 24 * 3600 * 1000
MAX_VENUE_SPREAD_BPS = 5.0
# Uniform shocks scaled to unit variance: summed over many steps they act like Gaussian ones
# (central limit) at a fraction of random.gauss()'s cost.
UNIT_VARIANCE_SCALE = math.sqrt(12.0)


class Market:
    """Geometric random walk per symbol, advanced lazily by the event time since its last quote.

    Advancing by elapsed event time (not per trade) keeps volatility realistic whatever the
    configured trade rate, and costs one uniform draw per quote. Each venue quotes the walk
    times a fixed factor within a few basis points, as real venues track each other closely.
    """

    def __init__(self, rng: random.Random, start_ms: float) -> None:
        self._rng = rng
        self._mid = [spec.start_price for spec in SYMBOLS]
        self._last_ms = [float(start_ms)] * len(SYMBOLS)
        self._sigma_per_sqrt_ms = [spec.annual_volatility / math.sqrt(MS_PER_YEAR) for spec in SYMBOLS]
        self._decimals = [spec.price_decimals for spec in SYMBOLS]
        self._venue_factor = [
            [1.0 + rng.uniform(-MAX_VENUE_SPREAD_BPS, MAX_VENUE_SPREAD_BPS) / 10_000 for _ in EXCHANGES]
            for _ in SYMBOLS
        ]

    def price(self, symbol: int, exchange: int, at_ms: float) -> float:
        """Quote of ``SYMBOLS[symbol]`` on ``EXCHANGES[exchange]`` at event time ``at_ms``.

        Times must not go backwards per symbol; an earlier ``at_ms`` just reuses the last mid.
        """
        elapsed = at_ms - self._last_ms[symbol]
        if elapsed > 0:
            shock = (self._rng.random() - 0.5) * UNIT_VARIANCE_SCALE
            step = self._sigma_per_sqrt_ms[symbol] * math.sqrt(elapsed) * shock
            self._mid[symbol] *= math.exp(step)
            self._last_ms[symbol] = at_ms
        return round(self._mid[symbol] * self._venue_factor[symbol][exchange], self._decimals[symbol])
