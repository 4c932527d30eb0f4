"""Trading simulation: a seeded trade generator, and live runs of it behind the intake API.

:class:`TradingSimulator` (``generator``, ``market``, ``scenarios``, ``config``) is a seeded,
deterministic stream of normal flow with abuse episodes interleaved (pure standard library, so a
seed names the same data set anywhere); the demo, the benchmark and the tests feed on it, and
``riskengine simulate`` (tools/riskengine_tools/simulate) merges an order flow into it.

``POST /simulation/start`` stores a :class:`SimulationPlan` as the current run
(:class:`SimulationControl`); each tick (:class:`SimulationTicker`, a scheduled function in AWS,
a background thread locally) claims the run's trades whose event time has come and writes them to
the trades topic (the intake's :class:`riskengine.intake.TradeProducer`). See docs/api.md.
"""

from riskengine.simulation.clients import (
    close_default_clients,
    default_control,
    default_ticker,
)
from riskengine.simulation.config import PATTERNS, SimulatorConfig
from riskengine.simulation.control import (
    CONTROL_KEY,
    Claim,
    RunStatus,
    SimulationAlreadyRunning,
    SimulationControl,
    SimulationRun,
)
from riskengine.simulation.generator import INVALID_KINDS, EpisodeTag, SimulatorStats, TradingSimulator, UserBook
from riskengine.simulation.plan import (
    MAX_DURATION_S,
    MAX_RATE_PER_S,
    MAX_SEED,
    MAX_TRADES_PER_RUN,
    MAX_USERS,
    SimulationPlan,
)
from riskengine.simulation.stream import DueTrades, TradeStream
from riskengine.simulation.ticker import MAX_TRADES_PER_TICK, SimulationTicker, TickResult

__all__ = [
    "CONTROL_KEY",
    "INVALID_KINDS",
    "MAX_DURATION_S",
    "MAX_RATE_PER_S",
    "MAX_SEED",
    "MAX_TRADES_PER_RUN",
    "MAX_TRADES_PER_TICK",
    "MAX_USERS",
    "PATTERNS",
    "Claim",
    "DueTrades",
    "EpisodeTag",
    "RunStatus",
    "SimulationAlreadyRunning",
    "SimulationControl",
    "SimulationPlan",
    "SimulationRun",
    "SimulationTicker",
    "SimulatorConfig",
    "SimulatorStats",
    "TickResult",
    "TradeStream",
    "TradingSimulator",
    "UserBook",
    "close_default_clients",
    "default_control",
    "default_ticker",
]
