"""The lines of the mixed stream: order events and the trades of their fills, as the schemas name them.

An order event has the OrderEvent fields (schemas/order_event), a fill's trade the CryptoTrade
fields (schemas/crypto_trade/v2.avsc) with the same trader, symbol, exchange, side, quantity, price
and time as its fill, and the order's id. ``kind`` comes first on every line (docs/simulation.md).
"""

from __future__ import annotations

from typing import Any

from riskengine.simulation import UserBook
from riskengine.simulation.config import EXCHANGES, QUOTE_ASSET, SYMBOLS
from riskengine_tools.simulate.orders import PlannedEvent, quantity_of, usd

Record = dict[str, Any]


class RecordBuilder:
    """Builds the records of one run; ids are numbered in stream order (``EV-<seed>-<n>`` for order
    events, ``FT-<seed>-<n>`` for fill trades; orders are ``ORD-<seed>-<n>``)."""

    def __init__(self, seed: int, book: UserBook) -> None:
        self._book = book
        self._event_prefix = f"EV-{seed}-"
        self._trade_prefix = f"FT-{seed}-"
        self.order_prefix = f"ORD-{seed}-"
        self._events = 0
        self._trades = 0

    def order_event(self, event: PlannedEvent, at_ms: int) -> Record:
        order, book, user = event.order, self._book, event.order.user
        spec = SYMBOLS[order.symbol]
        self._events += 1
        return {
            "kind": "order",
            "eventId": f"{self._event_prefix}{self._events}",
            "orderId": order.order_id,
            "userId": book.ids[user],
            "customerId": book.customers[user],
            "symbol": spec.symbol,
            "baseAsset": spec.base,
            "quoteAsset": QUOTE_ASSET,
            "side": order.side,
            "orderType": order.order_type,
            "eventType": event.event_type,
            "price": event.price,
            "quantity": quantity_of(order.symbol, event.open_lots),
            "filledQuantity": quantity_of(order.symbol, event.filled_lots),
            "notional": usd(order.symbol, event.open_lots, event.price),
            "timestamp": at_ms,
            "exchange": EXCHANGES[order.exchange][0],
            "walletAddress": book.wallets[user],
            "ipAddress": book.ips[user],
            "country": book.countries[user],
            "sessionId": book.sessions[user],
        }

    def fill_trade(self, event: PlannedEvent, at_ms: int) -> Record:
        order, book, user = event.order, self._book, event.order.user
        spec = SYMBOLS[order.symbol]
        self._trades += 1
        return {
            "kind": "trade",
            "tradeId": f"{self._trade_prefix}{self._trades}",
            "userId": book.ids[user],
            "customerId": book.customers[user],
            "symbol": spec.symbol,
            "baseAsset": spec.base,
            "quoteAsset": QUOTE_ASSET,
            "side": order.side,
            "orderType": order.order_type,
            "quantity": quantity_of(order.symbol, event.fill_lots),
            "price": event.price,
            "notional": usd(order.symbol, event.fill_lots, event.price),
            "timestamp": at_ms,
            "exchange": EXCHANGES[order.exchange][0],
            "walletAddress": book.wallets[user],
            "sessionId": book.sessions[user],
            "ipAddress": book.ips[user],
            "country": book.countries[user],
            "orderId": order.order_id,
            "counterpartyUserId": None,
        }


def event_time(record: Record) -> int:
    """A line's event time, or 0 for an invalid trade that lost its timestamp."""
    at = record.get("timestamp")
    return at if isinstance(at, int) else 0
