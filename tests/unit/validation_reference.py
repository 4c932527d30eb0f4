"""The validator as it was before its checks were put in line: the oracle for test_validation_equivalence."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from types import MappingProxyType
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

# Exchange clocks are synchronised to within seconds; minutes of skew would let a mis-stamped trade
# move its market's watermark (and so expire other trades' window state) far ahead of real time.
DEFAULT_MAX_FUTURE_SKEW_MS = 5_000
# Ten Julian years. Older trades are not a back-fill, they are a unit or clock error.
DEFAULT_MAX_TRADE_AGE_MS = 315_576_000_000
# Current epoch time is ~1.7e12 ms: below 1e11 it must be seconds, above 1e14 microseconds or finer.
SECONDS_LIKE_BELOW = 100_000_000_000
MICROSECONDS_LIKE_ABOVE = 100_000_000_000_000
NANOSECONDS_LIKE_ABOVE = 100_000_000_000_000_000
# Identifiers become parts of Redis keys and window members, so their size must be bounded.
# symbol, baseAsset and quoteAsset are bounded by SYMBOL_FORMAT; country by COUNTRY_FORMAT.
MAX_FIELD_LENGTHS: Mapping[str, int] = MappingProxyType(
    {
        "tradeId": 128,
        "userId": 128,
        "customerId": 128,
        "exchange": 32,
        "orderId": 128,
        "sessionId": 128,
        "walletAddress": 128,
        "counterpartyUserId": 128,
        "ipAddress": 45,  # the longest textual IPv6 address (IPv4-mapped)
    }
)
# A trillion dollars: more than any venue trades in a day. Market volume is summed in whole cents
# in Redis' 64-bit integers, which this keeps far from overflowing.
MAX_NOTIONAL_USD = 1e12
_LENGTH_LIMITS = tuple(MAX_FIELD_LENGTHS.items())
# notional is USD by contract; quantity x price is in the quote asset, so it can only be checked
# against notional when the quote asset is the dollar or a coin pegged to it.
USD_QUOTE_ASSETS = frozenset({"USD", "USDT", "USDC", "BUSD", "DAI", "TUSD", "USDP", "FDUSD", "PYUSD"})


def validate_trade(
    raw: dict[str, Any],
    *,
    now_ms: int,
    max_future_skew_ms: int = DEFAULT_MAX_FUTURE_SKEW_MS,
    notional_tolerance: float = 0.01,
    max_age_ms: int = DEFAULT_MAX_TRADE_AGE_MS,
    arrival: str = "",
    content: bytes = b"",
) -> Trade:
    """Validate ``raw`` (camelCase CryptoTrade fields) and return a normalised :class:`Trade`.

    The checks and their order are listed in the module docstring. ``arrival`` (the record's
    position, ``model.arrival_key``) and ``content`` (its canonical Avro body) are not checked, only
    carried into the Trade.
    """
    if not isinstance(raw, dict):
        raise InvalidTrade(f"expected a JSON object, got {type(raw).__name__}", reason="not_an_object")
    record = {name: raw.get(name) for name in OPTIONAL_STRINGS} | raw
    _require_strings(record)
    _check_lengths(record)
    quantity, price, notional = (_positive_number(record, name) for name in REQUIRED_NUMBERS)
    _check_product(quantity, price)
    _check_notional_size(notional)
    side = _enum_value(record, "side", SIDES)
    _enum_value(record, "orderType", ORDER_TYPES)
    _check_symbol(record)
    if record["quoteAsset"] in USD_QUOTE_ASSETS:
        _check_notional(quantity, price, notional, notional_tolerance)
    timestamp = _timestamp(record, now_ms, max_future_skew_ms, max_age_ms)
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
        arrival=arrival,
        content=content,
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


def _check_lengths(record: dict[str, Any]) -> None:
    for name, limit in _LENGTH_LIMITS:
        value = record[name]
        try:
            too_long = len(value) > limit and isinstance(value, str)
        except TypeError:  # not a string: reported as bad_field_type by _check_optionals
            continue
        if too_long:
            raise InvalidTrade(
                f"field '{name}' is {len(value)} characters long; at most {limit} are allowed",
                reason="field_too_long",
            )


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


def _check_product(quantity: float, price: float) -> None:
    # Two finite doubles can multiply to inf; inf would slip through the notional comparison.
    if not math.isfinite(quantity * price):
        raise InvalidTrade(
            f"quantity {quantity!r} x price {price!r} overflows a double; send realistic values",
            reason="product_not_finite",
        )


def _check_notional_size(notional: float) -> None:
    if notional > MAX_NOTIONAL_USD:
        raise InvalidTrade(
            f"notional {notional!r} USD is above the plausible maximum of {MAX_NOTIONAL_USD:,.0f} USD per trade",
            reason="notional_implausible",
        )


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


def _timestamp(record: dict[str, Any], now_ms: int, max_future_skew_ms: int, max_age_ms: int) -> int:
    value = record.get("timestamp")
    if value is None:
        raise InvalidTrade("missing required field 'timestamp'", reason="missing_field")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidTrade(f"timestamp must be epoch milliseconds, got {value!r}", reason="bad_field_type")
    if value > now_ms + max_future_skew_ms:
        raise InvalidTrade(
            f"timestamp {value} is {(value - now_ms) / 1000:.0f} s in the future "
            f"(allowed: {max_future_skew_ms / 1000:.0f} s){_unit_hint(value)}",
            reason="timestamp_in_future",
        )
    if value < now_ms - max_age_ms:
        raise InvalidTrade(
            f"timestamp {value} is {_duration(now_ms - value)} old "
            f"(allowed: {_duration(max_age_ms)}){_unit_hint(value)}",
            reason="timestamp_too_old",
        )
    return value


def _duration(ms: int) -> str:
    return f"{ms / 86_400_000:,.0f} days" if ms >= 86_400_000 else f"{ms / 1000:,.0f} s"


def _unit_hint(value: int) -> str:
    """Name the likely unit mistake: the usual cause of a wildly wrong timestamp."""
    if value < SECONDS_LIKE_BELOW:
        return f"; {value} looks like epoch seconds; send epoch milliseconds"
    if value > NANOSECONDS_LIKE_ABOVE:
        return f"; {value} looks like epoch nanoseconds; send epoch milliseconds"
    if value > MICROSECONDS_LIKE_ABOVE:
        return f"; {value} looks like epoch microseconds; send epoch milliseconds"
    return ""


def _check_optionals(record: dict[str, Any]) -> None:
    for name in OPTIONAL_STRINGS:
        value = record[name]
        if value is not None and not isinstance(value, str):
            raise InvalidTrade(f"field '{name}' must be a string or null", reason="bad_field_type")
    country = record["country"]
    if country is not None and not COUNTRY_FORMAT.fullmatch(country):
        raise InvalidTrade(f"country {country!r} is not an ISO 3166 alpha-2 code", reason="bad_country")
