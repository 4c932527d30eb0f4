"""The installed ``riskengine`` console script, run as a user would: help, replay (against the
session's redis-server) and the demo (on its own embedded services)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from builders import normal_flow

from riskengine_tools.local import EmbeddedRedis

pytestmark = pytest.mark.integration

RISKENGINE = Path(sys.executable).parent / "riskengine"
# Wide, colourless output so tables and help text are not wrapped or styled.
CLI_ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
BASE_TS = 1_763_900_000_000
SIMULATED_TRADES = 300
DEMO_TRADES = 3_000


def riskengine(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RISKENGINE), *args], capture_output=True, text=True, timeout=timeout, env=CLI_ENV, check=False
    )


# --- help -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "mentions"),
    [
        ((), ("demo", "replay", "backtest", "simulate", "--version", "--help")),
        (
            ("demo",),
            (
                "--trades",
                "--users",
                "--seed",
                "--batch-size",
                "--batching-window-ms",
                "--partitions",
                "--redis-url",
                "--bootstrap-servers",
                "--verbose",
            ),
        ),
        (("replay",), ("FILE", "--out", "--redis-url", "--batch-size", "alerts.jsonl", '"kind": "order"')),
        (("backtest",), ("FILE", "--labels", "--rules", "--json", "--batch-size", "precision", "recall")),
        (("simulate",), ("--out", "--seed", "--minutes", "--users", "stream.jsonl", "labels.jsonl")),
        (("redrive",), ("--bootstrap-servers", "--failure-topic", "--target", "--dry-run", "--from-beginning")),
        (("open-gates",), ("REDIS_URL", "REDIS_CLUSTER", "upgrading")),
    ],
)
def test_help_exits_zero_and_lists_the_options(command: tuple[str, ...], mentions: tuple[str, ...]) -> None:
    result = riskengine(*command, "--help")
    assert result.returncode == 0, result.stderr
    missing = [word for word in mentions if word.lower() not in result.stdout.lower()]
    assert not missing, result.stdout


# --- replay ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TradesFile:
    path: Path
    valid: dict[str, dict[str, Any]]  # tradeId -> trade, as written
    bad: dict[int, tuple[str, str]]  # 1-based line number -> (line, expected reason)
    wash_ids: list[str]

    @property
    def lines(self) -> int:
        return len(self.valid) + len(self.bad)


def simulated_trades() -> list[dict[str, Any]]:
    return normal_flow(5, BASE_TS, SIMULATED_TRADES)


def wash_sequence() -> list[dict[str, Any]]:
    """BUY, SELL, BUY of near-equal size on one symbol within seconds: WASH_TRADING."""
    return [
        {
            "tradeId": f"wash-{i}",
            "userId": "WASHER",
            "customerId": "C-WASHER",
            "symbol": "SOL/USDT",
            "baseAsset": "SOL",
            "quoteAsset": "USDT",
            "side": side,
            "orderType": "LIMIT",
            "quantity": quantity,
            "price": 150.0,
            "notional": quantity * 150.0,
            "timestamp": BASE_TS + 5_000 + i * 1_000,
            "exchange": "BINANCE",
        }
        for i, (side, quantity) in enumerate((("BUY", 10.0), ("SELL", 10.5), ("BUY", 10.0)))
    ]


@pytest.fixture(scope="module")
def trades_file(tmp_path_factory: pytest.TempPathFactory) -> TradesFile:
    wash = wash_sequence()
    trades = sorted([*simulated_trades(), *wash], key=lambda t: (t["timestamp"], t["tradeId"]))
    lines = [json.dumps(t) for t in trades]
    no_symbol = {k: v for k, v in trades[150].items() if k != "symbol"} | {"tradeId": "no-symbol"}
    lines.insert(50, "this is not a trade")
    lines.insert(200, json.dumps(no_symbol))
    path = tmp_path_factory.mktemp("replay") / "trades.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = {51: (lines[50], "bad_magic_byte"), 201: (lines[200], "missing_field")}
    return TradesFile(path, {t["tradeId"]: t for t in trades}, bad, [t["tradeId"] for t in wash])


@dataclass(frozen=True)
class Replay:
    result: subprocess.CompletedProcess[str]
    out: Path

    def read(self, name: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in (self.out / name).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def replays(
    trades_file: TradesFile, redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
) -> list[Replay]:
    """The same file replayed twice against one Redis, flushed before the first run."""
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    runs = []
    for _ in range(2):
        out = tmp_path_factory.mktemp("out")
        result = riskengine("replay", str(trades_file.path), "--out", str(out), "--redis-url", redis_server.url)
        runs.append(Replay(result, out))
    return runs


def test_replay_writes_alerts_analyzed_and_rejected(trades_file: TradesFile, replays: list[Replay]) -> None:
    first = replays[0]
    assert first.result.returncode == 0, first.result.stderr
    summary = re.sub(r"\s+", " ", first.result.stdout)
    assert re.search(rf"Lines read\W+{trades_file.lines}\b", summary), first.result.stdout

    alerts = first.read("alerts.jsonl")
    assert [(a["patternType"], a["userId"], a["triggeredEvents"]) for a in alerts] == [
        ("WASH_TRADING", "WASHER", trades_file.wash_ids)
    ]
    rejected = first.read("rejected.jsonl")
    assert {r["lineNumber"]: (r["line"], r["reason"]) for r in rejected} == trades_file.bad
    assert all(r["detail"] for r in rejected)
    _assert_analyzed(first.read("analyzed.jsonl"), trades_file)


def _assert_analyzed(analyzed: list[dict[str, Any]], trades_file: TradesFile) -> None:
    assert [a["originalTrade"]["tradeId"] for a in analyzed] == list(trades_file.valid)  # one each, in file order
    for record in analyzed:
        original = trades_file.valid[record["originalTrade"]["tradeId"]]
        assert _known(record["originalTrade"]) == _known(original)
        assert 0.0 <= record["riskScore"] <= 1.0
        assert math.isclose(sum(record["scoreContributions"].values()), record["riskScore"], abs_tol=1e-9)
    flagged = {a["originalTrade"]["tradeId"]: a["triggeredPatterns"] for a in analyzed if a["triggeredPatterns"]}
    assert flagged == {trades_file.wash_ids[-1]: ["WASH_TRADING"]}


def _known(trade: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in trade.items() if value is not None}


def test_replaying_the_same_file_again_gives_the_same_results(replays: list[Replay]) -> None:
    # The second replay is a redelivery of every trade: each is answered from the ledger with its
    # first result, so the outputs are identical (but for when they were produced), alert ids included.
    first, second = replays
    assert second.result.returncode == 0, second.result.stderr
    assert len(first.read("alerts.jsonl")) == 1
    assert _stable(second.read("alerts.jsonl"), "detectedAt") == _stable(first.read("alerts.jsonl"), "detectedAt")
    assert second.read("rejected.jsonl") == first.read("rejected.jsonl")
    assert _stable(second.read("analyzed.jsonl"), "processedAt") == _stable(first.read("analyzed.jsonl"), "processedAt")


def _stable(records: list[dict[str, Any]], volatile: str) -> list[dict[str, Any]]:
    return [{name: value for name, value in record.items() if name != volatile} for record in records]


@pytest.mark.parametrize("content", ["", "\n  \n\t\n"], ids=["empty", "blank-lines"])
def test_replaying_a_file_without_trades_writes_three_empty_files_and_says_so(
    content: str, redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    source = tmp_path / "no-trades.jsonl"
    source.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "alerts.jsonl").write_text('{"from": "an earlier replay"}\n', encoding="utf-8")
    result = riskengine("replay", str(source), "--out", str(out), "--redis-url", redis_server.url)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    stdout = re.sub(r"\s+", " ", result.stdout)
    assert f"{source} holds no trades: wrote three empty files to {out}" in stdout, result.stdout
    assert re.search(r"Lines read\W+0\b", stdout), result.stdout
    assert sorted(path.name for path in out.iterdir()) == ["alerts.jsonl", "analyzed.jsonl", "rejected.jsonl"]
    assert all(path.read_bytes() == b"" for path in out.iterdir())


def test_a_replay_with_trades_does_not_say_the_file_is_empty(replays: list[Replay]) -> None:
    assert "holds no trades" not in replays[0].result.stdout


# --- demo -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("users", [200, 400])
def test_demo_runs_the_pipeline_and_prints_the_summary(users: int) -> None:
    result = riskengine("demo", "--trades", str(DEMO_TRADES), "--users", str(users), timeout=150)
    assert result.returncode == 0, result.stderr[-3000:]
    output = re.sub(r"\s+", " ", result.stdout)
    for heading in ("Risk engine demo", "Alerts by pattern and severity", "Riskiest users", "Injected"):
        assert heading in output, result.stdout
    produced = _count(output, "Trades produced (crypto-trades)")
    # the trade flow's trades for the event time --trades asks for, plus the order flow's fills
    assert 0.9 * DEMO_TRADES <= produced <= 1.3 * DEMO_TRADES, result.stdout
    scored = _count(output, "Trades scored (read back from risk-analyzed-trades)")
    assert 0.99 * produced <= scored <= produced, result.stdout  # the malformed ones are dead-lettered
    orders = _count(output, "Order events produced (crypto-orders)")
    assert orders > 0 and _count(output, "Order events evaluated (acknowledged by score_orders)") == orders
    for pattern in ("SPOOFING", "LAYERING", "EXCESSIVE_CANCELS"):  # the order-book patterns have their rows
        assert re.search(rf"\b{pattern}\b(\W+\d+){{5}}", output), (pattern, result.stdout)
    counts = {
        row: _count(output, row)
        for row in (
            "Alerts raised (risk-alerts)",
            "Alerts delivered through SNS (SQS subscriber)",
            "Digests sent",
            "Email notifications (HIGH/CRITICAL filter)",
        )
    }
    delivered = counts["Alerts delivered through SNS (SQS subscriber)"]
    assert delivered > 0, result.stdout
    assert counts["Digests sent"] <= delivered, result.stdout
    assert counts["Email notifications (HIGH/CRITICAL filter)"] <= delivered, result.stdout
    indexed = re.search(r"Documents indexed: trades / alerts\W+([\d,]+) / ([\d,]+)", output)
    assert indexed, result.stdout
    # Every analysed trade and every alert of the run is found again in OpenSearch, once.
    assert int(indexed.group(1).replace(",", "")) == scored, result.stdout
    assert int(indexed.group(2).replace(",", "")) == counts["Alerts raised (risk-alerts)"], result.stdout


def _count(output: str, row: str) -> int:
    """The number in the summary row ``row`` of the demo's (whitespace-collapsed) output."""
    found = re.search(rf"{re.escape(row)}\W+([\d,]+)", output)
    assert found, (row, output)
    return int(found.group(1).replace(",", ""))
