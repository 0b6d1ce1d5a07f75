"""Covered time: SLA minutes run around the clock, or in business hours only (days, start and
end in the policy's time zone, holidays excluded; a day on which daylight saving changes is
as long as the wall clock says)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from whisperer.operator.models.v1alpha1.sla import Coverage

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_DAYS = 366 * 5  # the longest target (a year of covered minutes) fits in business hours


def _clock(text: str | None) -> time:
    hours, minutes = (text or "00:00").split(":")
    return time(int(hours), int(minutes))


def add_covered(coverage: Coverage, start: datetime, minutes: float | timedelta) -> datetime:
    """The moment `minutes` of covered time after `start` (in UTC)."""
    remaining = minutes if isinstance(minutes, timedelta) else timedelta(minutes=minutes)
    for begin, end in _windows(coverage, start):
        # Real (UTC) instants of the working day: a DST change day is an hour shorter or
        # longer, as the clock on the wall says.
        if end - begin >= remaining:
            return begin + remaining
        remaining -= end - begin
    raise ValueError(f"no covered time within {MAX_DAYS} days (coverage has no working days)")


def _windows(coverage: Coverage, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The covered windows (UTC) from `start` on, in order."""
    start = start.astimezone(UTC)
    if coverage.type == "24x7":
        yield start, datetime.max.replace(tzinfo=UTC)
        return
    zone = ZoneInfo(coverage.time_zone)
    days = {str(d) for d in coverage.days}
    holidays = {h.date for h in coverage.holidays}
    opens, closes = _clock(coverage.start), _clock(coverage.end)
    day = start.astimezone(zone).date()
    for _ in range(MAX_DAYS):
        if WEEKDAYS[day.weekday()] in days and day not in holidays:
            begin = datetime.combine(day, opens, zone).astimezone(UTC)
            end = datetime.combine(day, closes, zone).astimezone(UTC)
            begin = max(begin, start)
            if begin < end:
                yield begin, end
        day += timedelta(days=1)


def covered_between(coverage: Coverage, start: datetime, end: datetime) -> timedelta:
    """How much covered time lies between `start` and `end`."""
    if end <= start:
        return timedelta(0)
    total = timedelta(0)
    for begin, close in _windows(coverage, start):
        if begin >= end:
            break
        total += min(close, end) - begin
    return total


def is_covered(coverage: Coverage, at: datetime) -> bool:
    """Whether the clock runs at `at`."""
    for begin, close in _windows(coverage, at):
        return begin <= at.astimezone(UTC) < close
    return False
