"""validate_trade: every rejection reason, its boundaries, and the normalised Trade it returns."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskengine.errors import InvalidTrade
from riskengine.model import Side, arrival_key
from riskengine.validation import (
    DEFAULT_MAX_FUTURE_SKEW_MS,
    DEFAULT_MAX_TRADE_AGE_MS,
    MAX_FIELD_LENGTHS,
    MAX_NOTIONAL_USD,
    OPTIONAL_STRINGS,
    REQUIRED_NUMBERS,
    REQUIRED_STRINGS,
    USD_QUOTE_ASSETS,
    validate_trade,
)

NOW = 1_763_900_000_000
FIVE_SECONDS = 5_000
TEN_YEARS = 10 * 365.25 * 24 * 3_600_000


def _raw(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "tradeId": "T-1",
        "userId": "U-1",
        "customerId": "C-1",
        "symbol": "BTC/USDT",
        "baseAsset": "BTC",
        "quoteAsset": "USDT",
        "side": "BUY",
        "orderType": "LIMIT",
        "quantity": 2.0,
        "price": 100.0,
        "notional": 200.0,
        "timestamp": NOW - 1_000,
        "exchange": "BINANCE",
    }
    raw.update(changes)
    return raw


def _without(name: str) -> dict[str, Any]:
    raw = _raw()
    del raw[name]
    return raw


def _reject(raw: Any, now_ms: int = NOW) -> InvalidTrade:
    with pytest.raises(InvalidTrade) as info:
        validate_trade(raw, now_ms=now_ms)
    return info.value


def test_a_valid_trade_is_normalised() -> None:
    raw = _raw(country="DE", counterpartyUserId="U-2", quantity=2, price=100)
    trade = validate_trade(raw, now_ms=NOW)
    assert trade.trade_id == "T-1"
    assert trade.user_id == "U-1"
    assert trade.customer_id == "C-1"
    assert trade.symbol == "BTC/USDT"
    assert trade.side is Side.BUY
    assert (trade.quantity, trade.price, trade.notional) == (2.0, 100.0, 200.0)
    assert all(isinstance(v, float) for v in (trade.quantity, trade.price, trade.notional))
    assert trade.timestamp == NOW - 1_000
    assert trade.exchange == "BINANCE"
    assert trade.country == "DE"
    assert trade.counterparty_user_id == "U-2"
    # Optional fields absent from the input are present (as None) in the kept record.
    assert trade.record["walletAddress"] is None
    assert trade.record["sessionId"] is None
    assert trade.record["tradeId"] == "T-1"


@pytest.mark.parametrize(
    "name",
    [
        "tradeId",
        "userId",
        "customerId",
        "symbol",
        "baseAsset",
        "quoteAsset",
        "exchange",
        "quantity",
        "price",
        "notional",
        "side",
        "orderType",
        "timestamp",
    ],
)
def test_every_missing_required_field_is_named(name: str) -> None:
    error = _reject(_without(name))
    assert error.reason == "missing_field"
    assert f"'{name}'" in error.detail
    assert _reject(_raw(**{name: None})).reason == "missing_field"


@pytest.mark.parametrize("name", ["quantity", "price", "notional"])
@pytest.mark.parametrize("value", [0, 0.0, -1.0, -1e-9])
def test_non_positive_numbers_are_rejected(name: str, value: float) -> None:
    error = _reject(_raw(**{name: value}))
    assert error.reason == f"{name}_not_positive"
    assert name in error.detail


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("quantity", "2"),
        ("quantity", True),
        ("price", math.nan),
        ("price", math.inf),
        ("notional", [200]),
        ("tradeId", 17),
        ("userId", "   "),
        ("exchange", ""),
        ("timestamp", float(NOW - 1_000)),
        ("timestamp", "1763900000000"),
        ("timestamp", 0),
        ("timestamp", True),
        ("walletAddress", 5),
        ("quantity", 10**400),  # a JSON integer no double can hold: rejected, not an OverflowError
        ("price", -(10**400)),
    ],
)
def test_values_of_the_wrong_type_are_rejected(name: str, value: Any) -> None:
    assert _reject(_raw(**{name: value})).reason == "bad_field_type"


def _reject_with(raw: dict[str, Any], **options: int) -> InvalidTrade:
    with pytest.raises(InvalidTrade) as info:
        validate_trade(raw, now_ms=NOW, **options)
    return info.value


def test_not_an_object_is_rejected() -> None:
    assert _reject(["tradeId", "T-1"]).reason == "not_an_object"


@pytest.mark.parametrize("notional", [202.03, 197.97, 400.0, 100.0])
def test_notional_off_by_more_than_1_percent_is_rejected(notional: float) -> None:
    error = _reject(_raw(quantity=2.0, price=100.0, notional=notional))
    assert error.reason == "notional_mismatch"
    assert "200.00" in error.detail


@pytest.mark.parametrize("notional", [200.0, 201.98, 198.02, 202.0, 198.0])
def test_notional_within_1_percent_is_accepted(notional: float) -> None:
    assert validate_trade(_raw(quantity=2.0, price=100.0, notional=notional), now_ms=NOW).notional == notional


@pytest.mark.parametrize("side", ["HOLD", "buy", "Sell", ""])
def test_unknown_side_is_rejected(side: str) -> None:
    error = _reject(_raw(side=side))
    assert error.reason == "unknown_side"
    assert "BUY, SELL" in error.detail


@pytest.mark.parametrize("name", ["side", "orderType"])
@pytest.mark.parametrize("value", [["BUY"], {"side": "BUY"}])
def test_a_json_array_or_object_as_an_enum_is_rejected_not_a_crash(name: str, value: Any) -> None:
    # An unhashable value cannot be looked up in the set of allowed values: this used to raise
    # TypeError, which failed the whole batch on every retry.
    error = _reject(_raw(**{name: value}))
    assert error.reason == "bad_field_type"
    assert name in error.detail


@pytest.mark.parametrize("timestamp", [2**63, 10**400])
def test_a_timestamp_beyond_a_long_is_rejected_not_a_crash(timestamp: int) -> None:
    # 10**400 cannot even be turned into a float for the "in the future" message (OverflowError).
    error = _reject(_raw(timestamp=timestamp))
    assert error.reason == "bad_field_type"
    assert "63 fit" in error.detail


@pytest.mark.parametrize("order_type", ["ICEBERG", "market", "STOP"])
def test_unknown_order_type_is_rejected(order_type: str) -> None:
    error = _reject(_raw(orderType=order_type))
    assert error.reason == "unknown_order_type"
    assert "LIMIT" in error.detail


@pytest.mark.parametrize("order_type", ["MARKET", "LIMIT", "STOP_LOSS", "TAKE_PROFIT"])
def test_every_known_order_type_is_accepted(order_type: str) -> None:
    assert validate_trade(_raw(orderType=order_type), now_ms=NOW).record["orderType"] == order_type


@pytest.mark.parametrize(
    "symbol", ["BTCUSDT", "BTC-USDT", "btc/usdt", "B/USDT", "BTC/U", "BTC/USDT/X", "BTC /USDT", "ABCDEFGHIJKLM/USDT"]
)
def test_bad_symbol_format_is_rejected(symbol: str) -> None:
    error = _reject(_raw(symbol=symbol))
    assert error.reason == "bad_symbol"
    assert "BASE/QUOTE" in error.detail


@pytest.mark.parametrize(("base", "quote"), [("ETH", "USDT"), ("BTC", "USDC"), ("USDT", "BTC"), ("btc", "USDT")])
def test_symbol_disagreeing_with_base_or_quote_asset_is_rejected(base: str, quote: str) -> None:
    error = _reject(_raw(baseAsset=base, quoteAsset=quote))
    assert error.reason == "bad_symbol"
    assert "disagrees" in error.detail


def test_the_default_limits_are_5_seconds_ahead_and_10_years_back() -> None:
    assert DEFAULT_MAX_FUTURE_SKEW_MS == FIVE_SECONDS
    assert DEFAULT_MAX_TRADE_AGE_MS == TEN_YEARS


def test_a_timestamp_more_than_5_seconds_in_the_future_is_rejected() -> None:
    assert validate_trade(_raw(timestamp=NOW + FIVE_SECONDS), now_ms=NOW).timestamp == NOW + FIVE_SECONDS
    error = _reject(_raw(timestamp=NOW + FIVE_SECONDS + 1))
    assert error.reason == "timestamp_in_future"
    assert "allowed: 5 s" in error.detail
    assert "looks like" not in error.detail  # a millisecond value gets no unit hint
    # The allowed skew is a parameter.
    with pytest.raises(InvalidTrade, match="in the future"):
        validate_trade(_raw(timestamp=NOW + 1_001), now_ms=NOW, max_future_skew_ms=1_000)
    assert validate_trade(_raw(timestamp=NOW + 300_000), now_ms=NOW, max_future_skew_ms=300_000).timestamp


@pytest.mark.parametrize(("value", "unit"), [(NOW * 1_000, "microseconds"), (NOW * 1_000_000, "nanoseconds")])
def test_a_future_timestamp_in_a_finer_unit_is_named(value: int, unit: str) -> None:
    error = _reject(_raw(timestamp=value))
    assert error.reason == "timestamp_in_future"
    assert f"looks like epoch {unit}; send epoch milliseconds" in error.detail


def test_a_timestamp_older_than_10_years_is_rejected() -> None:
    oldest = NOW - DEFAULT_MAX_TRADE_AGE_MS
    assert validate_trade(_raw(timestamp=oldest), now_ms=NOW).timestamp == oldest
    error = _reject(_raw(timestamp=oldest - 1))
    assert error.reason == "timestamp_too_old"
    assert "allowed: 3,652 days" in error.detail
    assert "looks like" not in error.detail


def test_an_old_timestamp_in_seconds_is_named() -> None:
    error = _reject(_raw(timestamp=NOW // 1_000))
    assert error.reason == "timestamp_too_old"
    assert f"{NOW // 1_000} looks like epoch seconds; send epoch milliseconds" in error.detail


def test_the_allowed_age_is_a_parameter() -> None:
    assert validate_trade(_raw(timestamp=NOW - 60_000), now_ms=NOW, max_age_ms=60_000).timestamp == NOW - 60_000
    error = _reject_with(_raw(timestamp=NOW - 60_001), max_age_ms=60_000)
    assert error.reason == "timestamp_too_old"
    assert "60 s old (allowed: 60 s)" in error.detail


@pytest.mark.parametrize("country", ["usa", "us", "U1", "", "D", "DE ", " DE"])
def test_bad_country_is_rejected(country: str) -> None:
    error = _reject(_raw(country=country))
    assert error.reason == "bad_country"
    assert "ISO 3166" in error.detail


@pytest.mark.parametrize("country", ["US", "KP", None])
def test_valid_or_absent_country_is_accepted(country: str | None) -> None:
    assert validate_trade(_raw(country=country), now_ms=NOW).country == country


def test_a_country_with_a_trailing_newline_is_rejected() -> None:
    assert _reject(_raw(country="US\n")).reason == "bad_country"


def test_the_first_problem_found_is_reported_in_a_stable_order() -> None:
    # Missing strings come before numbers, numbers before side, side before symbol.
    assert _reject(_raw(userId=None, quantity=0)).reason == "missing_field"
    assert _reject(_raw(quantity=0, side="HOLD")).reason == "quantity_not_positive"
    assert _reject(_raw(side="HOLD", symbol="BTCUSDT")).reason == "unknown_side"
    # Lengths come right after the strings; the product right after the numbers; the notional after
    # the symbol (it needs the quote asset); the timestamp after that.
    assert _reject(_raw(userId="U" * 129, quantity=0)).reason == "field_too_long"
    assert _reject(_raw(quantity=1e300, price=1e300, side="HOLD")).reason == "product_not_finite"
    assert _reject(_raw(symbol="BTCUSDT", notional=1.0)).reason == "bad_symbol"
    assert _reject(_raw(notional=1.0, timestamp=NOW + 3_600_000)).reason == "notional_mismatch"
    assert _reject(_raw(timestamp=1, country="usa")).reason == "timestamp_too_old"


@pytest.mark.parametrize("field", ["tradeId", "userId", "customerId", "exchange"])
@pytest.mark.parametrize("character", ["\x1f", "\x1e", "\n", "\x00"])
def test_ids_with_control_characters_are_rejected(field: str, character: str) -> None:
    # Window members use \x1f and \x1e as separators: an id holding one would corrupt a window.
    error = _reject(_raw(**{field: f"ID{character}X"}))
    assert error.reason == "control_characters"
    assert field in error.detail


def test_the_field_length_limits() -> None:
    assert dict(MAX_FIELD_LENGTHS) == {
        "tradeId": 128,
        "userId": 128,
        "customerId": 128,
        "exchange": 32,
        "orderId": 128,
        "sessionId": 128,
        "walletAddress": 128,
        "counterpartyUserId": 128,
        "ipAddress": 45,
    }


@pytest.mark.parametrize(("field", "limit"), sorted(MAX_FIELD_LENGTHS.items()))
def test_a_field_at_its_length_limit_is_accepted_and_one_longer_is_rejected(field: str, limit: int) -> None:
    assert validate_trade(_raw(**{field: "x" * limit}), now_ms=NOW).record[field] == "x" * limit
    error = _reject(_raw(**{field: "x" * (limit + 1)}))
    assert error.reason == "field_too_long"
    assert f"'{field}' is {limit + 1} characters long; at most {limit}" in error.detail


def test_a_huge_user_id_is_rejected_before_it_can_become_a_key() -> None:
    error = _reject(_raw(userId="U" * 10_000))
    assert error.reason == "field_too_long"
    assert "'userId' is 10000 characters" in error.detail


def test_a_non_string_optional_field_is_still_a_type_error() -> None:
    assert _reject(_raw(sessionId=["x"] * 500)).reason == "bad_field_type"


@pytest.mark.parametrize(("quantity", "price"), [(1e300, 1e300), (1e200, 1e200), (1.7976931348623157e308, 2.0)])
def test_a_product_that_overflows_is_rejected_whatever_the_notional(quantity: float, price: float) -> None:
    for notional in (1.0, 1e308):
        error = _reject(_raw(quantity=quantity, price=price, notional=notional))
        assert error.reason == "product_not_finite"
        assert "overflows" in error.detail
    # Also on a pair whose notional is not checked against the product.
    other = _raw(symbol="ETH/BTC", baseAsset="ETH", quoteAsset="BTC", quantity=quantity, price=price)
    assert _reject(other).reason == "product_not_finite"


def test_a_large_finite_product_is_judged_by_the_notional_check() -> None:
    assert _reject(_raw(quantity=1e150, price=1e150, notional=1.0)).reason == "notional_mismatch"
    assert _reject(_raw(quantity=1e150, price=1e150, notional=1e300)).reason == "notional_implausible"


@pytest.mark.parametrize("quote", ["USDT", "BTC"])
def test_a_notional_above_a_trillion_dollars_is_implausible_for_every_pair(quote: str) -> None:
    at_limit = _raw(symbol=f"ETH/{quote}", quoteAsset=quote, baseAsset="ETH", quantity=1e6, price=1e6, notional=1e12)
    assert validate_trade(at_limit, now_ms=NOW).notional == MAX_NOTIONAL_USD
    above = _raw(symbol=f"ETH/{quote}", quoteAsset=quote, baseAsset="ETH", quantity=1e6, price=1e6, notional=1.0001e12)
    problem = _reject(above)
    assert problem.reason == "notional_implausible"
    assert "1,000,000,000,000" in problem.detail


def test_the_usd_quote_assets() -> None:
    assert frozenset({"USD", "USDT", "USDC", "BUSD", "DAI", "TUSD", "USDP", "FDUSD", "PYUSD"}) == USD_QUOTE_ASSETS


@pytest.mark.parametrize("quote", sorted(USD_QUOTE_ASSETS))
def test_the_notional_of_a_usd_quoted_pair_must_match(quote: str) -> None:
    raw = _raw(symbol=f"BTC/{quote}", quoteAsset=quote, notional=400.0)
    assert _reject(raw).reason == "notional_mismatch"


@pytest.mark.parametrize(("quote", "notional"), [("BTC", 65_000.0), ("ETH", 7_000.0), ("EUR", 0.01), ("USDX", 1e9)])
def test_the_notional_of_any_other_pair_is_the_producers_usd_value(quote: str, notional: float) -> None:
    raw = _raw(symbol=f"SOL/{quote}", baseAsset="SOL", quoteAsset=quote, quantity=2.0, price=0.05, notional=notional)
    assert validate_trade(raw, now_ms=NOW).notional == notional


@pytest.mark.parametrize(("notional", "reason"), [(0.0, "notional_not_positive"), (math.inf, "bad_field_type")])
def test_the_notional_of_any_other_pair_must_still_be_a_positive_number(notional: float, reason: str) -> None:
    raw = _raw(symbol="ETH/BTC", baseAsset="ETH", quoteAsset="BTC", notional=notional)
    assert _reject(raw).reason == reason


def test_the_arrival_key_is_carried_into_the_trade() -> None:
    key = arrival_key(3, 1234)
    assert validate_trade(_raw(), now_ms=NOW, arrival=key).arrival == key
    assert validate_trade(_raw(), now_ms=NOW).arrival == ""


ODD = st.sampled_from([None, True, 0, -1, 0.0, -0.0, math.nan, math.inf, [], {}, ["a"], 2**1100, "", "\x00", "x" * 200])
ANY_VALUE = ODD | st.text(max_size=8) | st.floats() | st.integers() | st.sampled_from(["BUY", "SELL", "LIMIT"])
FIELDS = [*REQUIRED_STRINGS, *REQUIRED_NUMBERS, *OPTIONAL_STRINGS, "side", "orderType", "timestamp"]


@settings(max_examples=1000, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(FIELDS), ANY_VALUE, max_size=4))
def test_any_record_is_a_trade_or_an_invalid_trade(changes: dict[str, Any]) -> None:
    """Whatever a producer sends (JSON has no schema), the validator answers: a Trade or InvalidTrade,
    never another exception, which would fail the whole batch on every retry."""
    try:
        trade = validate_trade(_raw(**changes), now_ms=NOW)
    except InvalidTrade as error:
        assert error.reason
        assert error.detail
    else:
        assert trade.quantity > 0 and trade.price > 0 and trade.notional > 0
