"""validate_order: every rejection reason with its message, the event-type rules and their
boundaries, the OrderEvent it returns, and the same event through Avro and through JSON."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskengine import validation
from riskengine.codec import ORDERS_SUBJECT, AvroCodec, FixedIdRegistry
from riskengine.errors import InvalidOrder, InvalidRecord, InvalidTrade
from riskengine.model import EventType, OrderEvent, OrderType, Side, arrival_key
from riskengine.validation import (
    DEFAULT_MAX_TRADE_AGE_MS,
    MAX_FIELD_LENGTHS,
    MAX_ORDER_FIELD_LENGTHS,
    ORDER_OPTIONAL_STRINGS,
    ORDER_REQUIRED_NUMBERS,
    ORDER_REQUIRED_STRINGS,
    QUANTITY_RULES,
    USD_QUOTE_ASSETS,
    validate_order,
    validate_trade,
)

NOW = 1_763_900_000_000
CODEC = AvroCodec(FixedIdRegistry())
REQUIRED = [*ORDER_REQUIRED_STRINGS, *ORDER_REQUIRED_NUMBERS, "side", "orderType", "eventType", "timestamp"]


def _raw(**changes: Any) -> dict[str, Any]:
    """A valid NEW order, changed as given."""
    raw: dict[str, Any] = {
        "eventId": "E-1",
        "orderId": "O-1",
        "userId": "U-1",
        "customerId": "C-1",
        "symbol": "BTC/USDT",
        "baseAsset": "BTC",
        "quoteAsset": "USDT",
        "side": "BUY",
        "orderType": "LIMIT",
        "eventType": "NEW",
        "price": 100.0,
        "quantity": 2.0,
        "filledQuantity": 0.0,
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


def _reject(raw: Any, **options: Any) -> InvalidOrder:
    with pytest.raises(InvalidOrder) as info:
        validate_order(raw, now_ms=NOW, **options)
    return info.value


# --- accepted events ---------------------------------------------------------------------------


def test_a_valid_order_event_is_normalised() -> None:
    raw = _raw(price=100, quantity=2, filledQuantity=0, notional=200, country="DE", sessionId="s-1")
    order = validate_order(raw, now_ms=NOW, arrival=arrival_key(2, 7), content=b"body")
    assert order == OrderEvent(
        event_id="E-1",
        order_id="O-1",
        user_id="U-1",
        customer_id="C-1",
        symbol="BTC/USDT",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        event_type=EventType.NEW,
        price=100.0,
        quantity=2.0,
        filled_quantity=0.0,
        notional=200.0,
        timestamp=NOW - 1_000,
        exchange="BINANCE",
        country="DE",
        record={},
        arrival=arrival_key(2, 7),
    )
    assert all(type(v) is float for v in (order.price, order.quantity, order.filled_quantity, order.notional))
    assert (type(order.side), type(order.order_type), type(order.event_type)) == (Side, OrderType, EventType)
    assert order.content == b"body"
    # The kept record is the input with every optional field present (None when absent).
    assert order.record == raw | {"walletAddress": None, "ipAddress": None}


@pytest.mark.parametrize(
    ("event_type", "quantity", "filled"),
    [
        ("NEW", 2.0, 0.0),
        ("AMEND", 2.0, 0.0),
        ("AMEND", 1.5, 0.5),
        ("CANCEL", 2.0, 0.0),  # a venue that reports the cancelled size
        ("CANCEL", 0.0, 0.0),  # one that reports nothing left open
        ("CANCEL", 0.0, 1.0),  # the rest of a partly filled order cancelled
        ("PARTIAL_FILL", 1.5, 0.5),
        ("FILL", 0.0, 2.0),
    ],
)
def test_every_event_type_is_accepted_with_the_quantities_it_can_leave(
    event_type: str, quantity: float, filled: float
) -> None:
    raw = _raw(eventType=event_type, quantity=quantity, filledQuantity=filled, notional=quantity * 100.0)
    order = validate_order(raw, now_ms=NOW)
    assert (order.event_type, order.quantity, order.filled_quantity) == (EventType(event_type), quantity, filled)


def test_nothing_open_is_worth_nothing() -> None:
    """notional is the USD value of the open quantity: 0 x price = 0, whatever the tolerance."""
    fill = _raw(eventType="FILL", quantity=0.0, filledQuantity=2.0, notional=0.0)
    assert validate_order(fill, now_ms=NOW, notional_tolerance=0.0).notional == 0.0
    error = _reject(fill | {"notional": 200.0})
    assert (error.reason, error.detail) == (
        "notional_mismatch",
        "notional 200.0 differs from quantity x price = 0.00 by more than 1%",
    )


@pytest.mark.parametrize("order_type", ["MARKET", "LIMIT", "STOP_LOSS", "TAKE_PROFIT"])
@pytest.mark.parametrize("side", ["BUY", "SELL"])
def test_every_side_and_order_type_is_accepted(side: str, order_type: str) -> None:
    order = validate_order(_raw(side=side, orderType=order_type), now_ms=NOW)
    assert (order.side, order.order_type) == (Side(side), OrderType(order_type))


def test_the_notional_of_any_other_pair_is_the_producers_usd_value() -> None:
    raw = _raw(symbol="ETH/BTC", baseAsset="ETH", quoteAsset="BTC", price=0.05, notional=7_000.0)
    assert validate_order(raw, now_ms=NOW).notional == 7_000.0


@pytest.mark.parametrize("notional", [198.0, 202.0])
def test_a_notional_within_the_tolerance_is_accepted(notional: float) -> None:
    assert validate_order(_raw(notional=notional), now_ms=NOW).notional == notional
    assert _reject(_raw(notional=notional), notional_tolerance=0.005).reason == "notional_mismatch"


def test_the_time_limits_are_parameters() -> None:
    assert validate_order(_raw(timestamp=NOW + 5_000), now_ms=NOW).timestamp == NOW + 5_000
    assert validate_order(_raw(timestamp=NOW + 9_000), now_ms=NOW, max_future_skew_ms=9_000).timestamp
    assert validate_order(_raw(timestamp=NOW - DEFAULT_MAX_TRADE_AGE_MS), now_ms=NOW).timestamp
    assert _reject(_raw(timestamp=NOW - 60_001), max_age_ms=60_000).reason == "timestamp_too_old"


def test_a_timestamp_must_fit_the_schemas_long() -> None:
    """JSON can carry any integer; an Avro long cannot, and the clock checks need a double's range."""
    assert _reject(_raw(timestamp=2**63 - 1)).reason == "timestamp_in_future"
    assert _reject(_raw(timestamp=2**63)).reason == "bad_field_type"
    assert _reject(_raw(timestamp=-(2**63))).reason == "bad_field_type"  # a long, but not epoch milliseconds


def test_unknown_extra_fields_are_kept_in_the_record_and_ignored() -> None:
    assert validate_order(_raw(venueTag="x"), now_ms=NOW).record["venueTag"] == "x"


# --- every rejection, with its message ---------------------------------------------------------

REJECTIONS: list[tuple[str, dict[str, Any], str, str]] = [
    # (id, changes, reason, detail)
    ("missing", {"userId": None}, "missing_field", "missing required field 'userId'"),
    ("blank", {"orderId": "  "}, "bad_field_type", "field 'orderId' must be a non-empty string"),
    ("not-a-string", {"eventId": 17}, "bad_field_type", "field 'eventId' must be a non-empty string"),
    ("control", {"eventId": "E\x1f1"}, "control_characters", "field 'eventId' contains control characters"),
    (
        "too-long",
        {"eventId": "E" * 129},
        "field_too_long",
        "field 'eventId' is 129 characters long; at most 128 are allowed",
    ),
    ("price-zero", {"price": 0}, "price_not_positive", "field 'price' must be > 0, got 0"),
    ("price-negative", {"price": -1.0}, "price_not_positive", "field 'price' must be > 0, got -1.0"),
    ("price-nan", {"price": math.nan}, "bad_field_type", "field 'price' must be a finite number, got nan"),
    ("quantity-negative", {"quantity": -1.0}, "quantity_negative", "field 'quantity' must be >= 0, got -1.0"),
    ("quantity-inf", {"quantity": math.inf}, "bad_field_type", "field 'quantity' must be a finite number, got inf"),
    ("quantity-text", {"quantity": "2"}, "bad_field_type", "field 'quantity' must be a finite number, got '2'"),
    (
        "filled-negative",
        {"filledQuantity": -0.5},
        "filled_quantity_negative",
        "field 'filledQuantity' must be >= 0, got -0.5",
    ),
    (
        "filled-bool",
        {"filledQuantity": True},
        "bad_field_type",
        "field 'filledQuantity' must be a finite number, got True",
    ),
    ("filled-huge", {"filledQuantity": 10**400}, "bad_field_type", "field 'filledQuantity' is too large for a double"),
    ("notional-negative", {"notional": -200.0}, "notional_negative", "field 'notional' must be >= 0, got -200.0"),
    (
        "product",
        {"quantity": 1e300, "price": 1e300},
        "product_not_finite",
        "quantity 1e+300 x price 1e+300 overflows a double; send realistic values",
    ),
    (
        "implausible",
        {"quantity": 1e7, "price": 1e6, "notional": 1e13},
        "notional_implausible",
        "notional 10000000000000.0 USD is above the plausible maximum of 1,000,000,000,000 USD per order",
    ),
    ("side", {"side": "HOLD"}, "unknown_side", "field 'side' is 'HOLD'; expected one of BUY, SELL"),
    ("side-list", {"side": ["BUY"]}, "bad_field_type", "field 'side' must be a string, got ['BUY']"),
    (
        "order-type",
        {"orderType": "ICEBERG"},
        "unknown_order_type",
        "field 'orderType' is 'ICEBERG'; expected one of LIMIT, MARKET, STOP_LOSS, TAKE_PROFIT",
    ),
    (
        "event-type",
        {"eventType": "REPLACE"},
        "unknown_event_type",
        "field 'eventType' is 'REPLACE'; expected one of AMEND, CANCEL, FILL, NEW, PARTIAL_FILL",
    ),
    ("event-type-object", {"eventType": {}}, "bad_field_type", "field 'eventType' must be a string, got {}"),
    (
        "new-nothing-open",
        {"quantity": 0.0, "notional": 0.0},
        "quantity_not_positive",
        "eventType NEW must leave quantity (the order's open quantity) > 0, got 0.0",
    ),
    (
        "new-filled",
        {"filledQuantity": 1.0},
        "filled_quantity_not_zero",
        "eventType NEW must leave filledQuantity (the order's cumulative filled quantity) 0, got 1.0",
    ),
    (
        "amend-nothing-open",
        {"eventType": "AMEND", "quantity": 0.0, "notional": 0.0},
        "quantity_not_positive",
        "eventType AMEND must leave quantity (the order's open quantity) > 0, got 0.0",
    ),
    (
        "partial-nothing-open",
        {"eventType": "PARTIAL_FILL", "quantity": 0.0, "notional": 0.0, "filledQuantity": 2.0},
        "quantity_not_positive",
        "eventType PARTIAL_FILL must leave quantity (the order's open quantity) > 0, got 0.0",
    ),
    (
        "partial-nothing-filled",
        {"eventType": "PARTIAL_FILL"},
        "filled_quantity_not_positive",
        "eventType PARTIAL_FILL must leave filledQuantity (the order's cumulative filled quantity) > 0, got 0.0",
    ),
    (
        "fill-still-open",
        {"eventType": "FILL", "filledQuantity": 1.0},
        "quantity_not_zero",
        "eventType FILL must leave quantity (the order's open quantity) 0, got 2.0",
    ),
    (
        "fill-nothing-filled",
        {"eventType": "FILL", "quantity": 0.0, "notional": 0.0},
        "filled_quantity_not_positive",
        "eventType FILL must leave filledQuantity (the order's cumulative filled quantity) > 0, got 0.0",
    ),
    ("symbol", {"symbol": "BTCUSDT"}, "bad_symbol", "symbol 'BTCUSDT' is not BASE/QUOTE (e.g. BTC/USDT)"),
    (
        "symbol-assets",
        {"baseAsset": "ETH"},
        "bad_symbol",
        "symbol 'BTC/USDT' disagrees with baseAsset/quoteAsset 'ETH'/'USDT'",
    ),
    (
        "mismatch",
        {"notional": 400.0},
        "notional_mismatch",
        "notional 400.0 differs from quantity x price = 200.00 by more than 1%",
    ),
    (
        "future",
        {"timestamp": NOW + 3_600_000},
        "timestamp_in_future",
        f"timestamp {NOW + 3_600_000} is 3600 s in the future (allowed: 5 s)",
    ),
    (
        "future-micros",
        {"timestamp": NOW * 1_000},
        "timestamp_in_future",
        f"timestamp {NOW * 1_000} is {(NOW * 1_000 - NOW) / 1000:.0f} s in the future (allowed: 5 s); "
        f"{NOW * 1_000} looks like epoch microseconds; send epoch milliseconds",
    ),
    (
        "old-seconds",
        {"timestamp": NOW // 1_000},
        "timestamp_too_old",
        f"timestamp {NOW // 1_000} is 20,395 days old (allowed: 3,652 days); "
        f"{NOW // 1_000} looks like epoch seconds; send epoch milliseconds",
    ),
    (
        "timestamp-float",
        {"timestamp": float(NOW)},
        "bad_field_type",
        f"timestamp must be epoch milliseconds, got {float(NOW)!r}",
    ),
    (
        "timestamp-beyond-long",
        {"timestamp": 2**1100},
        "bad_field_type",
        "timestamp must be epoch milliseconds, got an integer of 1101 bits (at most 63 fit)",
    ),
    ("optional-type", {"sessionId": 5}, "bad_field_type", "field 'sessionId' must be a string or null"),
    ("country", {"country": "DEU"}, "bad_country", "country 'DEU' is not an ISO 3166 alpha-2 code"),
]


@pytest.mark.parametrize(("changes", "reason", "detail"), [r[1:] for r in REJECTIONS], ids=[r[0] for r in REJECTIONS])
def test_every_rejection_names_its_reason_and_what_to_fix(changes: dict[str, Any], reason: str, detail: str) -> None:
    error = _reject(_raw(**changes))
    assert (error.reason, error.detail) == (reason, detail)


def test_every_documented_reason_is_tested_and_every_tested_one_documented() -> None:
    """The reasons validate_order's part of the module docstring names, and the docs' "Order events"."""
    tested = {reason for _, _, reason, _ in REJECTIONS} | {"not_an_object"}
    docstring = validation.__doc__ or ""
    documented = set(re.findall(r"``([a-z]+(?:_[a-z]+)+)``", docstring[docstring.index(":func:`validate_order`") :]))
    assert documented == tested
    architecture = (Path(__file__).parents[2] / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = architecture[architecture.index("### Order events") : architecture.index("## 2. ")]
    assert {reason for reason in tested if f"`{reason}`" not in section} == set()


@pytest.mark.parametrize("raw", [["eventId", "E-1"], "E-1", None, 7])
def test_not_an_object_is_rejected(raw: Any) -> None:
    error = _reject(raw)
    assert (error.reason, error.detail) == ("not_an_object", f"expected a JSON object, got {type(raw).__name__}")


@pytest.mark.parametrize("name", REQUIRED)
def test_every_missing_required_field_is_named(name: str) -> None:
    error = _reject(_without(name))
    assert error.reason == "missing_field"
    assert error.detail == f"missing required field '{name}'"
    assert _reject(_raw(**{name: None})).reason == "missing_field"


@pytest.mark.parametrize(("field", "limit"), sorted(MAX_ORDER_FIELD_LENGTHS.items()))
def test_a_field_at_its_length_limit_is_accepted_and_one_longer_is_rejected(field: str, limit: int) -> None:
    assert validate_order(_raw(**{field: "x" * limit}), now_ms=NOW).record[field] == "x" * limit
    error = _reject(_raw(**{field: "x" * (limit + 1)}))
    assert error.reason == "field_too_long"
    assert f"'{field}' is {limit + 1} characters long; at most {limit}" in error.detail


def test_the_order_length_limits_are_the_trades() -> None:
    assert dict(MAX_ORDER_FIELD_LENGTHS) == {
        "eventId": MAX_FIELD_LENGTHS["tradeId"],
        **{name: MAX_FIELD_LENGTHS[name] for name in MAX_ORDER_FIELD_LENGTHS if name != "eventId"},
    }
    assert set(MAX_ORDER_FIELD_LENGTHS) == {
        "eventId", "orderId", "userId", "customerId", "exchange", "sessionId", "walletAddress", "ipAddress",
    }  # fmt: skip


def test_the_first_problem_found_is_reported_in_a_stable_order() -> None:
    assert _reject(_raw(userId=None, price=0)).reason == "missing_field"
    assert _reject(_raw(userId="U" * 129, price=0)).reason == "field_too_long"
    assert _reject(_raw(price=0, quantity=-1.0)).reason == "price_not_positive"
    assert _reject(_raw(quantity=-1.0, side="HOLD")).reason == "quantity_negative"
    assert _reject(_raw(quantity=1e300, price=1e300, side="HOLD")).reason == "product_not_finite"
    # The enums come before the event-type rules (which need eventType), those before the symbol.
    assert _reject(_raw(side="HOLD", eventType="REPLACE")).reason == "unknown_side"
    assert _reject(_raw(eventType="REPLACE", filledQuantity=1.0)).reason == "unknown_event_type"
    assert _reject(_raw(filledQuantity=1.0, symbol="BTCUSDT")).reason == "filled_quantity_not_zero"
    assert _reject(_raw(quantity=0.0, filledQuantity=1.0)).reason == "quantity_not_positive"
    assert _reject(_raw(symbol="BTCUSDT", notional=1.0)).reason == "bad_symbol"
    assert _reject(_raw(notional=1.0, timestamp=NOW + 3_600_000)).reason == "notional_mismatch"
    assert _reject(_raw(timestamp=1, country="usa")).reason == "timestamp_too_old"


def test_every_event_type_has_its_quantity_rules() -> None:
    assert set(QUANTITY_RULES) == set(EventType)
    assert QUANTITY_RULES[EventType.CANCEL] == (None, None)


def test_the_notional_of_every_usd_quoted_pair_is_checked() -> None:
    for quote in USD_QUOTE_ASSETS:
        raw = _raw(symbol=f"BTC/{quote}", quoteAsset=quote, notional=400.0)
        assert _reject(raw).reason == "notional_mismatch"


# --- one contract for both kinds of record -----------------------------------------------------

SHARED_PROBLEMS = [
    {"userId": None},
    {"customerId": "C\n1"},
    {"exchange": "X" * 33},
    {"price": -1.0},
    {"price": "100"},
    {"quantity": 1e300, "price": 1e300},
    {"side": "HOLD"},
    {"orderType": "market"},
    {"symbol": "BTC-USDT"},
    {"notional": 300.0},
    {"timestamp": NOW // 1_000},
    {"timestamp": NOW + 60_000},
    {"ipAddress": ["10.0.0.1"]},
    {"country": "usa"},
]


@pytest.mark.parametrize("changes", SHARED_PROBLEMS, ids=lambda c: ",".join(c))
def test_a_problem_of_a_field_both_contracts_share_is_reported_alike(changes: dict[str, Any]) -> None:
    trade = {name: value for name, value in _raw().items() if name not in ("eventId", "eventType", "filledQuantity")}
    trade["tradeId"] = "T-1"
    with pytest.raises(InvalidTrade) as info:
        validate_trade(trade | changes, now_ms=NOW)
    order_error = _reject(_raw(**changes))
    assert (order_error.reason, order_error.detail) == (info.value.reason, info.value.detail)


def test_trade_and_order_rejections_are_caught_alike() -> None:
    """A consumer of both topics handles a rejection by its reason and detail, whichever contract it broke."""
    for validate, raw in ((validate_trade, {"tradeId": "T-1"}), (validate_order, {"eventId": "E-1", "orderId": "O-1"})):
        with pytest.raises(InvalidRecord) as info:
            validate(raw, now_ms=NOW)
        assert (info.value.reason, info.value.detail) == ("missing_field", "missing required field 'userId'")
    assert not issubclass(InvalidOrder, InvalidTrade)
    assert not issubclass(InvalidTrade, InvalidOrder)


def test_the_validator_knows_exactly_the_schemas_fields() -> None:
    _, _, schema = FixedIdRegistry().versions(ORDERS_SUBJECT)[-1]
    fields = [f["name"] for f in schema["fields"]]
    assert sorted(fields) == sorted([*REQUIRED, *ORDER_OPTIONAL_STRINGS])
    assert [f["name"] for f in schema["fields"] if "default" in f] == list(ORDER_OPTIONAL_STRINGS)


# --- properties: generated valid events, through Avro and JSON ---------------------------------

IDS = st.text(st.characters(categories=("L", "N", "Pd")), min_size=1, max_size=24)
SIZES = st.floats(min_value=1e-6, max_value=1e5)
# The open and filled quantities each event type can leave (QUANTITY_RULES).
QUANTITIES: dict[str, tuple[st.SearchStrategy[float], st.SearchStrategy[float]]] = {
    "NEW": (SIZES, st.just(0.0)),
    "AMEND": (SIZES, st.just(0.0) | SIZES),
    "CANCEL": (st.just(0.0) | SIZES, st.just(0.0) | SIZES),
    "PARTIAL_FILL": (SIZES, SIZES),
    "FILL": (st.just(0.0), SIZES),
}


@st.composite
def valid_orders(draw: st.DrawFn) -> dict[str, Any]:
    event_type = draw(st.sampled_from(sorted(QUANTITIES)))
    quantity, filled = (draw(strategy) for strategy in QUANTITIES[event_type])
    price = draw(st.floats(min_value=1e-6, max_value=1e6))
    base, quote = draw(st.sampled_from(["BTC", "SOL", "1INCH"])), draw(st.sampled_from(["USDT", "USD", "BTC", "EUR"]))
    usd_quoted = quote in USD_QUOTE_ASSETS
    notional = quantity * price if usd_quoted else draw(st.floats(min_value=0.0, max_value=1e9))
    optional = st.none() | IDS
    return {
        "eventId": draw(IDS),
        "orderId": draw(IDS),
        "userId": draw(IDS),
        "customerId": draw(IDS),
        "symbol": f"{base}/{quote}",
        "baseAsset": base,
        "quoteAsset": quote,
        "side": draw(st.sampled_from(["BUY", "SELL"])),
        "orderType": draw(st.sampled_from(["MARKET", "LIMIT", "STOP_LOSS", "TAKE_PROFIT"])),
        "eventType": event_type,
        "price": price,
        "quantity": quantity,
        "filledQuantity": filled,
        "notional": notional,
        "timestamp": draw(st.integers(NOW - DEFAULT_MAX_TRADE_AGE_MS, NOW + 5_000)),
        "exchange": draw(st.sampled_from(["BINANCE", "KRAKEN"])),
        "walletAddress": draw(optional),
        "ipAddress": draw(st.none() | st.sampled_from(["10.0.0.1", "2001:db8::1"])),
        "country": draw(st.none() | st.sampled_from(["DE", "US", "KP"])),
        "sessionId": draw(optional),
    }


@settings(max_examples=500, deadline=None)
@given(raw=valid_orders())
def test_generated_valid_orders_validate(raw: dict[str, Any]) -> None:
    order = validate_order(raw, now_ms=NOW)
    assert (order.event_id, order.user_id, order.event_type) == (raw["eventId"], raw["userId"], raw["eventType"])
    assert (order.quantity, order.filled_quantity, order.notional) == (
        raw["quantity"],
        raw["filledQuantity"],
        raw["notional"],
    )
    assert order.record == raw


@settings(max_examples=300, deadline=None)
@given(raw=valid_orders())
def test_an_order_through_avro_is_the_same_order(raw: dict[str, Any]) -> None:
    value = CODEC.encode(ORDERS_SUBJECT, raw)
    decoded = CODEC.decode(ORDERS_SUBJECT, value)
    content = CODEC.canonical_body(ORDERS_SUBJECT, value, decoded)
    through_avro = validate_order(decoded, now_ms=NOW, arrival="a", content=content)
    direct = validate_order(raw, now_ms=NOW, arrival="a", content=content)
    assert through_avro == direct
    assert through_avro.record == direct.record


@settings(max_examples=300, deadline=None)
@given(raw=valid_orders())
def test_an_order_through_the_json_fallback_is_the_same_order(raw: dict[str, Any]) -> None:
    decoded = CODEC.decode(ORDERS_SUBJECT, json.dumps(raw).encode())
    through_json = validate_order(decoded, now_ms=NOW)
    assert through_json == validate_order(raw, now_ms=NOW)
    # Both copies have the same canonical body, as the ledger's redelivery check needs.
    body = CODEC.canonical_body(ORDERS_SUBJECT, json.dumps(raw).encode(), decoded)
    assert body == CODEC.encode(ORDERS_SUBJECT, raw)[5:]


def test_a_hand_written_json_order_is_judged_by_the_validator() -> None:
    """The JSON fallback applies no schema: a bad order reaches the validator, which says why."""
    value = json.dumps(_raw(eventType="FILL")).encode()
    assert _reject(CODEC.decode(ORDERS_SUBJECT, value)).reason == "quantity_not_zero"


ODD = st.sampled_from([None, True, 0, -1, 0.0, -0.0, math.nan, math.inf, [], {}, ["a"], 2**1100, "", "\x00", "x" * 200])
ANY_VALUE = ODD | st.text(max_size=8) | st.floats() | st.integers() | st.sampled_from(sorted(EventType))


@settings(max_examples=1000, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(REQUIRED + list(ORDER_OPTIONAL_STRINGS)), ANY_VALUE, max_size=4))
def test_any_record_is_an_order_event_or_an_invalid_order(changes: dict[str, Any]) -> None:
    """Whatever a producer sends, the validator answers: an OrderEvent or InvalidOrder, never a crash."""
    try:
        order = validate_order(_raw(**changes), now_ms=NOW)
    except InvalidOrder as error:
        assert error.reason
        assert error.detail
    else:
        assert order.quantity >= 0 and order.filled_quantity >= 0 and order.price > 0
