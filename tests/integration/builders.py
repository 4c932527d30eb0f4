"""Trade builders shared by the integration tests."""

from __future__ import annotations

from typing import Any

from riskengine.codec import TRADES_SUBJECT, AvroCodec, FixedIdRegistry
from riskengine.simulator import PATTERNS, SimulatorConfig, TradingSimulator

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
