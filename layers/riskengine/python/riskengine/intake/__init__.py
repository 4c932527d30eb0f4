"""The trade intake behind ``functions/ingest_trade``: its API models, the checks of ``POST /trades``
and the producer that writes trades to the trades topic (the simulation's ticks write with it too).

See docs/api.md.
"""

from riskengine.intake.models import (
    MAX_TRADES_PER_REQUEST,
    AcceptedTrades,
    CryptoTradeIn,
    ErrorMessage,
    RejectedTrades,
    SimulationStartIn,
    SimulationStats,
    TradeProblem,
    TradesBody,
)
from riskengine.intake.producer import TradeProducer, default_trade_producer
from riskengine.intake.requests import TRADE_FIELDS, TradesRejected, checked_trades

__all__ = [
    "MAX_TRADES_PER_REQUEST",
    "TRADE_FIELDS",
    "AcceptedTrades",
    "CryptoTradeIn",
    "ErrorMessage",
    "RejectedTrades",
    "SimulationStartIn",
    "SimulationStats",
    "TradeProblem",
    "TradeProducer",
    "TradesBody",
    "TradesRejected",
    "checked_trades",
    "default_trade_producer",
]
