"""The four ways live delivery hid abuse (issue 8), replayed with `riskengine replay` at batch 10 and 1,000.

Each stream is sparse background flow with one injected episode, fed in file order (file order is
arrival order). Each must raise its alert however the file is cut into batches.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from builders import BASE_TS, normal_flow, sell_run, trade

from riskengine_tools.local import EmbeddedRedis
from riskengine_tools.local.replay import replay

pytestmark = pytest.mark.integration

START = 40_000  # the episodes start 40 s into the background flow
FOUR_MINUTES = 240_000


def background(*, avoid: tuple[str, str] | None = None, avoid_user: str | None = None) -> list[dict[str, Any]]:
    """Two minutes of simulated flow from 100 users, none on the episode's market or by its user."""
    flow = normal_flow(seed=5, start_ms=BASE_TS, count=2_400)
    return [t for t in flow if (t["symbol"], t["exchange"]) != avoid and t["userId"] != avoid_user]


def in_file_order(flow: list[dict[str, Any]], injected: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """``flow`` with each injected trade placed where the flow reaches the given event time (ms after BASE_TS)."""
    lines = [(t["timestamp"] - BASE_TS, 0, i, t) for i, t in enumerate(flow)]
    lines += [(arrives_at, 1, i, t) for i, (arrives_at, t) in enumerate(injected)]
    return [t for *_, t in sorted(lines, key=lambda line: line[:3])]


def future_stamp_blinds_a_user() -> tuple[list[dict[str, Any]], str, str]:
    """One trade stamped 4 minutes ahead, then 25 trades within 8 s: a burst."""
    ahead = trade("fut-0", user="U-FUT", symbol="SOL/USDT", quantity=1.0, price=150.0, at=START + FOUR_MINUTES)
    burst = [
        trade(
            f"fut-{i + 1:02d}", user="U-FUT", symbol="SOL/USDT", quantity=1.0, price=150.0, at=START + 1_000 + i * 320
        )
        for i in range(25)
    ]
    injected = [(START, ahead)] + [(t["timestamp"] - BASE_TS, t) for t in burst]
    return in_file_order(background(avoid_user="U-FUT"), injected), "RAPID_BURST", "U-FUT"


def future_stamp_blinds_a_market() -> tuple[list[dict[str, Any]], str, str]:
    """A BUY stamped 4 minutes ahead on DOT/USDT@KRAKEN, then 12 SELLs from 12 users within 24 s."""
    market = ("DOT/USDT", "KRAKEN")
    ahead = trade("dot-buy", user="U-DOT-B", symbol="DOT/USDT", exchange="KRAKEN", at=START + FOUR_MINUTES)
    sells = [
        trade(
            f"dot-{i:02d}", user=f"U-DOT-{i}", symbol="DOT/USDT", exchange="KRAKEN", side="SELL", at=START + i * 2_000
        )
        for i in range(1, 13)
    ]
    injected = [(START, ahead)] + [(t["timestamp"] - BASE_TS, t) for t in sells]
    return in_file_order(background(avoid=market), injected), "FLASH_CRASH", "DOT/USDT@KRAKEN"


def same_millisecond_legs() -> tuple[list[dict[str, Any]], str, str]:
    """BUY, SELL, BUY at the same millisecond, in that arrival order, with trade ids that sort otherwise."""
    legs = [
        trade("wash-z", user="U-SAME", symbol="ETH/USDT", side="BUY", quantity=2.0, price=3_000.0, at=START),
        trade("wash-a", user="U-SAME", symbol="ETH/USDT", side="SELL", quantity=2.0, price=3_000.0, at=START),
        trade("wash-m", user="U-SAME", symbol="ETH/USDT", side="BUY", quantity=2.0, price=3_000.0, at=START),
    ]
    assert sorted(t["tradeId"] for t in legs) != [t["tradeId"] for t in legs]
    return in_file_order(background(avoid_user="U-SAME"), [(START, t) for t in legs]), "WASH_TRADING", "U-SAME"


def lagging_partition_hides_a_crash() -> tuple[list[dict[str, Any]], str, str]:
    """12 SELLs 1.5 s apart on ADA/USDT@OKX; the later six arrive first, the earlier six 20 s later."""
    market = ("ADA/USDT", "OKX")
    sells = sell_run("ada-", symbol="ADA/USDT", exchange="OKX", at=START, count=12, every_ms=1_500, price_step=0.002)
    on_time = [(t["timestamp"] - BASE_TS, t) for t in sells[6:]]
    lagging = [(t["timestamp"] - BASE_TS + 20_000 + 9_000, t) for t in sells[:6]]  # 20 s after the last on-time one
    return in_file_order(background(avoid=market), on_time + lagging), "FLASH_CRASH", "ADA/USDT@OKX"


CASES = {
    "one future-stamped trade blinds a user": future_stamp_blinds_a_user,
    "one future-stamped trade blinds a market": future_stamp_blinds_a_market,
    "same-millisecond legs are ordered by arrival": same_millisecond_legs,
    "a lagging partition hides a flash crash": lagging_partition_hides_a_crash,
}


@pytest.fixture
def empty_redis(redis_server: EmbeddedRedis) -> Iterator[str]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    yield redis_server.url


@pytest.mark.parametrize("batch_size", [10, 1_000])
@pytest.mark.parametrize("case", list(CASES))
def test_live_delivery_case_is_detected(tmp_path: Path, empty_redis: str, case: str, batch_size: int) -> None:
    trades, pattern, subject = CASES[case]()
    source = tmp_path / "trades.jsonl"
    source.write_text("".join(json.dumps(t) + "\n" for t in trades))
    report = replay(source, tmp_path / "out", redis_url=empty_redis, batch_size=batch_size)
    assert report.rejected == 0
    alerts = [json.loads(line) for line in (tmp_path / "out" / "alerts.jsonl").read_text().splitlines()]
    found = [a for a in alerts if a["patternType"] == pattern and subject in (a["userId"], _market(a))]
    assert len(found) == 1, [(a["patternType"], a["userId"], a["triggeredEvents"]) for a in alerts]
    analyzed = [json.loads(line) for line in (tmp_path / "out" / "analyzed.jsonl").read_text().splitlines()]
    assert not any(a["lateEvent"] for a in analyzed if a["originalTrade"]["tradeId"] in found[0]["triggeredEvents"])


def _market(alert: dict[str, Any]) -> str:
    return f"{alert['symbol']}@{alert['exchange']}"
