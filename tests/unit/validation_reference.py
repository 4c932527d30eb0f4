"""The validator as it was before its checks were put in line: the oracle for test_validation_equivalence.

Only what that change replaced is kept here (the sequence of checks in ``validate_trade`` and the
checks it removed); the full checks it still calls are the production module's own.
"""

from __future__ import annotations

import math
import re
from typing import Any

from riskengine.errors import InvalidTrade
from riskengine.model import Side, Trade
from riskengine.validation import (
    DEFAULT_MAX_FUTURE_SKEW_MS,
    DEFAULT_MAX_TRADE_AGE_MS,
    MAX_NOTIONAL_USD,
    OPTIONAL_STRINGS,
    ORDER_TYPES,
    REQUIRED_NUMBERS,
    SIDES,
    USD_QUOTE_ASSETS,
    _check_lengths,
    _check_symbol,
    _enum_value,
    _positive_number,
    _require_strings,
    _timestamp,
)

COUNTRY_FORMAT = re.compile(r"[A-Z]{2}")


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


def _check_optionals(record: dict[str, Any]) -> None:
    for name in OPTIONAL_STRINGS:
        value = record[name]
        if value is not None and not isinstance(value, str):
            raise InvalidTrade(f"field '{name}' must be a string or null", reason="bad_field_type")
    country = record["country"]
    if country is not None and not COUNTRY_FORMAT.fullmatch(country):
        raise InvalidTrade(f"country {country!r} is not an ISO 3166 alpha-2 code", reason="bad_country")
