"""``riskengine replay`` of mixed files through both handlers: order lines reach score_orders, trade lines
score_trades, in file order, and both write into the same three files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from builders import order, trade

from riskengine_tools.local.replay import replay

pytestmark = pytest.mark.integration


def mixed_lines() -> list[dict[str, Any]]:
    """A trade alert before the first order line, order events (one only an order validator rejects) and a
    trade alert after them: what each handler wrote must survive the other's writes."""
    return [
        trade("big-1", user="WHALE", quantity=10.0, price=60_000.0, at=0),  # LARGE_ORDER: 600,000 USD
        {"kind": "order", **order("ev-1", "NEW", user="QUOTER", quantity=1.0, price=60_000.0, at=1_000)},
        {"kind": "order", **order("ev-2", "REPLACE", user="QUOTER", quantity=1.0, price=60_000.0, at=2_000)},
        {"kind": "trade", **trade("n-1", user="N1", quantity=0.1, price=60_000.0, at=3_000)},
        {"kind": "order", **order("ev-3", "CANCEL", user="QUOTER", quantity=0.0, price=60_000.0, at=4_000)},
        trade("big-2", user="WHALE2", quantity=12.0, price=60_000.0, at=5_000),  # LARGE_ORDER: 720,000 USD
    ]


def write_jsonl(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("batch_size", [1, 1_000])
def test_order_lines_reach_score_orders_and_both_handlers_results_share_the_files(
    tmp_path: Path, batch_size: int
) -> None:
    source = write_jsonl(tmp_path / "mixed.jsonl", mixed_lines())

    report = replay(source, tmp_path / "out", batch_size=batch_size)  # on a fresh embedded Redis

    assert (report.lines, report.orders, report.orders_evaluated) == (6, 3, True)
    out = tmp_path / "out"
    assert [a["triggeredEvents"] for a in read_jsonl(out / "alerts.jsonl")] == [["big-1"], ["big-2"]]
    # Order events raise alerts but have no analysed record of their own.
    assert [r["originalTrade"]["tradeId"] for r in read_jsonl(out / "analyzed.jsonl")] == ["big-1", "n-1", "big-2"]
    (rejected,) = read_jsonl(out / "rejected.jsonl")
    # Only the order validator knows event types: the trade validator would have missed tradeId first.
    assert (rejected["lineNumber"], rejected["reason"]) == (3, "unknown_event_type")
    assert (report.analyzed, report.alerts, report.rejected) == (3, 2, 1)


def test_replaying_a_mixed_file_again_into_the_same_directory_gives_the_same_files(tmp_path: Path) -> None:
    """Both sinks append; the replay empties the files first, so a second run leaves no line of the first."""
    source = write_jsonl(tmp_path / "mixed.jsonl", mixed_lines())
    out = tmp_path / "out"
    files = ("analyzed.jsonl", "alerts.jsonl", "rejected.jsonl")
    volatile = ("processedAt", "detectedAt")
    runs = []
    for _ in range(2):
        replay(source, out)
        runs.append(
            {
                name: [{k: v for k, v in record.items() if k not in volatile} for record in read_jsonl(out / name)]
                for name in files
            }
        )
    assert runs[0] == runs[1]
    assert [len(runs[1][name]) for name in files] == [3, 2, 1]


def spoof_lines(*, trade_after_cancel: bool) -> list[dict[str, Any]]:
    """A bait of 1,500,000 USD (SPOOFER's first order: the 100,000 USD floor applies), a small sell of the same
    user on the same market 4 s later, the bait cancelled unfilled at 7 s; optionally the sell comes in the
    file after the cancel (its own topic lagging), still stamped between placement and cancel."""
    bait = {"order_id": "bait-1", "user": "SPOOFER", "side": "BUY", "price": 60_000.0}
    sell = {"kind": "trade", **trade("opp-1", user="SPOOFER", side="SELL", quantity=0.1, price=60_000.0, at=5_000)}
    lines = [
        trade("n-1", user="N1", quantity=0.1, price=60_000.0, at=0),
        {"kind": "order", **order("ev-s1", "NEW", quantity=25.0, at=1_000, **bait)},
        sell,
        {"kind": "order", **order("ev-s2", "CANCEL", quantity=0.0, at=8_000, **bait)},
    ]
    if trade_after_cancel:
        lines.remove(sell)
        lines.append(sell)
    return lines


@pytest.mark.parametrize("trade_after_cancel", [False, True])
@pytest.mark.parametrize("batch_size", [1, 1_000])
def test_a_spoof_in_a_mixed_file_comes_out_as_a_spoofing_alert(
    tmp_path: Path, batch_size: int, trade_after_cancel: bool
) -> None:
    source = write_jsonl(tmp_path / "spoof.jsonl", spoof_lines(trade_after_cancel=trade_after_cancel))

    report = replay(source, tmp_path / "out", batch_size=batch_size)

    (alert,) = read_jsonl(tmp_path / "out" / "alerts.jsonl")
    assert (alert["patternType"], alert["userId"], alert["symbol"]) == ("SPOOFING", "SPOOFER", "BTC/USDT")
    assert set(alert["triggeredEvents"]) == {"ev-s1", "ev-s2", "opp-1"}  # the order's events and the sell
    assert (report.analyzed, report.alerts, report.rejected) == (2, 1, 0)
