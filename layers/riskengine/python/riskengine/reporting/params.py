"""Request parameters in their domain form: instants, time ranges, alert filters and the alerts cursor."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from riskengine.model import RiskLevel
from riskengine.reporting.errors import InvalidParameter
from riskengine.search.categories import AlertCategory

__all__ = [
    "DAY_MS",
    "MAX_EPOCH_MS",
    "AlertCursor",
    "AlertFilters",
    "TimeRange",
    "format_instant",
    "iso",
    "parse_instant",
    "to_datetime",
]

DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last instant ISO-8601 can write
_EPOCH_MS = re.compile(r"\d{1,19}")  # already far beyond MAX_EPOCH_MS; longer is no number worth parsing
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
# An unencoded "+" in a query string is decoded to a space by form decoders, which turns
# "...T10:00:00+01:00" into "...T10:00:00 01:00"; put the sign back rather than reject it.
_SPACE_FOR_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?) (\d{2}:?\d{2})$")
_INSTANT_HINT = "use ISO-8601 (2025-11-23T10:00:00Z, 2025-11-23) or epoch milliseconds (1763892000000)"


def to_datetime(epoch_ms: int | float) -> datetime:
    # timedelta arithmetic is exact; fromtimestamp(ms / 1000) can land a microsecond off
    return _EPOCH + timedelta(milliseconds=epoch_ms)


def format_instant(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds (the precision instants are stored with), e.g. 2025-11-23T12:26:40.000Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso(epoch_ms: int) -> str:
    return format_instant(to_datetime(epoch_ms))


def parse_instant(value: str, name: str, *, end_of_day: bool = False) -> int:
    """Epoch millis from ISO-8601 (no offset means UTC) or from epoch-millisecond digits.

    A bare date is the start of that UTC day, or with ``end_of_day`` its last millisecond, so
    ``to=2025-11-30`` includes the whole of 30 November.
    """
    text = value.strip()
    if _EPOCH_MS.fullmatch(text):
        millis = int(text)
    elif _DATE_ONLY.fullmatch(text):
        millis = _date_millis(text, name) + (DAY_MS - 1 if end_of_day else 0)
    else:
        millis = _datetime_millis(_SPACE_FOR_PLUS.sub(r"\1+\2", text), name)
    if not 0 <= millis <= MAX_EPOCH_MS:
        raise InvalidParameter(f"{name} must be between 1970-01-01 and 9999-12-31, got {value!r}")
    return millis


def _date_millis(text: str, name: str) -> int:
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidParameter(f"{name} is not a valid date ({exc}): {_INSTANT_HINT}") from exc
    return (datetime(day.year, day.month, day.day, tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)


def _datetime_millis(text: str, name: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidParameter(f"{name} is not a valid instant, got {text!r}: {_INSTANT_HINT}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Exact integer arithmetic: timestamp() is a float and can land a millisecond short.
    return (moment - _EPOCH) // timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class TimeRange:
    """An event-time range, both ends inclusive, in epoch millis."""

    start_ms: int = 0
    end_ms: int = MAX_EPOCH_MS

    def __post_init__(self) -> None:
        if self.start_ms > self.end_ms:
            raise InvalidParameter(f"from ({iso(self.start_ms)}) is after to ({iso(self.end_ms)}): swap them")

    @property
    def days(self) -> int:
        """How many UTC days the range touches."""
        return (self.end_ms // DAY_MS) - (self.start_ms // DAY_MS) + 1

    @classmethod
    def parse(cls, start: str | None, end: str | None) -> TimeRange:
        """From the ``from``/``to`` parameters; a missing end leaves the range open on that side."""
        return cls(
            start_ms=parse_instant(start, "from") if start else 0,
            end_ms=parse_instant(end, "to", end_of_day=True) if end else MAX_EPOCH_MS,
        )

    @classmethod
    def trailing(cls, start: str | None, end: str | None, *, now_ms: int, days: int, max_days: int) -> TimeRange:
        """``to`` defaults to now and ``from`` to ``days`` before ``to``; at most ``max_days`` UTC days."""
        end_ms = parse_instant(end, "to", end_of_day=True) if end else now_ms
        start_ms = parse_instant(start, "from") if start else max(end_ms - days * DAY_MS + 1, 0)
        period = cls(start_ms, end_ms)
        if period.days > max_days:
            raise InvalidParameter(f"from..to spans {period.days} days; ask for at most {max_days} days")
        return period


@dataclass(frozen=True, slots=True)
class AlertFilters:
    """Exact-match filters of the alert list; ``None`` means any value.

    ``category`` is not a term of its own: it selects patterns (see ``queries.alerts_page_query``).
    """

    period: TimeRange = TimeRange()
    user_id: str | None = None
    pattern_type: str | None = None
    severity: RiskLevel | None = None
    symbol: str | None = None
    exchange: str | None = None
    category: AlertCategory | None = None

    def terms(self) -> dict[str, str]:
        """The keyword fields to match, by their document field name."""
        wanted = {
            "userId": self.user_id,
            "patternType": self.pattern_type,
            "severity": self.severity.value if self.severity else None,
            "symbol": self.symbol,
            "exchange": self.exchange,
        }
        return {field: value for field, value in wanted.items() if value is not None}


@dataclass(frozen=True, slots=True)
class AlertCursor:
    """Where the next page of alerts starts: the sort values (timestamp desc, alertId) of the last alert shown.

    Encoded as unpadded URL-safe base64 of a JSON array, so it is opaque to callers and fits a query string.
    """

    timestamp: int
    alert_id: str

    def encode(self) -> str:
        raw = json.dumps([self.timestamp, self.alert_id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, text: str) -> AlertCursor:
        try:
            values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, ValueError) as exc:
            raise _bad_cursor() from exc
        match values:
            case [int() as timestamp, str() as alert_id] if not isinstance(timestamp, bool):
                return cls(timestamp, alert_id)
        raise _bad_cursor()

    def search_after(self) -> list[int | str]:
        return [self.timestamp, self.alert_id]


def _bad_cursor() -> InvalidParameter:
    return InvalidParameter(
        "search_after is not a cursor this API returned: pass the nextCursor of the previous page unchanged, "
        "or leave search_after out to start from the newest alert"
    )
