"""Domain types shared by the validator, the detectors, the scorer and the sinks."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_LOSS = "STOP_LOSS"
    TAKE_PROFIT = "TAKE_PROFIT"


class RiskLevel(StrEnum):
    """Risk levels of trades and severities of alerts (one Avro enum serves both)."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One Kafka record as the MSK trigger delivers it, already base64-decoded."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def position(self) -> str:
        return f"{self.topic}-{self.partition}@{self.offset}"


@dataclass(frozen=True, slots=True)
class Trade:
    """A validated trade. ``record`` is the full camelCase CryptoTrade (current schema)."""

    trade_id: str
    user_id: str
    customer_id: str
    symbol: str
    side: Side
    quantity: float
    price: float
    notional: float
    timestamp: int
    exchange: str
    country: str | None
    counterparty_user_id: str | None
    record: dict[str, Any] = field(repr=False, compare=False)
