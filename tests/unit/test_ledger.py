"""The trade ledger's entries: they read back bit for bit, name their trade, and refuse what they cannot read."""

from __future__ import annotations

import io
import json

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskengine.codec import TRADES_SUBJECT, AvroCodec, FixedIdRegistry
from riskengine.ledger import LEDGER_SLOTS, LedgerEntry, LedgerFormatError, fingerprint, ledger_key
from riskengine.model import arrival_key
from riskengine.scoring import NO_BASELINE, Baseline

ALERT = {"alertId": "a1", "patternType": "RAPID_BURST", "metrics": {"tradeCount": 21.0}, "triggeredEvents": ["t1"]}

finite = st.floats(allow_nan=False, allow_infinity=False)


@given(
    arrival=st.builds(arrival_key, st.integers(0, 1000), st.integers(0, 10**12)),
    late=st.booleans(),
    baseline=st.builds(Baseline, st.integers(0, 20), finite, finite),
    cents=st.integers(0, 10**17),
    strengths=st.dictionaries(st.sampled_from(["RAPID_BURST", "FLASH_CRASH"]), st.floats(0, 1)),
    alert_ids=st.lists(st.text("0123456789abcdef", min_size=32, max_size=32), max_size=3),
    with_alert=st.booleans(),
    order_book=st.one_of(st.just(0.0), st.floats(0, 1)),
)
def test_an_entry_reads_back_exactly(
    arrival: str,
    late: bool,
    baseline: Baseline,
    cents: int,
    strengths: dict[str, float],
    alert_ids: list[str],
    with_alert: bool,
    order_book: float,
) -> None:
    alerts = [ALERT] if with_alert else []
    entry = LedgerEntry(arrival, "0123456789abcdef", late, baseline, cents, strengths, alert_ids, alerts, order_book)
    decoded = LedgerEntry.decode(entry.encode().encode())
    assert decoded.arrival == arrival and decoded.late is late and decoded.market_volume_cents == cents
    assert repr(decoded.baseline) == repr(baseline)  # bit for bit, signs of zeros included
    assert dict(decoded.strengths) == strengths
    assert list(decoded.alert_ids) == alert_ids
    assert list(decoded.alerts) == alerts
    assert decoded.order_book == order_book


def test_an_entry_written_before_order_book_signals_still_reads() -> None:
    entry = LedgerEntry.decode(f"{arrival_key(3, 1234)}\x1ffeedfacecafebeef\x1f\x1f0,0.0,0.0\x1f0\x1f")
    assert entry.order_book == 0.0 and entry.market_volume_cents == 0


def test_an_entry_without_patterns_is_short() -> None:
    entry = LedgerEntry(arrival_key(3, 1234), "feedfacecafebeef", False, NO_BASELINE, 0)
    assert len(entry.encode()) < 60
    assert "{" not in entry.encode()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a\x1fb",
        "x\x1ffp\x1f\x1fnot,a,baseline\x1f0\x1f",
        "x\x1ffp\x1f\x1f1,2,3\x1f0\x1f[1]",
        "x\x1ffp\x1f\x1f1,2,3\x1f0\x1f\x1f0.5\x1fextra",
    ],
)
def test_an_entry_this_version_cannot_read_is_refused(text: str) -> None:
    with pytest.raises(LedgerFormatError):
        LedgerEntry.decode(text)


def test_copies_of_a_trade_share_a_fingerprint_however_they_were_encoded() -> None:
    codec = AvroCodec(FixedIdRegistry())
    trade = {
        "tradeId": "T", "userId": "U", "customerId": "C", "symbol": "BTC/USDT", "baseAsset": "BTC",
        "quoteAsset": "USDT", "side": "BUY", "orderType": "LIMIT", "quantity": 1.0, "price": 2.0,
        "notional": 2.0, "timestamp": 1_763_900_000_000, "exchange": "BINANCE",
    }  # fmt: skip
    avro = codec.encode(TRADES_SUBJECT, trade)
    as_json = json.dumps(trade | {"quantity": 1, "padding": "x" * 100}).encode()  # an int, an unknown field
    older = io.BytesIO()  # written with v1 of the schema
    older.write(b"\x00" + (1).to_bytes(4, "big"))
    fastavro.schemaless_writer(older, codec.registry.schema_for_id(1), trade)
    values = (avro, as_json, older.getvalue())
    bodies = {codec.canonical_body(TRADES_SUBJECT, value, codec.decode(TRADES_SUBJECT, value)) for value in values}
    assert len(bodies) == 1
    assert codec.canonical_body(TRADES_SUBJECT, avro, {}) == avro[5:]  # the latest schema's own body, not re-encoded
    other = codec.encode(TRADES_SUBJECT, trade | {"country": "US"})
    assert fingerprint(avro[5:]) != fingerprint(other[5:])
    assert len(fingerprint(avro[5:])) == 16


def test_ledger_keys_spread_over_a_bounded_number_of_hash_tags() -> None:
    tags = {ledger_key(f"trade-{i}").split("}")[0] for i in range(5_000)}
    assert len(tags) == LEDGER_SLOTS
    assert ledger_key("T-1").endswith(":T-1") and ledger_key("T-1").startswith("rk:v2:{t:")


def test_order_events_have_a_ledger_key_space_of_their_own() -> None:
    trade_key, order_key = ledger_key("E-1"), ledger_key("E-1", order_event=True)
    assert trade_key != order_key and order_key.endswith(":o:E-1")
    assert trade_key.split("}")[0] == order_key.split("}")[0]  # same hash tag: no extra slot per batch
