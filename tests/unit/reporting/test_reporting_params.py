"""Instants, time ranges, filters and the alerts cursor: what callers may send and what they are told."""

import pytest

from riskengine.model import RiskLevel
from riskengine.reporting import AlertCursor, AlertFilters, InvalidParameter, TimeRange, parse_instant
from riskengine.reporting.params import DAY_MS, MAX_EPOCH_MS

NOV_23 = 1_763_856_000_000  # 2025-11-23T00:00:00Z


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1763892000000", NOV_23 + 10 * 3_600_000),
        ("2025-11-23T10:00:00Z", NOV_23 + 10 * 3_600_000),
        ("2025-11-23T10:00:00.123+00:00", NOV_23 + 10 * 3_600_000 + 123),
        ("2025-11-23T11:00:00+01:00", NOV_23 + 10 * 3_600_000),
        ("2025-11-23T11:00:00 01:00", NOV_23 + 10 * 3_600_000),  # "+" decoded to a space by a form decoder
        ("2025-11-23T10:00:00", NOV_23 + 10 * 3_600_000),  # no offset: UTC
        ("2025-11-23 10:00", NOV_23 + 10 * 3_600_000),
        ("2025-11-23", NOV_23),
        (" 2025-11-23 ", NOV_23),
        ("0", 0),
    ],
)
def test_instants_in_iso_8601_or_epoch_millis(text: str, expected: int) -> None:
    assert parse_instant(text, "from") == expected


def test_a_bare_date_as_end_of_range_covers_the_whole_day() -> None:
    assert parse_instant("2025-11-23", "to", end_of_day=True) == NOV_23 + DAY_MS - 1
    assert parse_instant("2025-11-23T00:00:00Z", "to", end_of_day=True) == NOV_23


@pytest.mark.parametrize("text", ["yesterday", "2025-13-01", "2025-11-31", "23/11/2025", "-5", "1.5e12", ""])
def test_unreadable_instants_name_the_parameter_and_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidParameter, match=r"^from .*(ISO-8601|epoch)") as caught:
        parse_instant(text, "from")
    assert "epoch milliseconds" in caught.value.detail


@pytest.mark.parametrize("text", ["1969-12-31T23:59:59Z", str(MAX_EPOCH_MS + 1), "9999999999999999"])
def test_instants_outside_what_iso_8601_can_write_are_refused(text: str) -> None:
    with pytest.raises(InvalidParameter, match="between 1970-01-01 and 9999-12-31"):
        parse_instant(text, "to")


def test_range_ends_are_optional_and_inclusive() -> None:
    assert TimeRange.parse(None, None) == TimeRange(0, MAX_EPOCH_MS)
    assert TimeRange.parse("2025-11-23", None) == TimeRange(NOV_23, MAX_EPOCH_MS)
    assert TimeRange.parse(None, "2025-11-23") == TimeRange(0, NOV_23 + DAY_MS - 1)
    assert TimeRange.parse("2025-11-23", "2025-11-23").days == 1


def test_from_after_to_says_to_swap_them() -> None:
    with pytest.raises(InvalidParameter, match=r"from \(2025-11-24T00:00:00.000Z\) is after to .*swap them"):
        TimeRange.parse("2025-11-24", "2025-11-23T12:00:00Z")


def test_trailing_range_defaults_to_the_last_days_up_to_now() -> None:
    now = NOV_23 + 5_000
    period = TimeRange.trailing(None, None, now_ms=now, days=30, max_days=366)
    assert period == TimeRange(now - 30 * DAY_MS + 1, now)
    one_day = TimeRange.trailing(None, "2025-11-23", now_ms=0, days=1, max_days=366)
    assert one_day == TimeRange(NOV_23, NOV_23 + DAY_MS - 1)
    assert TimeRange.trailing("2025-11-01", None, now_ms=now, days=30, max_days=366).start_ms == NOV_23 - 22 * DAY_MS


def test_trailing_range_is_bounded() -> None:
    with pytest.raises(InvalidParameter, match="spans 367 days; ask for at most 366 days"):
        TimeRange.trailing("2024-01-01", "2025-01-01", now_ms=0, days=30, max_days=366)


def test_filters_match_only_what_was_given() -> None:
    assert AlertFilters().terms() == {}
    filters = AlertFilters(user_id="U1", severity=RiskLevel.HIGH, exchange="BINANCE")
    assert filters.terms() == {"userId": "U1", "severity": "HIGH", "exchange": "BINANCE"}


def test_cursor_round_trips_and_is_query_string_safe() -> None:
    cursor = AlertCursor(1_763_900_000_000, "a/b+c=?")
    text = cursor.encode()
    assert AlertCursor.decode(text) == cursor
    assert text.replace("-", "").replace("_", "").isalnum()


@pytest.mark.parametrize(
    "text",
    [
        "not base64!",
        "e30",  # {}
        AlertCursor(1, "a").encode()[:-2],  # truncated
        "WzEsMl0",  # [1,2]
        "W3RydWUsImEiXQ",  # [true,"a"]
        "WzEuNSwiYSJd",  # [1.5,"a"]
        "WzEsImEiLDNd",  # [1,"a",3]
        "_w",  # not UTF-8
    ],
)
def test_a_cursor_this_api_did_not_write_is_refused_with_what_to_do(text: str) -> None:
    with pytest.raises(InvalidParameter, match="pass the nextCursor of the previous page unchanged"):
        AlertCursor.decode(text)
