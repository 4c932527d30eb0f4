"""Window definitions: which events a scope keeps, for how long, and the Redis keys they live in.

A window is a Redis sorted set of events (trades, and in order-book scopes order events) scored
by event time. Its definition is
validated here and its key is derived from the scope and ``KEY_VERSION`` (bump it when the
member encoding changes, so old and new layouts never mix). Every key of one user shares the
hash tag ``{u:USER}`` and every key of one market shares ``{se:SYMBOL@EXCHANGE}``, so the
same Lua script runs unchanged on ElastiCache in cluster mode, one call per hash slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from riskengine.errors import ConfigurationError
from riskengine.model import OrderEvent, Trade

KEY_VERSION = 2
KEY_PREFIX = f"rk:v{KEY_VERSION}"


class Scope(StrEnum):
    """What a window is partitioned by."""

    USER = "user"
    USER_SYMBOL = "user_symbol"
    SYMBOL_EXCHANGE = "symbol_exchange"
    ORDER_BOOK = "order_book"  # a user's order events and trades in one market (symbol on exchange)
    USER_ORDERS = "user_orders"  # a user's order events in every market

    def key(self, event: Trade | OrderEvent) -> str:
        if self is Scope.USER:
            return f"{KEY_PREFIX}:{{u:{event.user_id}}}"
        if self is Scope.USER_SYMBOL:
            return f"{KEY_PREFIX}:{{u:{event.user_id}}}:s:{event.symbol}"
        if self is Scope.ORDER_BOOK:
            return f"{KEY_PREFIX}:{{u:{event.user_id}}}:ob:{event.symbol}@{event.exchange}"
        if self is Scope.USER_ORDERS:
            return f"{KEY_PREFIX}:{{u:{event.user_id}}}:o"
        return f"{KEY_PREFIX}:{{se:{event.symbol}@{event.exchange}}}"

    @property
    def kinds(self) -> tuple[type[Trade | OrderEvent], ...]:
        """The kinds of event this scope's windows hold (for ``isinstance``)."""
        if self is Scope.ORDER_BOOK:
            return (Trade, OrderEvent)
        return (OrderEvent,) if self is Scope.USER_ORDERS else (Trade,)

    @property
    def gate(self) -> type[OrderEvent] | None:
        """The kind of event without which this scope's rules cannot match, if any: a window that has
        never held one is written but not read back (a trade's order-book window before its user
        places an order there: only spoofing and layering read it, and they need orders)."""
        return OrderEvent if self is Scope.ORDER_BOOK else None


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """How one scope's windows are kept.

    ``history`` events before the lateness boundary are always kept (the longest pattern
    needs them to evaluate a late arrival), but none older than ``horizon_ms`` before it.
    Events older than ``watermark - lateness_ms`` are late: scored, but not placed in the
    window. ``volume_bucket_ms`` > 0 also keeps per-bucket notional sums (market volume).
    ``closed_horizon_ms`` > 0: while a gated window's gate is closed (``Scope.gate``), events older
    than this before the lateness boundary are also dropped, whatever ``history`` keeps (no rule reads them),
    and the window's TTL is ``closed_horizon_ms + lateness_ms + 60_000``.
    """

    scope: Scope
    history: int
    horizon_ms: int
    lateness_ms: int = 5_000
    volume_bucket_ms: int = 0
    closed_horizon_ms: int = 0

    def __post_init__(self) -> None:
        if self.history < 1:
            raise ConfigurationError(f"{self.scope} window: history must be >= 1, got {self.history}")
        if self.horizon_ms <= 0 or self.lateness_ms < 0 or self.volume_bucket_ms < 0 or self.closed_horizon_ms < 0:
            raise ConfigurationError(
                f"{self.scope} window: horizon must be > 0 and lateness/bucket >= 0 "
                f"(got {self.horizon_ms}, {self.lateness_ms}, {self.volume_bucket_ms})"
            )

    @property
    def ttl_ms(self) -> int:
        """Idle keys expire once nothing in them could matter any more."""
        return self.horizon_ms + self.lateness_ms + 60_000

    def merged(self, other: WindowSpec) -> WindowSpec:
        """The spec that satisfies both: every consumer of a scope shares one window."""
        return WindowSpec(
            scope=self.scope,
            history=max(self.history, other.history),
            horizon_ms=max(self.horizon_ms, other.horizon_ms),
            lateness_ms=max(self.lateness_ms, other.lateness_ms),
            volume_bucket_ms=self.volume_bucket_ms or other.volume_bucket_ms,
            # 0 keeps everything history and horizon keep, so it wins over any limit.
            closed_horizon_ms=max(self.closed_horizon_ms, other.closed_horizon_ms)
            if self.closed_horizon_ms and other.closed_horizon_ms
            else 0,
        )
