"""What a simulation run is asked to do, checked before anything is stored.

The bounds keep every run cheap to resume: a container that has not seen the run yet regenerates
its seeded stream from the first trade, so the trades of one run are capped (about 6 s of
generation at most). Messages use the API's field names, because the API is where plans come from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from riskengine.simulation.config import MAX_RATE_PER_USER, MIN_USERS, SimulatorConfig

MAX_RATE_PER_S = 500.0
MAX_DURATION_S = 86_400
MAX_USERS = 100_000
MAX_SEED = 2**31 - 1
MAX_TRADES_PER_RUN = 1_000_000


@dataclass(frozen=True, slots=True)
class SimulationPlan:
    """One run: ``rate_per_s`` trades per second of event time for ``duration_s`` seconds.

    The same plan (same seed) started at the same instant produces the same trades.
    """

    rate_per_s: float
    duration_s: int
    users: int
    seed: int

    def __post_init__(self) -> None:
        if isinstance(self.rate_per_s, bool) or not isinstance(self.rate_per_s, int | float):
            raise ValueError(f"ratePerSecond must be a number, got {self.rate_per_s!r}")
        if not (math.isfinite(self.rate_per_s) and 0 < self.rate_per_s <= MAX_RATE_PER_S):
            raise ValueError(f"ratePerSecond must be > 0 and <= {MAX_RATE_PER_S:g}, got {self.rate_per_s!r}")
        _check_int("durationSeconds", self.duration_s, 1, MAX_DURATION_S)
        _check_int("users", self.users, MIN_USERS, MAX_USERS)
        _check_int("seed", self.seed, 0, MAX_SEED)
        if self.rate_per_s > self.users * MAX_RATE_PER_USER:
            needed = math.ceil(self.rate_per_s / MAX_RATE_PER_USER)
            raise ValueError(
                f"ratePerSecond {self.rate_per_s:g} needs at least {needed} users (got {self.users}): "
                f"at most {MAX_RATE_PER_USER} trades/s per user, or ordinary users would look like RAPID_BURST"
            )
        if self.expected_trades > MAX_TRADES_PER_RUN:
            raise ValueError(
                f"ratePerSecond x durationSeconds = {self.expected_trades:,} trades; a run may have at most "
                f"{MAX_TRADES_PER_RUN:,}: lower the rate or the duration"
            )

    @property
    def duration_ms(self) -> int:
        return self.duration_s * 1_000

    @property
    def expected_trades(self) -> int:
        """Normal flow of the run (injected abuse episodes add about 2 % to it)."""
        return math.ceil(self.rate_per_s * self.duration_s)

    def simulator_config(self, start_ms: int) -> SimulatorConfig:
        """The simulator of a run started at ``start_ms``: event time begins there.

        ``invalid_fraction`` is 0: what the simulation produces is what the intake API would accept.
        """
        return SimulatorConfig(
            seed=self.seed, users=self.users, start_ms=start_ms, rate_per_s=float(self.rate_per_s), invalid_fraction=0.0
        )


def _check_int(name: str, value: object, minimum: int, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not minimum <= value <= maximum:
        raise ValueError(f"{name} must be within {minimum}..{maximum:,}, got {value:,}")
