"""validate_trade's in-line checks decide exactly as the step-by-step reference: the same Trade (record
included, key order too) or the same rejection, reason and detail, for any mix of good and bad fields."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from validation_reference import validate_trade as reference

from riskengine.errors import InvalidTrade
from riskengine.validation import validate_trade

NOW = 1_763_900_000_000
MISSING = object()
GOOD: dict[str, Any] = {
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
    "walletAddress": None,
    "sessionId": "s-1",
    "ipAddress": "10.0.0.1",
    "country": "DE",
    "orderId": "O-1",
    "counterpartyUserId": None,
}
ODD = st.sampled_from([MISSING, None, True, False, 0, 1, -1, 0.0, -0.0, [], {}, ["a"], 2**1100])
STRINGS = st.one_of(
    st.sampled_from(["", " ", "\u3000", "\xa0x", "a\x00b", "a\x1fb", "a\x7f", "\u200b", "\x85", "a" * 129, "a" * 46]),
    st.sampled_from(["DE", "de", "D", "DEU", "KP", "USD", "USDT", "EUR", "BTC", "btc", "X/Y", "BTC/EUR", "BTC/USDT"]),
    st.sampled_from(["BUY", "SELL", "buy", "LIMIT", "MARKET", "STOP_LOSS", "TAKE_PROFIT", "OTHER"]),
    st.text(max_size=20),
)
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e-320, 1e200, 1.5e12, 1e12, 200.0, 202.0, 198.0, 205.0, 100.0, 2.0]),
    st.integers(-5, 10**13),
)
TIMESTAMPS = st.one_of(
    st.integers(-(2**64), 2**64),
    st.sampled_from([NOW, NOW + 5_000, NOW + 5_001, NOW - 315_576_000_000, NOW - 315_576_000_001, 1_700_000_000]),
    st.sampled_from([float(NOW), True]),
)
VALUES = st.one_of(ODD, STRINGS, NUMBERS, TIMESTAMPS)


def _outcome(validate: Any, raw: Any, **options: Any) -> tuple[Any, ...]:
    try:
        trade = validate(raw, now_ms=NOW, arrival="a", content=b"c", **options)
    except InvalidTrade as exc:
        return ("rejected", exc.reason, exc.detail)
    except Exception as exc:  # the reference's own failures (an unhashable side) must be the same too
        return ("raised", type(exc).__name__, str(exc))
    fields = [(name, getattr(trade, name)) for name in trade.__slots__ if name != "record"]
    kinds = [type(value) for _, value in fields]
    return ("trade", repr(fields), kinds, list(trade.record.items()), trade.content, trade.arrival)


@settings(max_examples=3000, deadline=None)
@given(
    changes=st.dictionaries(st.sampled_from(sorted(GOOD)), VALUES, max_size=4),
    extra=st.dictionaries(st.sampled_from(["extra", "tradeid"]), VALUES, max_size=1),
    timestamp=st.one_of(st.just(GOOD["timestamp"]), TIMESTAMPS),
    tolerance=st.sampled_from([0.01, 0.0, 0.5]),
)
def test_the_in_line_checks_decide_as_the_reference(
    changes: dict[str, Any], extra: dict[str, Any], timestamp: Any, tolerance: float
) -> None:
    raw = GOOD | {"timestamp": timestamp} | changes | extra
    raw = {name: value for name, value in raw.items() if value is not MISSING}
    options = {"notional_tolerance": tolerance}
    assert _outcome(validate_trade, raw, **options) == _outcome(reference, raw, **options)


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(st.none(), st.lists(st.integers()), st.text(), st.integers()))
def test_a_non_object_is_rejected_as_by_the_reference(raw: Any) -> None:
    assert _outcome(validate_trade, raw) == _outcome(reference, raw)


def test_a_good_trade_is_the_references_trade() -> None:
    new, old = _outcome(validate_trade, dict(GOOD)), _outcome(reference, dict(GOOD))
    assert new[0] == "trade"
    assert new == old
