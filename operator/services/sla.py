"""SLA deadlines: response and resolution targets are minutes of covered time, counted
around the clock or in business hours only (days, start and end in the policy's time zone,
holidays excluded). A pure function of the policy and the incident, so the operator and the
config diff's replay compute the same deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from whisperer.operator.models.v1alpha1.sla import Coverage, SLAPolicySpec

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_DAYS = 366 * 5  # the longest target (a year of covered minutes) fits in business hours


@dataclass(frozen=True)
class Deadlines:
    """When the incident must be responded to and resolved."""

    policy: str
    response_due_at: datetime
    resolution_due_at: datetime


def _clock(text: str | None) -> time:
    hours, minutes = (text or "00:00").split(":")
    return time(int(hours), int(minutes))


def add_covered(coverage: Coverage, start: datetime, minutes: int) -> datetime:
    """The moment `minutes` of covered time after `start` (in UTC)."""
    start = start.astimezone(UTC)
    remaining = timedelta(minutes=minutes)
    if coverage.type == "24x7":
        return start + remaining
    zone = ZoneInfo(coverage.time_zone)
    days = {str(d) for d in coverage.days}
    holidays = {h.date for h in coverage.holidays}
    opens, closes = _clock(coverage.start), _clock(coverage.end)
    day = start.astimezone(zone).date()
    for _ in range(MAX_DAYS):
        if WEEKDAYS[day.weekday()] in days and day not in holidays:
            # Real (UTC) instants of the working day: a DST change day is an hour shorter or
            # longer, as the clock on the wall says.
            begin = datetime.combine(day, opens, zone).astimezone(UTC)
            end = datetime.combine(day, closes, zone).astimezone(UTC)
            begin = max(begin, start)
            if begin < end:
                if end - begin >= remaining:
                    return begin + remaining
                remaining -= end - begin
        day += timedelta(days=1)
    raise ValueError(f"no covered time within {MAX_DAYS} days (coverage has no working days)")


def deadlines(
    name: str, policy: SLAPolicySpec, *, severity: str, opened_at: datetime
) -> Deadlines | None:
    """The deadlines of an incident of `severity` opened at `opened_at`; None when the
    policy has no target for that severity."""
    target = next((t for t in policy.targets if str(t.severity) == severity), None)
    if target is None:
        return None
    return Deadlines(
        policy=name,
        response_due_at=add_covered(policy.coverage, opened_at, target.response_minutes),
        resolution_due_at=add_covered(policy.coverage, opened_at, target.resolution_minutes),
    )
