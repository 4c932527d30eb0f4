"""A run's trades by sequence number: trade ``n`` of a run is the same trade whichever tick produces it.

The seeded simulator is a stream in nondecreasing event time starting at the run's start, so
"the trades due now" are the next ones whose timestamp has come. A stream remembers where it is,
so a warm container continues where its last tick stopped; any other position is reached by
regenerating from the first trade (bounded by ``plan.MAX_TRADES_PER_RUN``).
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from riskengine.simulation.control import SimulationRun
from riskengine.simulation.generator import TradingSimulator

Trade = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DueTrades:
    trades: list[Trade]
    exhausted: bool  # no trade of the run comes after these: the run is complete once they are claimed


class TradeStream:
    def __init__(self, run: SimulationRun) -> None:
        self.run_id = run.run_id
        self._config = run.plan.simulator_config(run.started_at_ms)
        self._stops_at_ms = run.stops_at_ms
        self._rewind()

    def due(self, start: int, now_ms: int, limit: int) -> DueTrades:
        """Trades ``start, start + 1, ...`` stamped at or before ``now_ms``, at most ``limit`` of them.

        Each carries the run's own trade id (``sim-<runId>-<sequence>``), so two runs with the same
        seed never share an id, and a trade keeps its id whoever produces it.
        """
        self._seek(start)
        trades: list[Trade] = []
        while len(trades) < limit:
            trade = self._peek(len(trades))
            if trade["timestamp"] >= self._stops_at_ms:
                return DueTrades(trades, exhausted=True)
            if trade["timestamp"] > now_ms:
                break
            trades.append(trade | {"tradeId": f"sim-{self.run_id}-{start + len(trades)}"})
        return DueTrades(trades, exhausted=False)

    def _rewind(self) -> None:
        simulator = TradingSimulator(self._config)
        # Unbounded in practice: a run ends by event time (stops_at), not by a count.
        self._source: Iterator[Trade] = simulator.trades(sys.maxsize)
        self._base = 0  # sequence number of self._buffer[0]
        self._buffer: deque[Trade] = deque()

    def _seek(self, start: int) -> None:
        if start < self._base:
            self._rewind()
        while self._base < start:
            if self._buffer:
                self._buffer.popleft()
            else:
                next(self._source)
            self._base += 1

    def _peek(self, offset: int) -> Trade:
        """Trade ``base + offset``, generated on demand and kept until the stream moves past it."""
        while len(self._buffer) <= offset:
            self._buffer.append(next(self._source))
        return self._buffer[offset]
