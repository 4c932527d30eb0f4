"""labels.jsonl read into episodes; every way a line can break the format is reported with its line number."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from riskengine_tools.backtest import LABEL_KEYS, Alert, Episode, LabelsError, read_alerts, read_labels

SPOOF = {
    "patternType": "SPOOFING",
    "userId": "user-0042",
    "symbol": "BTC/USDT",
    "exchange": "BINANCE",
    "start": 1_000,
    "end": 21_000,
    "eventIds": ["o-1", "t-9", "o-2"],
}
CRASH = {
    "patternType": "FLASH_CRASH",
    "userId": None,
    "symbol": "ETH/USDT",
    "exchange": "KRAKEN",
    "start": 5,
    "end": 5,
    "eventIds": ["t-1"],
}


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_reads_user_and_market_scoped_episodes_skipping_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(SPOOF), "", "  ", json.dumps(CRASH))
    assert read_labels(path) == [
        Episode("SPOOFING", "user-0042", "BTC/USDT", "BINANCE", 1_000, 21_000, frozenset({"o-1", "t-9", "o-2"})),
        Episode("FLASH_CRASH", None, "ETH/USDT", "KRAKEN", 5, 5, frozenset({"t-1"})),
    ]


def test_a_user_scoped_episode_across_markets_has_no_symbol_or_exchange(tmp_path: Path) -> None:
    burst = SPOOF | {"patternType": "RAPID_BURST", "symbol": None, "exchange": None}
    (episode,) = read_labels(write(tmp_path, json.dumps(burst)))
    assert (episode.user_id, episode.symbol, episode.exchange) == ("user-0042", None, None)


def test_an_empty_file_has_no_episodes(tmp_path: Path) -> None:
    assert read_labels(write(tmp_path)) == []


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object but list"),
        (json.dumps({k: v for k, v in SPOOF.items() if k != "eventIds"}), "missing key(s) eventIds"),
        (json.dumps(SPOOF | {"severity": "HIGH"}), "unknown key(s) severity"),
        (json.dumps(SPOOF | {"patternType": ""}), "patternType must be a non-empty string"),
        (json.dumps(SPOOF | {"userId": 42}), "userId must be a non-empty string or null"),
        (json.dumps(CRASH | {"exchange": None}), "a market-scoped episode (userId null) needs symbol and exchange"),
        (json.dumps(SPOOF | {"start": 1.5e12}), "start and end must be epoch milliseconds"),
        (json.dumps(SPOOF | {"end": True}), "start and end must be epoch milliseconds"),
        (json.dumps(SPOOF | {"start": 30_000}), "with start <= end"),
        (json.dumps(SPOOF | {"eventIds": []}), "eventIds must be a non-empty list of non-empty strings"),
        (json.dumps(SPOOF | {"eventIds": "o-1"}), "eventIds must be a non-empty list"),
        (json.dumps(SPOOF | {"eventIds": ["o-1", 7]}), "eventIds must be a non-empty list"),
    ],
)
def test_a_bad_line_stops_the_read_with_its_line_number_and_the_format(tmp_path: Path, line: str, problem: str) -> None:
    path = write(tmp_path, json.dumps(CRASH), "", line, json.dumps(SPOOF))
    with pytest.raises(LabelsError) as raised:
        read_labels(path)
    assert raised.value.line_number == 3
    message = str(raised.value)
    assert message.startswith(f"{path} line 3: ")
    assert problem in message
    assert ", ".join(LABEL_KEYS) in message and "fix the line" in message


def test_alerts_are_read_from_a_replays_alerts_file(tmp_path: Path) -> None:
    record: dict[str, Any] = {
        "alertId": "a1",
        "patternType": "LARGE_ORDER",
        "userId": "U1",
        "symbol": "BTC/USDT",
        "exchange": "BINANCE",
        "triggeredEvents": ["t1"],
        "severity": "HIGH",
    }
    path = tmp_path / "alerts.jsonl"
    path.write_text(json.dumps(record) + "\n" + json.dumps(record | {"triggeredEvents": ["t2", "t3"]}) + "\n")
    assert read_alerts(path) == [
        Alert("LARGE_ORDER", "U1", "BTC/USDT", "BINANCE", ("t1",)),
        Alert("LARGE_ORDER", "U1", "BTC/USDT", "BINANCE", ("t2", "t3")),
    ]
