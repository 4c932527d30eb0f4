"""The order flow: its planners, called at their rates of event time, and what they commit.

Each planner is due at jittered, evenly spaced event times (as the trade simulator spaces its
episodes, so every run gets close to its share); a session it returns is committed only if it ends
before the stream's cutoff, so every episode in a file is complete.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping
from types import MappingProxyType

from riskengine_tools.simulate.context import FlowContext, Quote
from riskengine_tools.simulate.episodes import excessive_cancels, layering, quote_stuffing, spoofing
from riskengine_tools.simulate.lookalikes import fast_market, market_maker, retail, retail_replace, whale
from riskengine_tools.simulate.orders import Session
from riskengine_tools.simulate.traders import Population

Planner = Callable[[FlowContext], Session | None]

# Injected episodes are named by their planner; LOOKALIKES are the honest behaviours a careless
# order-book rule flags (docs/simulation.md).
PLANNERS: Mapping[str, Planner] = MappingProxyType(
    {
        "retail": retail,
        "retail_replace": retail_replace,
        "whale": whale,
        "market_maker": market_maker,
        "fast_market": fast_market,
        "SPOOFING": spoofing,
        "LAYERING": layering,
        "EXCESSIVE_CANCELS": excessive_cancels,
        "QUOTE_STUFFING": quote_stuffing,
    }
)
LOOKALIKES = ("market_maker", "whale", "retail_replace", "fast_market")
EPISODES = ("SPOOFING", "LAYERING", "EXCESSIVE_CANCELS", "QUOTE_STUFFING")

# Planner calls per minute of event time. Market-maker sessions last 2-4 minutes: 8 calls a minute
# keep every maker quoting (a call finds none idle otherwise); episode rates give a default run 25-40
# of each.
DEFAULT_PER_MINUTE: Mapping[str, float] = MappingProxyType(
    {
        "retail": 100.0,
        "retail_replace": 20.0,
        "whale": 4.0,
        "market_maker": 8.0,
        "fast_market": 3.0,
        "SPOOFING": 4.5,
        "LAYERING": 4.5,
        "EXCESSIVE_CANCELS": 5.0,
        "QUOTE_STUFFING": 4.0,
    }
)
MS_PER_MINUTE = 60_000.0


class OrderFlow:
    """Calls each planner when it is due and hands what it planned to ``commit``."""

    def __init__(
        self,
        rng: random.Random,
        population: Population,
        quote: Quote,
        *,
        start_ms: float,
        cutoff_ms: float,
        commit: Callable[[Session], None],
        per_minute: Mapping[str, float] = DEFAULT_PER_MINUTE,
    ) -> None:
        unknown = set(per_minute) - set(PLANNERS)
        if unknown:
            raise ValueError(f"unknown order-flow planners {sorted(unknown)}; known: {list(PLANNERS)}")
        self._rng = rng
        self._population = population
        self._quote = quote
        self._cutoff_ms = cutoff_ms
        self._commit = commit
        self._per_minute = {name: per_minute.get(name, 0.0) for name in PLANNERS}
        self._due = {name: start_ms + self._gap(name, first=True) for name in PLANNERS}
        self.sessions: Counter[str] = Counter()

    def plan_until(self, now_ms: float) -> None:
        """Call every planner due at or before ``now_ms`` (with ``now_ms`` as its present)."""
        if now_ms >= self._cutoff_ms:
            return
        for name, planner in PLANNERS.items():
            while self._due[name] <= now_ms:
                self._due[name] += self._gap(name)
                session = planner(FlowContext(self._rng, now_ms, self._cutoff_ms, self._population, self._quote))
                if session is not None and session.end_ms <= self._cutoff_ms:
                    self._population.commit(session)
                    self.sessions[session.kind] += 1
                    self._commit(session)

    def _gap(self, name: str, first: bool = False) -> float:
        rate = self._per_minute[name]
        if rate <= 0:
            return float("inf")
        return MS_PER_MINUTE / rate * self._rng.uniform(0.1 if first else 0.5, 1.5)
