"""validate_trade: every rejection reason, its boundaries, and the normalised Trade it returns."""

from __future__ import annotations

import math
from typing import Any

import pytest

from riskengine.errors import InvalidTrade
from riskengine.model import Side
from riskengine.validation import validate_trade

NOW = 1_763_900_000_000
FIVE_MINUTES = 300_000


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


def test_a_timestamp_more_than_5_minutes_in_the_future_is_rejected() -> None:
    assert validate_trade(_raw(timestamp=NOW + FIVE_MINUTES), now_ms=NOW).timestamp == NOW + FIVE_MINUTES
    error = _reject(_raw(timestamp=NOW + FIVE_MINUTES + 1))
    assert error.reason == "timestamp_in_future"
    assert "allowed: 300 s" in error.detail
    # The allowed skew is a parameter.
    with pytest.raises(InvalidTrade, match="in the future"):
        validate_trade(_raw(timestamp=NOW + 1_001), now_ms=NOW, max_future_skew_ms=1_000)


def test_old_timestamps_are_accepted() -> None:
    assert validate_trade(_raw(timestamp=1), now_ms=NOW).timestamp == 1


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


@pytest.mark.parametrize("field", ["tradeId", "userId", "customerId", "exchange"])
@pytest.mark.parametrize("character", ["\x1f", "\x1e", "\n", "\x00"])
def test_ids_with_control_characters_are_rejected(field: str, character: str) -> None:
    # Window members use \x1f and \x1e as separators: an id holding one would corrupt a window.
    error = _reject(_raw(**{field: f"ID{character}X"}))
    assert error.reason == "control_characters"
    assert field in error.detail
