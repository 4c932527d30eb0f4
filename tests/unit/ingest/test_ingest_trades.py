"""POST /trades: the scorer's validation, all or nothing, defaults, limits and error shapes."""

from __future__ import annotations

import json
import time
from types import ModuleType
from typing import Any

import pytest
from ingest_fakes import FakeProducer, Invoke

from riskengine.codec import RegistryUnavailable
from riskengine.errors import InvalidTrade, SinkError
from riskengine.settings import Settings
from riskengine.validation import validate_trade
from riskengine_tools.local.api_server import proxy_event
from riskengine_tools.local.bridge import LocalContext


def _trade(**changes: Any) -> dict[str, Any]:
    trade: dict[str, Any] = {
        "tradeId": "T-1",
        "userId": "USER_1",
        "customerId": "CUST_1",
        "symbol": "BTC/USDT",
        "baseAsset": "BTC",
        "quoteAsset": "USDT",
        "side": "BUY",
        "orderType": "LIMIT",
        "quantity": 0.5,
        "price": 90_000.0,
        "notional": 45_000.0,
        "timestamp": int(time.time() * 1000) - 1_000,
        "exchange": "BINANCE",
    }
    return trade | changes


def _without(*names: str, **changes: Any) -> dict[str, Any]:
    trade = _trade(**changes)
    for name in names:
        del trade[name]
    return trade


def test_one_trade_is_written_as_sent_and_answered_with_its_id(invoke: Invoke, producer: FakeProducer) -> None:
    trade = _trade(country="DE")
    status, _, body = invoke("POST", "/trades", trade)
    assert status == 202
    assert body == {"accepted": 1, "topic": "crypto-trades", "tradeIds": ["T-1"]}
    [written] = producer.sent
    assert written == validate_trade(trade, now_ms=int(time.time() * 1000)).record


def test_a_list_is_written_and_answered_in_request_order(invoke: Invoke, producer: FakeProducer) -> None:
    trades = [_trade(tradeId=f"T-{n}", userId=f"USER_{n % 3}") for n in (3, 1, 2)]
    status, _, body = invoke("POST", "/trades", trades)
    assert status == 202
    assert body["tradeIds"] == ["T-3", "T-1", "T-2"]
    assert [trade["tradeId"] for trade in producer.sent] == ["T-3", "T-1", "T-2"]


def test_server_side_defaults_fill_only_what_is_absent(invoke: Invoke, producer: FakeProducer) -> None:
    minimal = _without("tradeId", "timestamp", "notional", "baseAsset", "quoteAsset", quantity=0.25)
    before = int(time.time() * 1000)
    status, _, body = invoke("POST", "/trades", [minimal, dict(minimal, tradeId=None)])
    after = int(time.time() * 1000)
    assert status == 202
    first, second = producer.sent
    assert body["tradeIds"] == [first["tradeId"], second["tradeId"]]
    assert first["tradeId"].startswith("api-") and first["tradeId"] != second["tradeId"]
    assert before <= first["timestamp"] <= after
    assert (first["notional"], first["baseAsset"], first["quoteAsset"]) == (22_500.0, "BTC", "USDT")


def test_values_sent_are_never_replaced_by_defaults(invoke: Invoke, producer: FakeProducer) -> None:
    sent = _trade(notional=45_100.0, timestamp=1_700_000_000_000)
    assert invoke("POST", "/trades", sent)[0] == 202
    assert {name: producer.sent[0][name] for name in sent} == sent


BAD_TRADES = {
    "missing_field": _without("userId"),
    "bad_field_type": _trade(quantity="1"),
    "bool is not a number": _trade(price=True),
    "quantity_not_positive": _trade(quantity=0),
    "price_not_positive": _trade(price=-1.0),
    "notional_mismatch": _trade(notional=50_000.0),
    "unknown_side": _trade(side="HOLD"),
    "unknown_order_type": _trade(orderType="ICEBERG"),
    "bad_symbol": _trade(symbol="BTCUSDT"),
    "symbol disagrees with assets": _trade(baseAsset="ETH"),
    "bad_country": _trade(country="Germany"),
    "control_characters": _trade(userId="USER\x1f1"),
    "timestamp_in_future": _trade(timestamp=int(time.time() * 1000) + 3_600_000),
    "timestamp not epoch ms": _trade(timestamp="2025-11-23T10:00:00Z"),
    "timestamp_too_old": _trade(timestamp=int(time.time())),  # epoch seconds
    "field_too_long": _trade(userId="U" * 129),
    "product_not_finite": _trade(quantity=1e300, price=1e300),
    "empty string": _trade(exchange=" "),
    "optional not a string": _trade(walletAddress=42),
    "not_an_object": "T-1",
}


@pytest.mark.parametrize("trade", BAD_TRADES.values(), ids=BAD_TRADES.keys())
def test_what_the_scorer_would_dead_letter_is_refused_with_its_reason(
    invoke: Invoke, producer: FakeProducer, trade: Any
) -> None:
    # The scorer judges with its configured skew (MAX_FUTURE_SKEW_MS), not validate_trade's default.
    skew_ms = Settings.from_env().max_future_skew_ms
    with pytest.raises(InvalidTrade) as scorer:
        validate_trade(trade, now_ms=int(time.time() * 1000), max_future_skew_ms=skew_ms)
    status, _, body = invoke("POST", "/trades", [trade])
    assert status == 400
    assert body["errors"] == [
        {"index": 0, "tradeId": _trade_id(trade), "reason": scorer.value.reason, "detail": scorer.value.detail}
    ]
    assert producer.sent == []


def test_the_scorers_configured_age_and_skew_limits_apply(
    invoke: Invoke, producer: FakeProducer, handler: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(max_future_skew_ms=60_000, max_trade_age_ms=60_000)
    monkeypatch.setattr(handler, "_settings", lambda: settings)
    now = int(time.time() * 1000)
    status, _, body = invoke("POST", "/trades", [_trade(timestamp=now - 3_600_000)])
    assert (status, body["errors"][0]["reason"]) == (400, "timestamp_too_old")
    assert "(allowed: 60 s)" in body["errors"][0]["detail"]
    # 30 s ahead: beyond the default 5 s, within the configured 60 s.
    assert invoke("POST", "/trades", [_trade(timestamp=now + 30_000)])[0] == 202
    assert len(producer.sent) == 1


def _trade_id(trade: Any) -> str | None:
    return trade.get("tradeId") if isinstance(trade, dict) else None


def test_every_bad_trade_is_listed_by_index_and_nothing_is_written(invoke: Invoke, producer: FakeProducer) -> None:
    trades = [_trade(tradeId="A"), _trade(tradeId="B", side="HOLD"), _trade(tradeId="C"), _without("price")]
    status, _, body = invoke("POST", "/trades", trades)
    assert status == 400
    assert body["message"] == "2 of 4 trades are invalid; nothing was written. Fix them and resend all."
    assert [(e["index"], e["tradeId"], e["reason"]) for e in body["errors"]] == [
        (1, "B", "unknown_side"),
        (3, "T-1", "missing_field"),
    ]
    assert producer.sent == []


def test_a_single_bad_object_is_trade_zero(invoke: Invoke) -> None:
    status, _, body = invoke("POST", "/trades", _trade(quantity=-1))
    assert status == 400
    assert [(e["index"], e["reason"]) for e in body["errors"]] == [(0, "quantity_not_positive")]


@pytest.mark.parametrize(
    ("trades", "reason", "index"),
    [
        ([_trade(tradeId="X"), _trade(tradeId="Y"), _trade(tradeId="X")], "duplicate_trade_id", 2),
        ([_trade(counterpartyUserID="USER_2")], "unknown_field", 0),
        ([_trade(quantity=10**400)], "bad_field_type", 0),
        ([_trade(quantity=10**400, notional=None)], "bad_field_type", 0),
    ],
    ids=["duplicate id", "misspelt optional field", "integer beyond a double", "same, notional to derive"],
)
def test_the_api_refuses_more_than_the_scorer(
    invoke: Invoke, producer: FakeProducer, trades: list[dict[str, Any]], reason: str, index: int
) -> None:
    status, _, body = invoke("POST", "/trades", trades)
    assert status == 400
    assert [(e["index"], e["reason"]) for e in body["errors"]] == [(index, reason)]
    assert producer.sent == []


def test_a_request_may_hold_at_most_500_trades(invoke: Invoke, producer: FakeProducer) -> None:
    trades = [_trade(tradeId=f"T-{n}") for n in range(501)]
    status, _, body = invoke("POST", "/trades", trades)
    assert status == 400
    assert body["errors"] == [
        {
            "index": None,
            "tradeId": None,
            "reason": "too_many_trades",
            "detail": "501 trades in one request; at most 500: split it into several requests",
        }
    ]
    assert producer.sent == []
    assert invoke("POST", "/trades", trades[:500])[0] == 202
    assert len(producer.sent) == 500


def test_an_empty_list_is_refused(invoke: Invoke) -> None:
    status, _, body = invoke("POST", "/trades", [])
    assert status == 400
    assert [e["reason"] for e in body["errors"]] == ["empty_request"]


@pytest.mark.parametrize(
    ("raw", "message"), [(b"{not json", "the body is not valid JSON"), (b"", "the body is empty: send JSON")]
)
def test_an_unreadable_body_is_a_400_with_the_same_shape(invoke: Invoke, raw: bytes, message: str) -> None:
    status, _, body = invoke("POST", "/trades", raw=raw)
    assert (status, body) == (400, {"message": message, "errors": []})


@pytest.mark.parametrize("error", [SinkError("flush timed out"), RegistryUnavailable("registry down")])
def test_kafka_or_registry_trouble_is_a_503_that_says_to_retry(
    invoke: Invoke, producer: FakeProducer, error: Exception
) -> None:
    producer.error = error
    status, headers, body = invoke("POST", "/trades", _trade())
    assert status == 503
    assert headers["Retry-After"] == "5"
    assert str(error) in body["message"] and "Send the same request again" in body["message"]


def test_an_unknown_path_is_a_404_naming_the_docs(invoke: Invoke) -> None:
    status, _, body = invoke("GET", "/trades/T-1")
    assert status == 404
    assert body == {"message": "no endpoint GET /trades/T-1: see /docs/ingest"}


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain"])
@pytest.mark.parametrize("path", ["/trades", "/simulation/start"])
def test_a_body_not_sent_as_json_is_a_415_that_says_how(
    handler: ModuleType, producer: FakeProducer, control: Any, path: str, content_type: str
) -> None:
    # curl -d without -H sends exactly this: JSON text labelled as a form.
    event = proxy_event("POST", path, [("Content-Type", content_type)], json.dumps(_trade()).encode(), "127.0.0.1")
    result = handler.lambda_handler(event, LocalContext())
    assert result["statusCode"] == 415
    assert "Content-Type: application/json" in json.loads(result["body"])["message"]
    assert producer.sent == []
