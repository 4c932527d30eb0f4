"""``riskengine simulate``'s files: written as documented, byte-identical for a seed, replaced on a rerun."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskengine.errors import InvalidRecord
from riskengine.validation import validate_order, validate_trade
from riskengine_tools.simulate import LABELS_FILE, STREAM_FILE, MixedStream, StreamConfig, simulate

SMALL = StreamConfig(seed=5, minutes=3, users=300)


def _write(directory: Path, config: StreamConfig = SMALL) -> tuple[bytes, bytes, list[int]]:
    progress: list[int] = []
    simulate(directory, config, progress=progress.append)
    return (directory / STREAM_FILE).read_bytes(), (directory / LABELS_FILE).read_bytes(), progress


def test_the_same_seed_writes_byte_identical_files_and_another_seed_others(tmp_path: Path) -> None:
    first = _write(tmp_path / "a")
    assert _write(tmp_path / "b") == first
    other = _write(tmp_path / "c", StreamConfig(seed=6, minutes=3, users=300))
    assert other[0] != first[0] and other[1] != first[1]


def test_the_report_counts_what_the_files_hold(tmp_path: Path) -> None:
    report = simulate(tmp_path, SMALL)
    lines = [json.loads(line) for line in (tmp_path / STREAM_FILE).read_text().splitlines()]
    labels = [json.loads(line) for line in (tmp_path / LABELS_FILE).read_text().splitlines()]
    kinds = {"trade": 0, "fill trade": 0, "order event": 0}
    for record in lines:
        fill = record["kind"] == "trade" and str(record["orderId"]).startswith("ORD-")
        kinds["order event" if record["kind"] == "order" else "fill trade" if fill else "trade"] += 1
    assert dict(report.lines) == kinds
    assert report.labels == len(labels) > 0
    by_pattern = {pattern: sum(planners.values()) for pattern, planners in report.episodes.items()}
    assert by_pattern == {p: sum(label["patternType"] == p for label in labels) for p in by_pattern}
    assert (report.stream_path, report.labels_path) == (tmp_path / STREAM_FILE, tmp_path / LABELS_FILE)
    assert report.activities["retail"] > 0


def test_progress_counts_every_second_of_event_time_once(tmp_path: Path) -> None:
    *_, progress = _write(tmp_path)
    assert sum(progress) == SMALL.minutes * 60
    assert all(step > 0 for step in progress)


def test_a_rerun_replaces_the_files_of_the_previous_one(tmp_path: Path) -> None:
    (tmp_path / STREAM_FILE).write_text("left over\n" * 100_000)
    simulate(tmp_path, SMALL)
    assert b"left over" not in (tmp_path / STREAM_FILE).read_bytes()


@pytest.mark.parametrize(
    ("options", "message"),
    [({"minutes": 0}, "minutes"), ({"users": 199}, "users"), ({"seed": "3"}, "seed")],
)
def test_bad_options_say_what_to_change(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StreamConfig(**{"seed": 3, **options}).simulator_config()  # type: ignore[arg-type]


def test_a_stream_with_invalid_trades_writes_them_and_keeps_every_other_line_valid_and_labelled() -> None:
    """What ``riskengine demo`` feeds: corrupted trades among the lines (some without a timestamp), counted
    as invalid trades; every other line is accepted and every labelled episode is complete."""
    config = StreamConfig(seed=5, minutes=1.5, users=300, invalid_fraction=0.01)
    stream = MixedStream(config)
    records = list(stream.records())
    now_ms = config.end_ms + 60_000
    rejected = 0
    for record in records:
        fields = {name: value for name, value in record.items() if name != "kind"}
        try:
            (validate_order if record["kind"] == "order" else validate_trade)(fields, now_ms=now_ms)
        except InvalidRecord:
            rejected += 1
    assert rejected == stream.lines["invalid trade"] > 0
    assert config.end_ms == config.start_ms + 90_000
    ids = {record.get("eventId", record.get("tradeId")) for record in records}
    assert all(set(label["eventIds"]) <= ids for label in stream.labels())


@pytest.mark.parametrize("whole_episodes", [True, False])
def test_without_whole_episodes_a_short_stream_keeps_its_trade_flow_episodes_and_labels_only_finished_ones(
    whole_episodes: bool,
) -> None:
    """A minute is shorter than the trade flow's drain: whole episodes leave it none; without them (the demo)
    they are planned to the end, and every label still names events that are all in the stream."""
    stream = MixedStream(StreamConfig(seed=5, minutes=1, users=300, whole_episodes=whole_episodes))
    ids = {record.get("eventId", record.get("tradeId")) for record in stream.records()}
    spine = [label for label in stream.labels() if label["eventIds"][0].startswith("T-")]  # the trade flow's ids
    assert bool(spine) is not whole_episodes
    assert all(set(label["eventIds"]) <= ids for label in stream.labels())
