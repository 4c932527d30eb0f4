"""``riskengine backtest`` and mixed ``riskengine replay`` files, run as a user would, against real redis-servers.

One small hand-written stream: trades that raise LARGE_ORDER and WASH_TRADING (a round trip and a
self-trade) with known trade ids, order events (fed to score_orders; a bait placed and cancelled with no
opposite trade, so no spoof) and a malformed line; its labels hit, miss and mislabel on purpose.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import builders
import pytest
from builders import trade, wash_trades
from test_cli import riskengine

pytestmark = pytest.mark.integration

SPOOFER = "SPOOFER"
NOT_A_TRADE = "this is not a trade"
NO_SELF_TRADE = {"SELF_TRADE": {"enabled": False}}


def order(event_id: str, event_type: str, *, at: int) -> dict[str, Any]:
    """An order event line: the OrderEvent fields plus ``"kind": "order"``."""
    open_quantity = 0.0 if event_type == "CANCEL" else 20.0
    return {
        "kind": "order",
        **builders.order(event_id, event_type, user=SPOOFER, quantity=open_quantity, price=60_000.0, at=at),
    }


def stream_lines() -> list[dict[str, Any] | str]:
    wash = wash_trades("WASHER", start=10_000)  # WASHER-0, -1, -2: BUY, SELL, BUY within 20 s
    return [
        trade("n-1", user="N1", symbol="ETH/USDT", quantity=0.5, price=3_000.0, at=0),
        order("o-1", "NEW", at=5_000),
        wash[0],
        trade("big-1", user="WHALE", quantity=10.0, price=60_000.0, at=15_000),  # 600,000 USD >= 500,000
        order("o-2", "CANCEL", at=16_000),
        NOT_A_TRADE,
        wash[1],
        trade("self-1", user="SELFIE", symbol="ETH/USDT", price=3_000.0, at=25_000, counterpartyUserId="SELFIE"),
        {"kind": "trade", **wash[2]},
        order("o-3", "NEW", at=31_000),
        trade("big-2", user="WHALE2", quantity=12.0, price=60_000.0, at=35_000),
        trade("n-2", user="N2", symbol="ETH/USDT", quantity=0.2, price=3_000.0, at=40_000),
    ]


def label(
    pattern: str, *events: str, user: str | None, symbol: str | None = None, exchange: str | None = None
) -> dict[str, Any]:
    """An episode as labels.jsonl holds it (its start and end do not take part in matching)."""
    return {
        "patternType": pattern,
        "userId": user,
        "symbol": symbol,
        "exchange": exchange,
        "start": 1_763_900_000_000,
        "end": 1_763_900_040_000,
        "eventIds": list(events),
    }


LABELS = [
    label("LARGE_ORDER", "big-1", user="WHALE", symbol="BTC/USDT", exchange="BINANCE"),
    label("LARGE_ORDER", "big-2", user="SOMEONE-ELSE"),  # the alert on big-2 is WHALE2's: no match
    label("WASH_TRADING", "WASHER-1", user="WASHER", symbol="SOL/USDT", exchange="BINANCE"),  # overlap is enough
    label("WASH_TRADING", "self-1", user="SELFIE", symbol="ETH/USDT", exchange="BINANCE"),
    label("SPOOFING", "o-1", "o-2", user=SPOOFER, symbol="BTC/USDT", exchange="BINANCE"),
    label("FLASH_CRASH", "big-1", user=None, symbol="BTC/USDT", exchange="BINANCE"),
]
# Pattern -> alerts, true positives, false positives, episodes, missed, precision, recall, F1.
DEFAULTS = {
    "FLASH_CRASH": ["0", "0", "0", "1", "1", "n/a", "0.000", "n/a"],
    "LARGE_ORDER": ["2", "1", "1", "2", "1", "0.500", "0.500", "0.500"],
    "SPOOFING": ["0", "0", "0", "1", "1", "n/a", "0.000", "n/a"],
    "WASH_TRADING": ["2", "2", "0", "2", "0", "1.000", "1.000", "1.000"],
}
WITHOUT_SELF_TRADE = DEFAULTS | {"WASH_TRADING": ["1", "1", "0", "2", "1", "1.000", "0.500", "0.667"]}


def write_jsonl(path: Path, lines: list[dict[str, Any] | str]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("backtest")
    lines = stream_lines()
    (folder / "no-self-trade.json").write_text(json.dumps(NO_SELF_TRADE))
    (folder / "defaults.json").write_text("{}")
    return {
        "stream": write_jsonl(folder / "stream.jsonl", lines),
        # The same trades without order lines and without any "kind" (one trade line says "kind": "trade").
        "trades": write_jsonl(
            folder / "trades.jsonl", [_without_kind(line) for line in lines if _kind(line) != "order"]
        ),
        "labels": write_jsonl(folder / "labels.jsonl", LABELS),
        "no-self-trade": folder / "no-self-trade.json",
        "defaults": folder / "defaults.json",
    }


def _kind(line: dict[str, Any] | str) -> str | None:
    return None if isinstance(line, str) else line.get("kind")


def _without_kind(line: dict[str, Any] | str) -> dict[str, Any] | str:
    return line if isinstance(line, str) else {name: value for name, value in line.items() if name != "kind"}


def table_rows(stdout: str) -> dict[tuple[str, str], list[str]]:
    """(rule set, pattern) -> the row's other cells: a table per rule set, its name in the title."""
    rows, rule_set = {}, ""
    for line in stdout.splitlines():
        if title := re.match(r"\s*Back-test of (.+) against \d+ labelled episodes", line):
            rule_set = title.group(1)
            continue
        cells = line.split()
        if len(cells) == 9 and re.fullmatch(r"[A-Z_]+", cells[0]):
            rows[(rule_set, cells[0])] = cells[1:]
    return rows


# --- the back-test --------------------------------------------------------------------------------


def test_backtest_prints_true_and_false_positives_and_missed_episodes_per_pattern(files: dict[str, Path]) -> None:
    result = riskengine("backtest", str(files["stream"]), "--labels", str(files["labels"]))
    assert result.returncode == 0, result.stderr
    assert table_rows(result.stdout) == {("defaults", pattern): row for pattern, row in DEFAULTS.items()}
    summary = re.sub(r"\s+", " ", result.stdout)
    assert "Back-test of defaults against 6 labelled episodes" in summary
    assert "Lines read: 12; rejected: 1; order events: 3" in summary, result.stdout
    assert f"Replaying {files['stream'].name} with defaults" in result.stderr  # the progress bar


def test_two_rule_sets_give_their_own_results_grouped_by_rule_set(files: dict[str, Path]) -> None:
    no_self, defaults = str(files["no-self-trade"]), str(files["defaults"])
    result = riskengine(
        "backtest", str(files["stream"]), "--labels", str(files["labels"]), "--rules", defaults, "--rules", no_self
    )
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert {pattern: row for (name, pattern), row in rows.items() if name == defaults} == DEFAULTS
    assert {pattern: row for (name, pattern), row in rows.items() if name == no_self} == WITHOUT_SELF_TRADE


def test_json_output_is_one_document_with_the_documented_keys(files: dict[str, Path]) -> None:
    no_self = str(files["no-self-trade"])
    result = riskengine("backtest", str(files["stream"]), "--labels", str(files["labels"]), "--json")
    with_rules = riskengine(
        "backtest", str(files["stream"]), "--labels", str(files["labels"]), "--rules", no_self, "--json"
    )
    assert result.returncode == 0 and with_rules.returncode == 0, result.stderr + with_rules.stderr
    document = json.loads(result.stdout)  # stdout holds the document and nothing else
    assert document.keys() == {"file", "labels", "episodes", "ruleSets"}
    assert (document["file"], document["labels"], document["episodes"]) == (
        str(files["stream"]),
        str(files["labels"]),
        6,
    )
    (defaults,) = document["ruleSets"]
    assert defaults.keys() == {"name", "rulesFile", "replay", "patterns"}
    assert (defaults["name"], defaults["rulesFile"]) == ("defaults", None)
    assert defaults["replay"] == {
        "lines": 12,
        "analyzed": 8,
        "alerts": 4,
        "rejected": 1,
        "orderEvents": 3,
        "orderEventsEvaluated": True,
    }
    assert defaults["patterns"]["LARGE_ORDER"] == {
        "alerts": 2,
        "truePositives": 1,
        "falsePositives": 1,
        "episodes": 2,
        "matchedEpisodes": 1,
        "missedEpisodes": 1,
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
    }
    assert defaults["patterns"]["SPOOFING"] == {
        "alerts": 0,
        "truePositives": 0,
        "falsePositives": 0,
        "episodes": 1,
        "matchedEpisodes": 0,
        "missedEpisodes": 1,
        "precision": None,
        "recall": 0.0,
        "f1": None,
    }
    assert sorted(defaults["patterns"]) == sorted(DEFAULTS)
    (custom,) = json.loads(with_rules.stdout)["ruleSets"]
    assert (custom["name"], custom["rulesFile"]) == (no_self, no_self)
    assert custom["patterns"]["WASH_TRADING"]["recall"] == 0.5


# --- errors ---------------------------------------------------------------------------------------


def test_a_bad_labels_line_is_reported_with_its_line_number_before_anything_is_replayed(
    files: dict[str, Path], tmp_path: Path
) -> None:
    labels = write_jsonl(tmp_path / "labels.jsonl", [LABELS[0], "", {**LABELS[1], "eventIds": []}])
    result = riskengine("backtest", str(files["stream"]), "--labels", str(labels))
    assert result.returncode == 1
    message = re.sub(r"\s+", " ", result.stderr)
    assert f"bad labels file: {labels} line 3: eventIds must be a non-empty list" in message, result.stderr
    assert "fix the line and run again" in message
    assert "Replaying" not in result.stderr and "Traceback" not in result.stderr


def test_a_bad_rules_file_is_reported_before_anything_is_replayed(files: dict[str, Path], tmp_path: Path) -> None:
    rules = tmp_path / "typo.json"
    rules.write_text('{"WASH": {"enabled": false}}')
    result = riskengine("backtest", str(files["stream"]), "--labels", str(files["labels"]), "--rules", str(rules))
    assert result.returncode == 1
    message = re.sub(r"\s+", " ", result.stderr)
    assert f"bad rules file: {rules}: unknown rule(s) in rule settings: WASH" in message, result.stderr
    assert "Replaying" not in result.stderr


def test_a_line_of_an_unknown_kind_stops_the_backtest_with_its_line_number(
    files: dict[str, Path], tmp_path: Path
) -> None:
    stream = write_jsonl(tmp_path / "stream.jsonl", [*stream_lines()[:4], {"kind": "quote", "price": 1.0}])
    result = riskengine("backtest", str(stream), "--labels", str(files["labels"]))
    assert result.returncode == 1
    message = re.sub(r"\s+", " ", result.stderr)
    assert f"unknown kind: {stream} line 5: kind must be 'trade' or 'order'" in message, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("missing", ["FILE", "--labels"])
def test_a_missing_file_says_which(files: dict[str, Path], tmp_path: Path, missing: str) -> None:
    absent = str(tmp_path / "absent.jsonl")
    stream, labels = (absent, str(files["labels"])) if missing == "FILE" else (str(files["stream"]), absent)
    result = riskengine("backtest", stream, "--labels", labels)
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "absent.jsonl" in result.stderr


# --- replay of a mixed file -----------------------------------------------------------------------


def test_replaying_the_mixed_file_feeds_the_orders_and_writes_what_the_trades_alone_write(
    files: dict[str, Path], tmp_path: Path
) -> None:
    mixed, trades = tmp_path / "mixed", tmp_path / "trades"
    summaries = {}
    for source, out in ((files["stream"], mixed), (files["trades"], trades)):
        result = riskengine("replay", str(source), "--out", str(out))
        assert result.returncode == 0, result.stderr
        summaries[out] = re.sub(r"\s+", " ", result.stdout)
    assert re.search(r"Lines read\W+12\b", summaries[mixed]), summaries[mixed]
    assert re.search(r"Order events\W+3\W", summaries[mixed]), summaries[mixed]
    assert re.search(r"Order events\W+0\W", summaries[trades]), summaries[trades]

    assert _read(mixed / "analyzed.jsonl", "processedAt") == _read(trades / "analyzed.jsonl", "processedAt")
    alerts = _read(mixed / "alerts.jsonl", "detectedAt")
    assert alerts == _read(trades / "alerts.jsonl", "detectedAt")
    assert [(a["patternType"], a["userId"], a["triggeredEvents"]) for a in alerts] == [
        ("LARGE_ORDER", "WHALE", ["big-1"]),
        ("WASH_TRADING", "SELFIE", ["self-1"]),
        ("WASH_TRADING", "WASHER", ["WASHER-0", "WASHER-1", "WASHER-2"]),
        ("LARGE_ORDER", "WHALE2", ["big-2"]),
    ]
    rejected = _read(mixed / "rejected.jsonl", "lineNumber")
    assert rejected == _read(trades / "rejected.jsonl", "lineNumber")
    assert [(r["line"], r["reason"]) for r in rejected] == [(NOT_A_TRADE, "bad_magic_byte")]


def test_replay_rejects_a_line_of_an_unknown_kind_in_line_order(tmp_path: Path) -> None:
    lines = stream_lines()
    source = write_jsonl(tmp_path / "stream.jsonl", [*lines[:2], {"kind": "quote", "price": 1.0}, *lines[2:]])
    result = riskengine("replay", str(source), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    rejected = _read(tmp_path / "out" / "rejected.jsonl")
    assert [(r["lineNumber"], r["reason"]) for r in rejected] == [(3, "unknown_kind"), (7, "bad_magic_byte")]
    assert rejected[0]["line"] == '{"kind": "quote", "price": 1.0}'
    assert "kind must be 'trade' or 'order'" in rejected[0]["detail"]
    assert re.search(r"rejected\.jsonl\W+2\b", re.sub(r"\s+", " ", result.stdout))


def _read(path: Path, *volatile: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [{name: value for name, value in record.items() if name not in volatile} for record in records]
