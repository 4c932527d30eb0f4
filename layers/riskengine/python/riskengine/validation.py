"""Turn a decoded CryptoTrade dict into a :class:`Trade`, or say precisely why not.

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
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from string import ascii_uppercase
from types import MappingProxyType
from typing import Any

from riskengine.errors import InvalidTrade
from riskengine.model import OrderType, Side, Trade

REQUIRED_STRINGS = ("tradeId", "userId", "customerId", "symbol", "baseAsset", "quoteAsset", "exchange")
REQUIRED_NUMBERS = ("quantity", "price", "notional")
OPTIONAL_STRINGS = ("walletAddress", "sessionId", "ipAddress", "country", "orderId", "counterpartyUserId")
SYMBOL_FORMAT = re.compile(r"[A-Z0-9]{2,12}/[A-Z0-9]{2,12}")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
SIDES = frozenset(s.value for s in Side)
ORDER_TYPES = frozenset(o.value for o in OrderType)
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
# A trillion dollars: more than any venue trades in a day. Market volume is summed in whole cents
# in Redis' 64-bit integers, which this keeps far from overflowing.
MAX_NOTIONAL_USD = 1e12
_LENGTH_LIMITS = tuple(MAX_FIELD_LENGTHS.items())
# Length limits of _plain_strings (the ones without a limit of their own get one no string reaches).
_REQUIRED_LIMITS = tuple((name, MAX_FIELD_LENGTHS.get(name, sys.maxsize)) for name in REQUIRED_STRINGS)
_OPTIONAL_LIMITS = tuple((name, MAX_FIELD_LENGTHS.get(name, sys.maxsize)) for name in OPTIONAL_STRINGS)
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

    Every trade goes through here, so the checks are in line, and a check whose full version is
    costly first tries a cheap test that only good values pass; a value that fails it goes to the
    full version, which decides and says why.
    """
    if not isinstance(raw, dict):
        raise InvalidTrade(f"expected a JSON object, got {type(raw).__name__}", reason="not_an_object")
    # The optional fields come first in the record (and so in its JSON), whether present or not.
    record = dict.fromkeys(OPTIONAL_STRINGS)
    record.update(raw)
    get = record.get
    plain = _plain_strings(record)
    if not plain:
        _require_strings(record)
        _check_lengths(record)
    quantity, price, notional = get("quantity"), get("price"), get("notional")
    # NaN fails the comparisons, so a float that passes them is finite and > 0.
    if quantity.__class__ is not float or not 0.0 < quantity < math.inf:
        quantity = _positive_number(record, "quantity")
    if price.__class__ is not float or not 0.0 < price < math.inf:
        price = _positive_number(record, "price")
    if notional.__class__ is not float or not 0.0 < notional < math.inf:
        notional = _positive_number(record, "notional")
    expected = quantity * price
    if expected == math.inf:  # two finite doubles can overflow; inf would slip through the notional check
        raise InvalidTrade(
            f"quantity {quantity!r} x price {price!r} overflows a double; send realistic values",
            reason="product_not_finite",
        )
    if notional > MAX_NOTIONAL_USD:
        raise InvalidTrade(
            f"notional {notional!r} USD is above the plausible maximum of {MAX_NOTIONAL_USD:,.0f} USD per trade",
            reason="notional_implausible",
        )
    side = get("side")
    side = _SIDES.get(side) if side.__class__ is str else None
    if side is None:
        side = Side(_enum_value(record, "side", SIDES))
    if get("orderType") not in ORDER_TYPES:
        _enum_value(record, "orderType", ORDER_TYPES)
    _check_symbol(record)
    if record["quoteAsset"] in USD_QUOTE_ASSETS and abs(notional - expected) > notional_tolerance * expected:
        raise InvalidTrade(
            f"notional {notional!r} differs from quantity x price = {expected:.2f} "
            f"by more than {notional_tolerance:.0%}",
            reason="notional_mismatch",
        )
    timestamp = get("timestamp")
    if timestamp.__class__ is not int or not 0 < now_ms - max_age_ms <= timestamp <= now_ms + max_future_skew_ms:
        timestamp = _timestamp(record, now_ms, max_future_skew_ms, max_age_ms)
    if not plain:
        _check_optional_types(record)
    country = record["country"]
    if country is not None and country not in _COUNTRY_CODES:
        raise InvalidTrade(f"country {country!r} is not an ISO 3166 alpha-2 code", reason="bad_country")
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


def _plain_strings(record: dict[str, Any]) -> bool:
    """Whether the string fields pass steps 2 and 3 in the usual way: required ones printable (so
    free of control characters) and not blank, optional ones null or strings, all within their
    lengths. If not, the steps' full checks decide, in their order."""
    get = record.get
    for name, limit in _REQUIRED_LIMITS:
        value = get(name)
        if value.__class__ is not str or len(value) > limit or not value.isprintable() or not value.strip():
            return False
    for name, limit in _OPTIONAL_LIMITS:
        value = record[name]
        if value is not None and (value.__class__ is not str or len(value) > limit):
            return False
    return True


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
        except TypeError:  # not a string: reported as bad_field_type at step 9
            continue
        if too_long:
            raise InvalidTrade(
                f"field '{name}' is {len(value)} characters long; at most {limit} are allowed",
                reason="field_too_long",
            )


def _check_optional_types(record: dict[str, Any]) -> None:
    for name in OPTIONAL_STRINGS:
        value = record[name]
        if value is not None and not isinstance(value, str):
            raise InvalidTrade(f"field '{name}' must be a string or null", reason="bad_field_type")


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
