"""Static market reference data and the validated knobs of a simulation run.

The reference data (symbols, prices, exchanges) is fixed so runs are comparable across
machines; everything a caller may vary lives in :class:`SimulatorConfig`, which is checked
up front so a bad setting fails with a clear message instead of a skewed data set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """One tradable pair: realistic start price, precision and the engine's large-order threshold."""

    base: str
    start_price: float
    annual_volatility: float
    price_decimals: int
    quantity_decimals: int
    large_order_usd: float
    flow_weight: float

    @property
    def symbol(self) -> str:
        return f"{self.base}/{QUOTE_ASSET}"


QUOTE_ASSET = "USDT"

# Thresholds mirror the engine's LARGE_ORDER defaults; injections are sized against them.
SYMBOLS: tuple[SymbolSpec, ...] = (
    SymbolSpec("BTC", 90_000.0, 0.60, 2, 6, 500_000.0, 0.35),
    SymbolSpec("ETH", 3_200.0, 0.75, 2, 5, 250_000.0, 0.30),
    SymbolSpec("SOL", 180.0, 1.00, 3, 3, 100_000.0, 0.15),
    SymbolSpec("ADA", 0.75, 1.00, 5, 1, 50_000.0, 0.10),
    SymbolSpec("DOT", 7.5, 1.00, 4, 2, 75_000.0, 0.10),
)

# Venue name and its share of the normal flow.
EXCHANGES: tuple[tuple[str, float], ...] = (
    ("BINANCE", 0.35),
    ("COINBASE", 0.25),
    ("OKX", 0.15),
    ("KRAKEN", 0.15),
    ("KUCOIN", 0.10),
)

# Client country and its share of users (ISO 3166-1 alpha-2).
COUNTRIES: tuple[tuple[str, float], ...] = (
    ("US", 0.25),
    ("GB", 0.10),
    ("DE", 0.08),
    ("SG", 0.08),
    ("JP", 0.08),
    ("KR", 0.08),
    ("FR", 0.06),
    ("BR", 0.06),
    ("AE", 0.06),
    ("CA", 0.05),
    ("AU", 0.05),
    ("NG", 0.05),
)

PATTERNS: tuple[str, ...] = (
    "LARGE_ORDER",
    "VOLUME_SPIKE",
    "WASH_TRADING",
    "SELF_TRADE",
    "FLASH_CRASH",
    "RAPID_BURST",
)

# Defaults give a 20,000-trade demo run about five finished episodes of every pattern.
DEFAULT_EPISODES_PER_10K: Mapping[str, float] = MappingProxyType(
    {
        "LARGE_ORDER": 3.0,
        "VOLUME_SPIKE": 4.0,
        "WASH_TRADING": 3.0,
        "SELF_TRADE": 3.0,
        "FLASH_CRASH": 4.0,
        "RAPID_BURST": 3.0,
    }
)

# Upper bound of trades one episode emits, used to keep injected flow a minority of the stream.
EPISODE_MAX_TRADES: Mapping[str, int] = MappingProxyType(
    {
        "LARGE_ORDER": 1,
        "VOLUME_SPIKE": 3,
        "WASH_TRADING": 3,
        "SELF_TRADE": 1,
        "FLASH_CRASH": 20,
        "RAPID_BURST": 40,
    }
)

# A normal user trades at most once per this gap, so 10 s never hold more than 17 of their trades
# (RAPID_BURST needs > 20); the rate check below keeps the average user far below that cap.
MIN_USER_GAP_MS = 600.0
MAX_RATE_PER_USER = 0.5
MIN_USERS = 50
MAX_INJECTED_SHARE = 0.5


@dataclass(frozen=True)
class SimulatorConfig:
    """Knobs of one run; equal configs (same seed) produce identical trade streams.

    ``episodes_per_10k`` may name only the patterns to change: the others keep their
    defaults, so bumping one rate does not silently switch the rest off.
    """

    seed: int = 7
    users: int = 1000
    start_ms: int = 1_763_900_000_000
    rate_per_s: float = 200.0
    episodes_per_10k: Mapping[str, float] = field(default_factory=lambda: DEFAULT_EPISODES_PER_10K, hash=False)
    invalid_fraction: float = 0.001
    # Venues FLASH_CRASH episodes may take over; a companion flow (riskengine simulate's order flow)
    # keeps the others, so no crash is ever cut in two by its trades.
    crash_exchanges: tuple[str, ...] = tuple(name for name, _ in EXCHANGES)

    def __post_init__(self) -> None:
        _check_int("seed", self.seed, minimum=None)
        _check_int("users", self.users, minimum=MIN_USERS)
        _check_int("start_ms", self.start_ms, minimum=0)
        _check_rate(self.rate_per_s, self.users)
        if not _finite(self.invalid_fraction) or not 0 <= self.invalid_fraction <= 0.5:
            raise ValueError(f"invalid_fraction must be within [0, 0.5], got {self.invalid_fraction!r}")
        _check_crash_exchanges(self.crash_exchanges)
        object.__setattr__(self, "episodes_per_10k", _merged_episode_rates(self.episodes_per_10k))


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_int(name: str, value: object, minimum: int | None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _check_rate(rate_per_s: float, users: int) -> None:
    if not _finite(rate_per_s) or rate_per_s <= 0:
        raise ValueError(f"rate_per_s must be a finite number > 0, got {rate_per_s!r}")
    if rate_per_s > users * MAX_RATE_PER_USER:
        raise ValueError(
            f"rate_per_s {rate_per_s} is too high for {users} users: at most {MAX_RATE_PER_USER} "
            f"trades/s per user on average, or normal users would trip RAPID_BURST by accident"
        )


def _check_crash_exchanges(names: object) -> None:
    known = [name for name, _ in EXCHANGES]
    if not isinstance(names, tuple) or not names or any(name not in known for name in names):
        raise ValueError(f"crash_exchanges must be a non-empty tuple of exchanges out of {known}, got {names!r}")


def _merged_episode_rates(rates: Mapping[str, float]) -> Mapping[str, float]:
    unknown = set(rates) - set(PATTERNS)
    if unknown:
        raise ValueError(f"unknown patterns in episodes_per_10k: {sorted(unknown)}; known: {list(PATTERNS)}")
    merged = dict(DEFAULT_EPISODES_PER_10K) | dict(rates)
    for pattern, rate in merged.items():
        if not _finite(rate) or rate < 0:
            raise ValueError(f"episodes_per_10k[{pattern!r}] must be a finite number >= 0, got {rate!r}")
    injected = sum(rate * EPISODE_MAX_TRADES[pattern] for pattern, rate in merged.items())
    if injected > MAX_INJECTED_SHARE * 10_000:
        raise ValueError(
            f"episodes_per_10k would inject up to {injected:.0f} of every 10,000 trades; "
            f"keep it <= {MAX_INJECTED_SHARE * 10_000:.0f} so normal flow stays the majority"
        )
    return MappingProxyType(merged)


DEFAULT_CONFIG = SimulatorConfig()
