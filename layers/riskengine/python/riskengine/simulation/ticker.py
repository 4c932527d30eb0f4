"""One tick: produce the running simulation's trades that came due since the last tick.

In AWS a scheduled function ticks (every minute); locally ``riskengine api serve`` ticks about
once a second. Ticks may overlap or be retried: each claims its range in Redis before writing,
so a trade is produced at most once. A write that fails after its claim is counted as failed
and not retried (retrying could duplicate the part that did reach Kafka).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from riskengine.codec import CodecError
from riskengine.errors import SinkError
from riskengine.simulation.control import Claim, RunStatus, SimulationRun
from riskengine.simulation.stream import TradeStream

logger = logging.getLogger(__name__)

# Bounds one tick's work (a tick that fell behind catches up over several); two minutes at the highest rate.
MAX_TRADES_PER_TICK = 60_000
# Another tick that keeps winning the claim is producing the same trades, so giving up is safe.
CLAIM_ATTEMPTS = 3


class ControlStore(Protocol):
    """What a tick needs of :class:`riskengine.simulation.control.SimulationControl`."""

    def read(self) -> SimulationRun | None: ...

    def claim(self, run_id: str, start: int, end: int, *, finished: bool, now_ms: int) -> Claim: ...

    def record(self, run_id: str, *, produced: int, failed: int) -> None: ...


class TradeSink(Protocol):
    """What a tick needs of :class:`riskengine.intake.producer.TradeProducer`."""

    def send(self, trades: Sequence[dict[str, Any]]) -> None: ...


@dataclass(frozen=True, slots=True)
class TickResult:
    run_id: str | None = None
    produced: int = 0
    first_sequence: int | None = None  # sequence number of the first trade produced
    finished: bool = False  # this tick claimed the run's last trades

    def as_dict(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "produced": self.produced,
            "firstSequence": self.first_sequence,
            "finished": self.finished,
        }


class SimulationTicker:
    def __init__(self, control: ControlStore, sink: TradeSink, *, max_trades_per_tick: int = MAX_TRADES_PER_TICK):
        self._control = control
        self._sink = sink
        self._max_trades = max_trades_per_tick
        self._stream: TradeStream | None = None  # the current run's, kept between ticks of a warm container

    def tick(self, now_ms: int) -> TickResult:
        """Claim and produce the trades due at ``now_ms``.

        Raises SinkError or a CodecError when writing fails, after counting the claimed trades as failed.
        """
        run_id: str | None = None
        for _ in range(CLAIM_ATTEMPTS):
            run = self._control.read()
            if run is None or run.status is not RunStatus.RUNNING:
                return TickResult()
            run_id = run.run_id
            due = self._stream_of(run).due(run.claimed, now_ms, self._max_trades)
            end = run.claimed + len(due.trades)
            claim = self._control.claim(run.run_id, run.claimed, end, finished=due.exhausted, now_ms=now_ms)
            if claim is Claim.STALE:
                return TickResult(run.run_id)
            if claim is Claim.GRANTED:
                self._produce(run.run_id, due.trades)
                first = run.claimed if due.trades else None
                return TickResult(run.run_id, len(due.trades), first, due.exhausted)
        logger.info("other ticks kept claiming first; they produce the trades due")
        return TickResult(run_id)

    def _stream_of(self, run: SimulationRun) -> TradeStream:
        if self._stream is None or self._stream.run_id != run.run_id:
            self._stream = TradeStream(run)
        return self._stream

    def _produce(self, run_id: str, trades: list[dict[str, Any]]) -> None:
        if not trades:
            return
        try:
            self._sink.send(trades)
        except (SinkError, CodecError):  # e.g. RegistryUnavailable while encoding
            self._control.record(run_id, produced=0, failed=len(trades))
            logger.error("simulation %s lost %d claimed trades: writing them failed", run_id, len(trades))
            raise
        self._control.record(run_id, produced=len(trades), failed=0)
