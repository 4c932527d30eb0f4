"""The checks of ``POST /trades``: the scorer's own rules on every trade, all or nothing.

The request body may be any JSON value (see :class:`riskengine.intake.models.TradesBody`), so each
item is judged here and every unacceptable one is reported by index. Behaviour: docs/api.md.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from riskengine.errors import InvalidTrade
from riskengine.intake.models import MAX_TRADES_PER_REQUEST, TradeProblem
from riskengine.validation import (
    DEFAULT_MAX_TRADE_AGE_MS,
    OPTIONAL_STRINGS,
    REQUIRED_NUMBERS,
    REQUIRED_STRINGS,
    USD_QUOTE_ASSETS,
    validate_trade,
)

__all__ = ["TRADE_FIELDS", "TradesRejected", "checked_trades"]

TRADE_FIELDS = frozenset((*REQUIRED_STRINGS, *REQUIRED_NUMBERS, *OPTIONAL_STRINGS, "side", "orderType", "timestamp"))


class TradesRejected(Exception):
    """Nothing may be written: ``problems`` names every trade (or the request) to fix."""

    def __init__(self, message: str, problems: list[TradeProblem]) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems


def checked_trades(
    items: list[Any], now_ms: int, max_future_skew_ms: int, max_age_ms: int = DEFAULT_MAX_TRADE_AGE_MS
) -> list[dict[str, Any]]:
    """The records to write, or TradesRejected naming every trade that is not acceptable.

    Pass the scorer's own limits, so the API never accepts a trade the scorer would dead-letter.
    """
    if not items:
        raise TradesRejected("the request holds no trades", [_request_problem("empty_request", "send at least one")])
    if len(items) > MAX_TRADES_PER_REQUEST:
        detail = f"{len(items)} trades in one request; at most {MAX_TRADES_PER_REQUEST}: split it into several requests"
        raise TradesRejected("too many trades", [_request_problem("too_many_trades", detail)])
    records: list[dict[str, Any]] = []
    problems: list[TradeProblem] = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(items):
        try:
            record = _checked_trade(item, now_ms, max_future_skew_ms, max_age_ms)
        except InvalidTrade as exc:
            problems.append(TradeProblem(index=index, trade_id=_sent_id(item), reason=exc.reason, detail=exc.detail))
            continue
        trade_id = record["tradeId"]
        if trade_id in first_index:
            detail = f"tradeId {trade_id!r} is also trade {first_index[trade_id]} of this request"
            problems.append(TradeProblem(index=index, trade_id=trade_id, reason="duplicate_trade_id", detail=detail))
            continue
        first_index[trade_id] = index
        records.append(record)
    if problems:
        message = f"{len(problems)} of {len(items)} trades are invalid; nothing was written. Fix them and resend all."
        raise TradesRejected(message, problems)
    return records


def _checked_trade(item: Any, now_ms: int, max_future_skew_ms: int, max_age_ms: int) -> dict[str, Any]:
    """The complete CryptoTrade record of one item, or InvalidTrade with the scorer's reason."""
    record = _with_defaults(item, now_ms) if isinstance(item, dict) else item
    trade = validate_trade(record, now_ms=now_ms, max_future_skew_ms=max_future_skew_ms, max_age_ms=max_age_ms)
    unknown = sorted(set(record) - TRADE_FIELDS)
    if unknown:
        # The Avro schema would drop them silently; a misspelt optional field must not vanish.
        detail = f"unknown field(s) {', '.join(map(repr, unknown))}; the CryptoTrade fields are in the OpenAPI document"
        raise InvalidTrade(detail, reason="unknown_field")
    return trade.record


def _with_defaults(raw: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """Fill what the server can derive (docs/api.md, "Server-side defaults"); values sent are kept as sent."""
    record = dict(raw)
    if record.get("tradeId") is None:
        record["tradeId"] = f"api-{uuid.uuid4()}"
    if record.get("timestamp") is None:
        record["timestamp"] = now_ms
    symbol = record.get("symbol")
    assets_absent = record.get("baseAsset") is None and record.get("quoteAsset") is None
    if isinstance(symbol, str) and symbol.count("/") == 1 and assets_absent:
        record["baseAsset"], record["quoteAsset"] = symbol.split("/")
    quantity, price = record.get("quantity"), record.get("price")
    usd_quoted = record.get("quoteAsset") in USD_QUOTE_ASSETS  # otherwise quantity x price is not in USD
    if record.get("notional") is None and usd_quoted and _is_number(quantity) and _is_number(price):
        # A number beyond a double's range leaves notional absent; the validator then names that number.
        with contextlib.suppress(OverflowError):
            record["notional"] = round(float(quantity) * float(price), 8)
    return record


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _sent_id(item: Any) -> str | None:
    trade_id = item.get("tradeId") if isinstance(item, dict) else None
    return trade_id if isinstance(trade_id, str) else None


def _request_problem(reason: str, detail: str) -> TradeProblem:
    return TradeProblem(index=None, trade_id=None, reason=reason, detail=detail)
