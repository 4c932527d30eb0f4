"""Turn a decoded CryptoTrade dict into a :class:`Trade`, or an OrderEvent dict into an
:class:`OrderEvent`, or say precisely why not.

Every rejection names a stable ``reason`` (used as a dead-letter header and a metric
dimension) and a ``detail`` that tells the producer what to fix. Only the first problem found
is reported, always in this order (so a producer fixing one problem at a time converges):

1. the record is an object (``not_an_object``);
2. required strings: present, non-empty, free of control characters (``missing_field``,
   ``bad_field_type``, ``control_characters``);
3. identifier lengths within :data:`MAX_FIELD_LENGTHS` (``field_too_long``);
4. ``quantity``, ``price``, ``notional``: finite numbers > 0 (``missing_field``, ``bad_field_type``,
   ``<name>_not_positive``), ``quantity x price`` finite (``product_not_finite``), ``notional`` at
   most :data:`MAX_NOTIONAL_USD` (``notional_implausible``);
5. ``side`` and ``orderType`` known (``unknown_side``, ``unknown_order_type``);
6. ``symbol`` is BASE/QUOTE and agrees with ``baseAsset``/``quoteAsset`` (``bad_symbol``);
7. ``notional`` within the tolerance of ``quantity x price``, for USD-quoted pairs only
   (``notional_mismatch``);
8. ``timestamp``: epoch milliseconds, not too far ahead of the clock, not implausibly old
   (``bad_field_type``, ``timestamp_in_future``, ``timestamp_too_old``);
9. optional fields: strings or null, ``country`` an ISO code (``bad_field_type``, ``bad_country``).

:func:`validate_order` checks an OrderEvent with the same helpers (and so the same reasons and
details) and raises :class:`InvalidOrder`, in this order:

1. the record is an object (``not_an_object``);
2. required strings as in step 2 (``missing_field``, ``bad_field_type``, ``control_characters``), with
   ``eventId`` and ``orderId`` in place of ``tradeId``, then their lengths
   (:data:`MAX_ORDER_FIELD_LENGTHS`, ``field_too_long``);
3. ``price`` a finite number > 0 (``price_not_positive``); ``quantity`` (open quantity after the
   event), ``filledQuantity`` (cumulative) and ``notional`` finite numbers >= 0
   (``quantity_negative``, ``filled_quantity_negative``, ``notional_negative``); ``quantity x price``
   finite (``product_not_finite``) and ``notional`` at most :data:`MAX_NOTIONAL_USD`
   (``notional_implausible``);
4. ``side``, ``orderType`` and ``eventType``: strings (``bad_field_type``) and known (``unknown_side``,
   ``unknown_order_type``, ``unknown_event_type``);
5. the quantities fit the event (:data:`QUANTITY_RULES`): open quantity > 0 after NEW, AMEND and
   PARTIAL_FILL (``quantity_not_positive``), 0 after FILL (``quantity_not_zero``); nothing filled on
   NEW (``filled_quantity_not_zero``), something filled on PARTIAL_FILL and FILL
   (``filled_quantity_not_positive``); CANCEL takes any open quantity (venues differ on whether they
   report the cancelled size);
6. ``symbol`` as in step 6 (``bad_symbol``);
7. ``notional`` against ``quantity x price`` for USD-quoted pairs, 0 when nothing is open
   (``notional_mismatch``);
8. ``timestamp`` as in step 8, and within a 64-bit long (``bad_field_type``, ``timestamp_in_future``,
   ``timestamp_too_old``);
9. optional fields as in step 9 (``bad_field_type``, ``bad_country``).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from string import ascii_uppercase
from types import MappingProxyType
from typing import Any

from riskengine.errors import InvalidOrder, InvalidRecord, InvalidTrade
from riskengine.model import EventType, OrderEvent, OrderType, Side, Trade

REQUIRED_STRINGS = ("tradeId", "userId", "customerId", "symbol", "baseAsset", "quoteAsset", "exchange")
REQUIRED_NUMBERS = ("quantity", "price", "notional")
OPTIONAL_STRINGS = ("walletAddress", "sessionId", "ipAddress", "country", "orderId", "counterpartyUserId")
ORDER_REQUIRED_STRINGS = ("eventId", "orderId", "userId", "customerId", "symbol", "baseAsset", "quoteAsset", "exchange")
ORDER_REQUIRED_NUMBERS = ("price", "quantity", "filledQuantity", "notional")
ORDER_OPTIONAL_STRINGS = ("walletAddress", "ipAddress", "country", "sessionId")
SYMBOL_FORMAT = re.compile(r"[A-Z0-9]{2,12}/[A-Z0-9]{2,12}")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
SIDES = frozenset(s.value for s in Side)
ORDER_TYPES = frozenset(o.value for o in OrderType)
EVENT_TYPES = frozenset(e.value for e in EventType)
_SIDES = {s.value: s for s in Side}
# Every ISO 3166 alpha-2 shaped code: a set lookup instead of a pattern match.
_COUNTRY_CODES = frozenset(a + b for a in ascii_uppercase for b in ascii_uppercase)

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
# An order event's identifiers: the trade's limits for the fields both have, eventId as tradeId.
MAX_ORDER_FIELD_LENGTHS: Mapping[str, int] = MappingProxyType(
    {"eventId": MAX_FIELD_LENGTHS["tradeId"]}
    | {
        name: MAX_FIELD_LENGTHS[name]
        for name in ("orderId", "userId", "customerId", "exchange", "sessionId", "walletAddress", "ipAddress")
    }
)
# A trillion dollars: more than any venue trades in a day. Market volume is summed in whole cents
# in Redis' 64-bit integers, which this keeps far from overflowing.
MAX_NOTIONAL_USD = 1e12
# notional is USD by contract; quantity x price is in the quote asset, so it can only be checked
# against notional when the quote asset is the dollar or a coin pegged to it.
USD_QUOTE_ASSETS = frozenset({"USD", "USDT", "USDC", "BUSD", "DAI", "TUSD", "USDP", "FDUSD", "PYUSD"})
# What an order event's quantity (open after the event) and filledQuantity (cumulative) must be, by
# eventType: "> 0", "0" or None (any value >= 0). A CANCEL may report the cancelled size or 0:
# venues differ.
QUANTITY_RULES: Mapping[EventType, tuple[str | None, str | None]] = MappingProxyType(
    {
        EventType.NEW: ("> 0", "0"),
        EventType.AMEND: ("> 0", None),
        EventType.CANCEL: (None, None),
        EventType.PARTIAL_FILL: ("> 0", "> 0"),
        EventType.FILL: ("0", "> 0"),
    }
)
# The range of an Avro long (the schema's type of timestamp).
_LONG_MAX = 2**63 - 1
_QUANTITY_MEANINGS = {
    "quantity": "the order's open quantity",
    "filledQuantity": "the order's cumulative filled quantity",
}


@dataclass(frozen=True, slots=True)
class _Contract:
    """What the shared checks need to know about one kind of record: its fields and how to reject it.

    The full checks the trade validator's test oracle calls (tests/unit/validation_reference.py) take the
    trades' by default, so it calls them as it did before orders shared them.
    """

    noun: str  # what one record is called in messages
    error: type[InvalidRecord]
    required_strings: tuple[str, ...]
    optional_strings: tuple[str, ...]
    max_lengths: Mapping[str, int]


def _limits(names: tuple[str, ...], max_lengths: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """Length limits of _plain_strings (the fields without a limit of their own get one no string reaches)."""
    return tuple((name, max_lengths.get(name, sys.maxsize)) for name in names)


_TRADES = _Contract("trade", InvalidTrade, REQUIRED_STRINGS, OPTIONAL_STRINGS, MAX_FIELD_LENGTHS)
_ORDERS = _Contract("order", InvalidOrder, ORDER_REQUIRED_STRINGS, ORDER_OPTIONAL_STRINGS, MAX_ORDER_FIELD_LENGTHS)
_REQUIRED_LIMITS = _limits(REQUIRED_STRINGS, MAX_FIELD_LENGTHS)
_OPTIONAL_LIMITS = _limits(OPTIONAL_STRINGS, MAX_FIELD_LENGTHS)
_ORDER_REQUIRED_LIMITS = _limits(ORDER_REQUIRED_STRINGS, MAX_ORDER_FIELD_LENGTHS)
_ORDER_OPTIONAL_LIMITS = _limits(ORDER_OPTIONAL_STRINGS, MAX_ORDER_FIELD_LENGTHS)


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

    Every trade goes through here, so the checks are in line, and a check whose full version is
    costly first tries a cheap test that only good values pass; a value that fails it goes to the
    full version, which decides and says why.
    """
    if not isinstance(raw, dict):
        raise _not_an_object(raw, _TRADES)
    # The optional fields come first in the record (and so in its JSON), whether present or not.
    record = dict.fromkeys(OPTIONAL_STRINGS)
    record.update(raw)
    get = record.get
    plain = _plain_strings(record, _REQUIRED_LIMITS, _OPTIONAL_LIMITS)
    if not plain:
        _require_strings(record, _TRADES)
        _check_lengths(record, _TRADES)
    quantity, price, notional = get("quantity"), get("price"), get("notional")
    # NaN fails the comparisons, so a float that passes them is finite and > 0.
    if quantity.__class__ is not float or not 0.0 < quantity < math.inf:
        quantity = _positive_number(record, "quantity", _TRADES)
    if price.__class__ is not float or not 0.0 < price < math.inf:
        price = _positive_number(record, "price", _TRADES)
    if notional.__class__ is not float or not 0.0 < notional < math.inf:
        notional = _positive_number(record, "notional", _TRADES)
    expected = quantity * price
    if expected == math.inf:  # two finite doubles can overflow; inf would slip through the notional check
        raise _product_overflow(quantity, price, _TRADES)
    if notional > MAX_NOTIONAL_USD:
        raise _implausible_notional(notional, _TRADES)
    side = get("side")
    side = _SIDES.get(side) if side.__class__ is str else None
    if side is None:
        side = Side(_enum_value(record, "side", SIDES, _TRADES))
    order_type = get("orderType")
    if order_type.__class__ is not str or order_type not in ORDER_TYPES:
        _enum_value(record, "orderType", ORDER_TYPES, _TRADES)
    _check_symbol(record, _TRADES)
    if record["quoteAsset"] in USD_QUOTE_ASSETS and abs(notional - expected) > notional_tolerance * expected:
        raise _notional_mismatch(notional, expected, notional_tolerance, _TRADES)
    timestamp = get("timestamp")
    if timestamp.__class__ is not int or not 0 < now_ms - max_age_ms <= timestamp <= now_ms + max_future_skew_ms:
        timestamp = _timestamp(record, now_ms, max_future_skew_ms, max_age_ms, _TRADES)
    if not plain:
        _check_optional_types(record, _TRADES)
    country = record["country"]
    if country is not None and country not in _COUNTRY_CODES:
        raise _bad_country(country, _TRADES)
    # Positional arguments, in the order of Trade's fields: a third cheaper than keywords.
    return Trade(
        record["tradeId"],
        record["userId"],
        record["customerId"],
        record["symbol"],
        side,
        quantity,
        price,
        notional,
        timestamp,
        record["exchange"],
        country,
        record["counterpartyUserId"],
        record,
        arrival,
        content,
    )


def validate_order(
    raw: dict[str, Any],
    *,
    now_ms: int,
    max_future_skew_ms: int = DEFAULT_MAX_FUTURE_SKEW_MS,
    notional_tolerance: float = 0.01,
    max_age_ms: int = DEFAULT_MAX_TRADE_AGE_MS,
    arrival: str = "",
    content: bytes = b"",
) -> OrderEvent:
    """Validate ``raw`` (camelCase OrderEvent fields) and return a normalised :class:`OrderEvent`.

    The checks and their order are listed in the module docstring; they are the trade's where the
    two contracts agree, so a producer of both sees the same reasons. ``arrival`` and ``content``
    are carried as by :func:`validate_trade`. Raises :class:`InvalidOrder`.
    """
    if not isinstance(raw, dict):
        raise _not_an_object(raw, _ORDERS)
    record = dict.fromkeys(ORDER_OPTIONAL_STRINGS)
    record.update(raw)
    plain = _plain_strings(record, _ORDER_REQUIRED_LIMITS, _ORDER_OPTIONAL_LIMITS)
    if not plain:
        _require_strings(record, _ORDERS)
        _check_lengths(record, _ORDERS)
    price = _positive_number(record, "price", _ORDERS)
    quantity = _non_negative_number(record, "quantity", _ORDERS)
    filled_quantity = _non_negative_number(record, "filledQuantity", _ORDERS)
    notional = _non_negative_number(record, "notional", _ORDERS)
    expected = _checked_product(quantity, price, notional, _ORDERS)
    side = Side(_string_enum_value(record, "side", SIDES, _ORDERS))
    order_type = OrderType(_string_enum_value(record, "orderType", ORDER_TYPES, _ORDERS))
    event_type = EventType(_string_enum_value(record, "eventType", EVENT_TYPES, _ORDERS))
    _check_quantities(event_type, quantity, filled_quantity, _ORDERS)
    _check_symbol(record, _ORDERS)
    _check_notional(record["quoteAsset"], notional, expected, notional_tolerance, _ORDERS)
    timestamp = _timestamp(record, now_ms, max_future_skew_ms, max_age_ms, _ORDERS)
    if not plain:
        _check_optional_types(record, _ORDERS)
    country = _country(record, _ORDERS)
    # Positional arguments, in the order of OrderEvent's fields, as for Trade.
    return OrderEvent(
        record["eventId"],
        record["orderId"],
        record["userId"],
        record["customerId"],
        record["symbol"],
        side,
        order_type,
        event_type,
        price,
        quantity,
        filled_quantity,
        notional,
        timestamp,
        record["exchange"],
        country,
        record,
        arrival,
        content,
    )


def _plain_strings(
    record: dict[str, Any], required_limits: tuple[tuple[str, int], ...], optional_limits: tuple[tuple[str, int], ...]
) -> bool:
    """Whether the string fields pass steps 2 and 3 in the usual way: required ones printable (so
    free of control characters) and not blank, optional ones null or strings, all within their
    lengths. If not, the steps' full checks decide, in their order."""
    get = record.get
    for name, limit in required_limits:
        value = get(name)
        if value.__class__ is not str or len(value) > limit or not value.isprintable() or not value.strip():
            return False
    for name, limit in optional_limits:
        value = record[name]
        if value is not None and (value.__class__ is not str or len(value) > limit):
            return False
    return True


def _require_strings(record: dict[str, Any], contract: _Contract = _TRADES) -> None:
    for name in contract.required_strings:
        value = record.get(name)
        if value is None:
            raise contract.error(f"missing required field '{name}'", reason="missing_field")
        if not isinstance(value, str) or not value.strip():
            raise contract.error(f"field '{name}' must be a non-empty string", reason="bad_field_type")
        if CONTROL_CHARACTERS.search(value):
            # Ids travel inside window members, where control characters are separators.
            raise contract.error(f"field '{name}' contains control characters", reason="control_characters")


def _check_lengths(record: dict[str, Any], contract: _Contract = _TRADES) -> None:
    for name, limit in contract.max_lengths.items():
        value = record[name]
        try:
            too_long = len(value) > limit and isinstance(value, str)
        except TypeError:  # not a string: reported as bad_field_type at step 9
            continue
        if too_long:
            raise contract.error(
                f"field '{name}' is {len(value)} characters long; at most {limit} are allowed",
                reason="field_too_long",
            )


def _check_optional_types(record: dict[str, Any], contract: _Contract) -> None:
    for name in contract.optional_strings:
        value = record[name]
        if value is not None and not isinstance(value, str):
            raise contract.error(f"field '{name}' must be a string or null", reason="bad_field_type")


def _finite_number(record: dict[str, Any], name: str, contract: _Contract) -> float:
    value = record.get(name)
    if value is None:
        raise contract.error(f"missing required field '{name}'", reason="missing_field")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise contract.error(f"field '{name}' must be a finite number, got {value!r}", reason="bad_field_type")
    try:
        number = float(value)
    except OverflowError:  # a JSON integer beyond a double's range
        raise contract.error(f"field '{name}' is too large for a double", reason="bad_field_type") from None
    if not math.isfinite(number):
        raise contract.error(f"field '{name}' must be a finite number, got {value!r}", reason="bad_field_type")
    return number


def _positive_number(record: dict[str, Any], name: str, contract: _Contract = _TRADES) -> float:
    number = _finite_number(record, name, contract)
    if number <= 0:
        raise contract.error(f"field '{name}' must be > 0, got {record[name]!r}", reason=f"{name}_not_positive")
    return number


def _non_negative_number(record: dict[str, Any], name: str, contract: _Contract) -> float:
    number = _finite_number(record, name, contract)
    if number < 0:
        raise contract.error(f"field '{name}' must be >= 0, got {record[name]!r}", reason=f"{_snake(name)}_negative")
    return number


def _checked_product(quantity: float, price: float, notional: float, contract: _Contract) -> float:
    """``quantity x price``, once it is known to be finite and ``notional`` plausible."""
    expected = quantity * price
    if expected == math.inf:  # two finite doubles can overflow; inf would slip through the notional check
        raise _product_overflow(quantity, price, contract)
    if notional > MAX_NOTIONAL_USD:
        raise _implausible_notional(notional, contract)
    return expected


def _product_overflow(quantity: float, price: float, contract: _Contract) -> InvalidRecord:
    return contract.error(
        f"quantity {quantity!r} x price {price!r} overflows a double; send realistic values",
        reason="product_not_finite",
    )


def _implausible_notional(notional: float, contract: _Contract) -> InvalidRecord:
    return contract.error(
        f"notional {notional!r} USD is above the plausible maximum of {MAX_NOTIONAL_USD:,.0f} USD per {contract.noun}",
        reason="notional_implausible",
    )


def _check_notional(quote_asset: str, notional: float, expected: float, tolerance: float, contract: _Contract) -> None:
    if quote_asset in USD_QUOTE_ASSETS and abs(notional - expected) > tolerance * expected:
        raise _notional_mismatch(notional, expected, tolerance, contract)


def _notional_mismatch(notional: float, expected: float, tolerance: float, contract: _Contract) -> InvalidRecord:
    return contract.error(
        f"notional {notional!r} differs from quantity x price = {expected:.2f} by more than {tolerance:.0%}",
        reason="notional_mismatch",
    )


def _enum_value(record: dict[str, Any], name: str, allowed: frozenset[str], contract: _Contract = _TRADES) -> str:
    value = record.get(name)
    if value is None:
        raise contract.error(f"missing required field '{name}'", reason="missing_field")
    if isinstance(value, list | dict):  # JSON arrays and objects cannot even be looked up
        raise contract.error(f"field '{name}' must be a string, got {value!r}", reason="bad_field_type")
    if value not in allowed:
        raise contract.error(
            f"field '{name}' is {value!r}; expected one of {', '.join(sorted(allowed))}",
            reason=f"unknown_{_snake(name)}",
        )
    return str(value)


def _string_enum_value(record: dict[str, Any], name: str, allowed: frozenset[str], contract: _Contract) -> str:
    """:func:`_enum_value` for a field that must also be a string."""
    value = record.get(name)
    if value is not None and not isinstance(value, str):
        raise contract.error(f"field '{name}' must be a string, got {value!r}", reason="bad_field_type")
    return _enum_value(record, name, allowed, contract)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _check_quantities(event_type: EventType, quantity: float, filled_quantity: float, contract: _Contract) -> None:
    """The open and filled quantities an event of this type can leave (:data:`QUANTITY_RULES`)."""
    open_rule, filled_rule = QUANTITY_RULES[event_type]
    _check_quantity_rule(event_type, "quantity", quantity, open_rule, contract)
    _check_quantity_rule(event_type, "filledQuantity", filled_quantity, filled_rule, contract)


def _check_quantity_rule(event_type: EventType, name: str, value: float, rule: str | None, contract: _Contract) -> None:
    if rule == "> 0" and value <= 0:
        reason = f"{_snake(name)}_not_positive"
    elif rule == "0" and value != 0:
        reason = f"{_snake(name)}_not_zero"
    else:
        return
    raise contract.error(
        f"eventType {event_type} must leave {name} ({_QUANTITY_MEANINGS[name]}) {rule}, got {value!r}",
        reason=reason,
    )


def _check_symbol(record: dict[str, Any], contract: _Contract = _TRADES) -> None:
    symbol = record["symbol"]
    if not SYMBOL_FORMAT.fullmatch(symbol):
        raise contract.error(f"symbol {symbol!r} is not BASE/QUOTE (e.g. BTC/USDT)", reason="bad_symbol")
    base, quote = symbol.split("/")
    if (base, quote) != (record["baseAsset"], record["quoteAsset"]):
        raise contract.error(
            f"symbol {symbol!r} disagrees with baseAsset/quoteAsset {record['baseAsset']!r}/{record['quoteAsset']!r}",
            reason="bad_symbol",
        )


def _timestamp(
    record: dict[str, Any], now_ms: int, max_future_skew_ms: int, max_age_ms: int, contract: _Contract = _TRADES
) -> int:
    value = record.get("timestamp")
    if value is None:
        raise contract.error("missing required field 'timestamp'", reason="missing_field")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise contract.error(f"timestamp must be epoch milliseconds, got {value!r}", reason="bad_field_type")
    if value > _LONG_MAX:  # a JSON integer need not fit the schema's long, nor a double's range
        raise contract.error(
            f"timestamp must be epoch milliseconds, got an integer of {value.bit_length()} bits (at most 63 fit)",
            reason="bad_field_type",
        )
    if value > now_ms + max_future_skew_ms:
        raise contract.error(
            f"timestamp {value} is {(value - now_ms) / 1000:.0f} s in the future "
            f"(allowed: {max_future_skew_ms / 1000:.0f} s){_unit_hint(value)}",
            reason="timestamp_in_future",
        )
    if value < now_ms - max_age_ms:
        raise contract.error(
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


def _not_an_object(raw: Any, contract: _Contract) -> InvalidRecord:
    return contract.error(f"expected a JSON object, got {type(raw).__name__}", reason="not_an_object")


def _country(record: dict[str, Any], contract: _Contract) -> str | None:
    country = record["country"]
    if country is not None and country not in _COUNTRY_CODES:
        raise _bad_country(country, contract)
    return country


def _bad_country(country: Any, contract: _Contract) -> InvalidRecord:
    return contract.error(f"country {country!r} is not an ISO 3166 alpha-2 code", reason="bad_country")
