"""Turn a decoded CryptoTrade dict into a :class:`Trade`, or say precisely why not.

Every rejection names a stable ``reason`` (used as a dead-letter header and a metric
dimension) and a ``detail`` that tells the producer what to fix.
"""

from __future__ import annotations

import math
import re
from typing import Any

from riskengine.errors import InvalidTrade
from riskengine.model import OrderType, Side, Trade

REQUIRED_STRINGS = ("tradeId", "userId", "customerId", "symbol", "baseAsset", "quoteAsset", "exchange")
REQUIRED_NUMBERS = ("quantity", "price", "notional")
OPTIONAL_STRINGS = ("walletAddress", "sessionId", "ipAddress", "country", "orderId", "counterpartyUserId")
SYMBOL_FORMAT = re.compile(r"[A-Z0-9]{2,12}/[A-Z0-9]{2,12}")
COUNTRY_FORMAT = re.compile(r"[A-Z]{2}")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
SIDES = frozenset(s.value for s in Side)
ORDER_TYPES = frozenset(o.value for o in OrderType)


def validate_trade(
    raw: dict[str, Any],
    *,
    now_ms: int,
    max_future_skew_ms: int = 300_000,
    notional_tolerance: float = 0.01,
) -> Trade:
    """Validate ``raw`` (camelCase CryptoTrade fields) and return a normalised :class:`Trade`."""
    if not isinstance(raw, dict):
        raise InvalidTrade(f"expected a JSON object, got {type(raw).__name__}", reason="not_an_object")
    record = {name: raw.get(name) for name in OPTIONAL_STRINGS} | raw
    _require_strings(record)
    quantity, price, notional = (_positive_number(record, name) for name in REQUIRED_NUMBERS)
    _check_notional(quantity, price, notional, notional_tolerance)
    side = _enum_value(record, "side", SIDES)
    _enum_value(record, "orderType", ORDER_TYPES)
    _check_symbol(record)
    timestamp = _timestamp(record, now_ms, max_future_skew_ms)
    _check_optionals(record)
    return Trade(
        trade_id=record["tradeId"],
        user_id=record["userId"],
        customer_id=record["customerId"],
        symbol=record["symbol"],
        side=Side(side),
        quantity=quantity,
        price=price,
        notional=notional,
        timestamp=timestamp,
        exchange=record["exchange"],
        country=record["country"],
        counterparty_user_id=record["counterpartyUserId"],
        record=record,
    )


def _require_strings(record: dict[str, Any]) -> None:
    for name in REQUIRED_STRINGS:
        value = record.get(name)
        if value is None:
            raise InvalidTrade(f"missing required field '{name}'", reason="missing_field")
        if not isinstance(value, str) or not value.strip():
            raise InvalidTrade(f"field '{name}' must be a non-empty string", reason="bad_field_type")
        if CONTROL_CHARACTERS.search(value):
            # Ids travel inside window members, where control characters are separators.
            raise InvalidTrade(f"field '{name}' contains control characters", reason="control_characters")


def _positive_number(record: dict[str, Any], name: str) -> float:
    value = record.get(name)
    if value is None:
        raise InvalidTrade(f"missing required field '{name}'", reason="missing_field")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidTrade(f"field '{name}' must be a finite number, got {value!r}", reason="bad_field_type")
    try:
        number = float(value)
    except OverflowError:  # a JSON integer beyond a double's range
        raise InvalidTrade(f"field '{name}' is too large for a double", reason="bad_field_type") from None
    if not math.isfinite(number):
        raise InvalidTrade(f"field '{name}' must be a finite number, got {value!r}", reason="bad_field_type")
    if number <= 0:
        raise InvalidTrade(f"field '{name}' must be > 0, got {value!r}", reason=f"{name}_not_positive")
    return number


def _check_notional(quantity: float, price: float, notional: float, tolerance: float) -> None:
    expected = quantity * price
    if abs(notional - expected) > tolerance * expected:
        raise InvalidTrade(
            f"notional {notional!r} differs from quantity x price = {expected:.2f} by more than {tolerance:.0%}",
            reason="notional_mismatch",
        )


def _enum_value(record: dict[str, Any], name: str, allowed: frozenset[str]) -> str:
    value = record.get(name)
    if value is None:
        raise InvalidTrade(f"missing required field '{name}'", reason="missing_field")
    if value not in allowed:
        raise InvalidTrade(
            f"field '{name}' is {value!r}; expected one of {', '.join(sorted(allowed))}",
            reason=f"unknown_{_snake(name)}",
        )
    return str(value)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _check_symbol(record: dict[str, Any]) -> None:
    symbol = record["symbol"]
    if not SYMBOL_FORMAT.fullmatch(symbol):
        raise InvalidTrade(f"symbol {symbol!r} is not BASE/QUOTE (e.g. BTC/USDT)", reason="bad_symbol")
    base, quote = symbol.split("/")
    if (base, quote) != (record["baseAsset"], record["quoteAsset"]):
        raise InvalidTrade(
            f"symbol {symbol!r} disagrees with baseAsset/quoteAsset {record['baseAsset']!r}/{record['quoteAsset']!r}",
            reason="bad_symbol",
        )


def _timestamp(record: dict[str, Any], now_ms: int, max_future_skew_ms: int) -> int:
    value = record.get("timestamp")
    if value is None:
        raise InvalidTrade("missing required field 'timestamp'", reason="missing_field")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidTrade(f"timestamp must be epoch milliseconds, got {value!r}", reason="bad_field_type")
    if value > now_ms + max_future_skew_ms:
        raise InvalidTrade(
            f"timestamp {value} is {(value - now_ms) / 1000:.0f} s in the future "
            f"(allowed: {max_future_skew_ms / 1000:.0f} s)",
            reason="timestamp_in_future",
        )
    return value


def _check_optionals(record: dict[str, Any]) -> None:
    for name in OPTIONAL_STRINGS:
        value = record[name]
        if value is not None and not isinstance(value, str):
            raise InvalidTrade(f"field '{name}' must be a string or null", reason="bad_field_type")
    country = record["country"]
    if country is not None and not COUNTRY_FORMAT.fullmatch(country):
        raise InvalidTrade(f"country {country!r} is not an ISO 3166 alpha-2 code", reason="bad_country")
