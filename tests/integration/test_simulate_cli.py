"""``riskengine simulate`` run as a user would: the files, the summary, reproducibility across
processes, and a back-test of what it wrote through the real handler (the spine's patterns; order
events are counted until the order pipeline exists)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from test_cli import CLI_ENV, RISKENGINE, riskengine

pytestmark = pytest.mark.integration

SMALL_RUN = ("--seed", "5", "--minutes", "3", "--users", "300")
SPINE = ("LARGE_ORDER", "VOLUME_SPIKE", "WASH_TRADING", "FLASH_CRASH", "RAPID_BURST")
ORDER_BOOK = ("SPOOFING", "LAYERING", "EXCESSIVE_CANCELS")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("simulated")
    return out, riskengine("simulate", "--out", str(out), *SMALL_RUN)


def test_simulate_writes_the_stream_and_its_labels_and_summarises_them(
    written: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, result = written
    assert result.returncode == 0, result.stderr
    stream = (out / "stream.jsonl").read_text().splitlines()
    labels = [json.loads(line) for line in (out / "labels.jsonl").read_text().splitlines()]
    kinds = [json.loads(line)["kind"] for line in stream]
    assert kinds.count("order") > 500 and kinds.count("trade") > 5_000
    for title in ("Simulated stream written to", "Injected episodes (labels.jsonl)", "Honest order flow"):
        assert title in result.stdout
    assert f"stream.jsonl lines {len(stream):,}".split() == _row(result.stdout, "stream.jsonl lines")
    for pattern in {label["patternType"] for label in labels}:
        count = sum(label["patternType"] == pattern for label in labels)
        assert _row(result.stdout, pattern)[1] == str(count)
    assert "Simulating" in result.stderr  # the progress bar


def test_the_same_seed_gives_byte_identical_files_in_another_process(
    written: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    out, _ = written
    env = {**CLI_ENV, "PYTHONHASHSEED": "12345"}  # hash randomisation must not leak into the files
    again = subprocess.run(
        [str(RISKENGINE), "simulate", "--out", str(tmp_path), *SMALL_RUN], env=env, capture_output=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    for name in ("stream.jsonl", "labels.jsonl"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes()


def test_the_backtest_of_a_simulated_stream_catches_every_episode_and_nothing_else(
    written: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """Trades through score_trades, order events through score_orders: every labelled episode, spine and
    order-book, is found, and no alert matches none."""
    out, _ = written
    result = riskengine("backtest", str(out / "stream.jsonl"), "--labels", str(out / "labels.jsonl"), "--json")
    assert result.returncode == 0, result.stderr
    (rule_set,) = json.loads(result.stdout)["ruleSets"]
    assert rule_set["replay"]["rejected"] == 0
    assert rule_set["replay"]["orderEvents"] > 500 and rule_set["replay"]["orderEventsEvaluated"]
    patterns: dict[str, Any] = rule_set["patterns"]
    labelled = [p for p in (*SPINE, *ORDER_BOOK) if patterns.get(p, {}).get("episodes")]
    assert set(ORDER_BOOK) <= set(labelled) and len(set(SPINE) & set(labelled)) >= 3
    for pattern in labelled:
        assert (patterns[pattern]["precision"], patterns[pattern]["recall"]) == (1.0, 1.0), pattern
    assert {p for p, counts in patterns.items() if counts["alerts"]} <= set(labelled)


@pytest.mark.parametrize(
    ("args", "message"),
    [(("--seed", "1", "--users", "100"), "--users"), (("--users", "300"), "--seed"), (("--seed", "-1"), "--seed")],
)
def test_bad_options_are_refused_with_the_option_named(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    result = riskengine("simulate", "--out", str(tmp_path), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "stream.jsonl").exists()


def _row(table: str, first_cell: str) -> list[str]:
    """The cells of the table row starting with ``first_cell`` (box characters dropped)."""
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip("│┃ ").split("│")]
        if cells and cells[0] == first_cell:
            return [word for cell in cells for word in cell.split()]
    raise AssertionError(f"no row {first_cell!r} in:\n{table}")


def test_an_unwritable_out_directory_is_an_error_that_says_so(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    result = riskengine("simulate", "--out", str(tmp_path / "a-file" / "d"), "--seed", "1", "--minutes", "1")
    assert result.returncode == 1
    assert "cannot write to" in result.stderr and "writable directory" in result.stderr
