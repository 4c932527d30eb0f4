"""Domain types shared by the validator, the detectors, the scorer and the sinks."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# A record's arrival key: partition and offset as fixed-width hex, so that keys sort like
# (partition, offset). Window members start with it, which orders equal event times by arrival.
PARTITION_DIGITS = 5
OFFSET_DIGITS = 13


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_LOSS = "STOP_LOSS"
    TAKE_PROFIT = "TAKE_PROFIT"


class EventType(StrEnum):
    """What happened to an order (``OrderEvent.eventType``)."""

    NEW = "NEW"
    AMEND = "AMEND"
    CANCEL = "CANCEL"
    PARTIAL_FILL = "PARTIAL_FILL"
    FILL = "FILL"


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

    @property
    def arrival(self) -> str:
        """``arrival_key`` of the record (the trigger's parser has checked its range)."""
        return f"{self.partition:05x}{self.offset:013x}"


def arrival_key(partition: int, offset: int) -> str:
    """``(partition, offset)`` as a string that sorts like the pair (see PARTITION_DIGITS)."""
    check_arrival(partition, offset)
    return f"{partition:05x}{offset:013x}"


def check_arrival(partition: int, offset: int) -> None:
    if not (0 <= partition < 16**PARTITION_DIGITS and 0 <= offset < 16**OFFSET_DIGITS):
        raise ValueError(f"partition {partition} / offset {offset} outside what arrival keys can order")


# Appended to an order event's arrival key. Order-book windows hold trades and order events, read
# from two topics: a trade and an order event at the same partition and offset still sort apart,
# the same way in Python (by arrival key) and in Redis (by member bytes).
ORDER_ARRIVAL_SUFFIX = "o"


def describe_arrival(key: str) -> str:
    """An arrival key in words, for messages: ``partition 3, offset 1234``."""
    offset = key[PARTITION_DIGITS:].removesuffix(ORDER_ARRIVAL_SUFFIX)
    return f"partition {int(key[:PARTITION_DIGITS], 16)}, offset {int(offset, 16)}"


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
    # Where the trade's record sits in its partition (``arrival_key``): ties in event time are
    # ordered by it.
    arrival: str = ""
    # The trade's Avro body in the latest CryptoTrade schema (``AvroCodec.canonical_body``): the
    # same bytes for every copy of the trade, however it was encoded; empty when not known.
    content: bytes = field(default=b"", repr=False, compare=False)

    @property
    def event_id(self) -> str:
        """The id windows and the ledger know the trade by (an order event's is its eventId)."""
        return self.trade_id


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """A validated order event. ``record`` is the full camelCase OrderEvent (current schema).

    ``quantity`` is the order's open quantity after the event, ``filled_quantity`` its cumulative
    filled quantity and ``notional`` the USD value of the open quantity.
    """

    event_id: str
    order_id: str
    user_id: str
    customer_id: str
    symbol: str
    side: Side
    order_type: OrderType
    event_type: EventType
    price: float
    quantity: float
    filled_quantity: float
    notional: float
    timestamp: int
    exchange: str
    country: str | None
    record: dict[str, Any] = field(repr=False, compare=False)
    # As for Trade: where the event's record sits in its partition (ties in event time go by it)...
    arrival: str = ""
    # ... and its Avro body in the latest OrderEvent schema, the same for every copy; empty when not known.
    content: bytes = field(default=b"", repr=False, compare=False)


# What the engine evaluates: a trade, or an order event (order events raise alerts but are not scored).
Event = Trade | OrderEvent
