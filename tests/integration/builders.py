"""Trade and order-event builders (and the real engine to score trades) shared by the integration tests."""

from __future__ import annotations

from typing import Any

from riskengine.codec import TRADES_SUBJECT, AvroCodec, FixedIdRegistry
from riskengine.model import SourceRecord
from riskengine.pipeline import BatchProcessor
from riskengine.runtime import build_engine, redis_client
from riskengine.settings import Settings
from riskengine.simulation import PATTERNS, SimulatorConfig, TradingSimulator
from riskengine.sinks import MemorySink

BASE_TS = 1_763_900_000_000  # event time 0 of every scenario
NOW = BASE_TS + 3_600_000  # the processor's clock: every scenario's trades are in the past
SUBJECT = TRADES_SUBJECT
CODEC = AvroCodec(FixedIdRegistry())


def trade(
    trade_id: str,
    *,
    user: str = "U1",
    symbol: str = "BTC/USDT",
    side: str = "BUY",
    quantity: float = 1.0,
    price: float = 100.0,
    at: int = 0,
    exchange: str = "BINANCE",
    **extra: Any,
) -> dict[str, Any]:
    """A valid CryptoTrade ``at`` ms after BASE_TS."""
    base, quote = symbol.split("/")
    return {
        "tradeId": trade_id,
        "userId": user,
        "customerId": f"C-{user}",
        "symbol": symbol,
        "baseAsset": base,
        "quoteAsset": quote,
        "side": side,
        "orderType": "LIMIT",
        "quantity": quantity,
        "price": price,
        "notional": quantity * price,
        "timestamp": BASE_TS + at,
        "exchange": exchange,
        **extra,
    }


def order(
    event_id: str,
    event_type: str,
    *,
    order_id: str = "ord-1",
    user: str = "U1",
    symbol: str = "BTC/USDT",
    side: str = "BUY",
    quantity: float = 1.0,
    price: float = 100.0,
    filled: float = 0.0,
    at: int = 0,
    exchange: str = "BINANCE",
    **extra: Any,
) -> dict[str, Any]:
    """A valid OrderEvent ``at`` ms after BASE_TS: ``quantity`` is the order's open quantity after the event
    (0 after a FILL), ``filled`` its cumulative filled quantity; ``notional`` is the open quantity's USD value."""
    base, quote = symbol.split("/")
    return {
        "eventId": event_id,
        "orderId": order_id,
        "userId": user,
        "customerId": f"C-{user}",
        "symbol": symbol,
        "baseAsset": base,
        "quoteAsset": quote,
        "side": side,
        "orderType": "LIMIT",
        "eventType": event_type,
        "price": price,
        "quantity": quantity,
        "filledQuantity": filled,
        "notional": quantity * price,
        "timestamp": BASE_TS + at,
        "exchange": exchange,
        **extra,
    }


def normal_flow(seed: int, start_ms: int, count: int) -> list[dict[str, Any]]:
    """Simulated flow only (no injected episodes, no invalid trades): it raises no alert of its own."""
    config = SimulatorConfig(
        seed=seed,
        users=100,
        start_ms=start_ms,
        rate_per_s=20.0,
        episodes_per_10k=dict.fromkeys(PATTERNS, 0.0),
        invalid_fraction=0.0,
    )
    return list(TradingSimulator(config).trades(count))


def wash_trades(user: str = "U-WT", start: int = 0) -> list[dict[str, Any]]:
    """Buy, sell, buy of the same size within a minute: one WASH_TRADING episode."""
    return [
        trade(f"{user}-0", user=user, symbol="SOL/USDT", side="BUY", quantity=10.0, price=150.0, at=start),
        trade(f"{user}-1", user=user, symbol="SOL/USDT", side="SELL", quantity=10.5, price=150.0, at=start + 10_000),
        trade(f"{user}-2", user=user, symbol="SOL/USDT", side="BUY", quantity=10.0, price=150.0, at=start + 20_000),
    ]


def score(redis_url: str, trades: list[dict[str, Any]]) -> MemorySink:
    """Score ``trades`` in one batch with the real engine on ``redis_url``; the sink holds the results."""
    sink = MemorySink()
    settings = Settings(redis_url=redis_url)
    engine = build_engine(redis_client(settings), settings)
    processor = BatchProcessor(engine=engine, codec=CODEC, sink=sink, clock_ms=lambda: NOW)
    records = [
        SourceRecord("crypto-trades", 0, i, t["timestamp"], t["userId"].encode(), CODEC.encode(SUBJECT, t))
        for i, t in enumerate(trades)
    ]
    outcome = processor.process(records)
    assert outcome.failure is None and not outcome.dead_letters, outcome
    return sink


def sell_run(
    prefix: str, *, symbol: str, exchange: str, at: int, count: int, every_ms: int, price_step: float
) -> list[dict[str, Any]]:
    """``count`` SELLs on one market from as many users, ``every_ms`` apart from ``at``, each cheaper: a crash."""
    return [
        trade(
            f"{prefix}{i:02d}",
            user=f"U-{prefix}{i}",
            symbol=symbol,
            exchange=exchange,
            side="SELL",
            quantity=1_000.0,
            price=0.5 - i * price_step,
            at=at + i * every_ms,
        )
        for i in range(count)
    ]
