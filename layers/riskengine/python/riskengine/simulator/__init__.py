"""Seeded, deterministic crypto-trade simulator for the local demo, the benchmark and tests.

Pure standard library (``random``), so it runs anywhere the engine does and a seed always
names the same data set.
"""

from riskengine.simulator.config import PATTERNS, SimulatorConfig
from riskengine.simulator.generator import INVALID_KINDS, SimulatorStats, TradingSimulator

__all__ = ["INVALID_KINDS", "PATTERNS", "SimulatorConfig", "SimulatorStats", "TradingSimulator"]
