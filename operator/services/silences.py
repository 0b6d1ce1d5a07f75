"""Silences: maintenance windows whose matching alerts are recorded but open no incident.

A silence applies at an alert's event time: between startsAt and endsAt, and, with a
recurrence, inside one of the windows its cron starts (in its time zone).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from whisperer.operator.models.v1alpha1 import Silence
from whisperer.operator.services.durations import parse_duration
from whisperer.operator.services.matchers import matches

_NAMES = {
    "JAN": 1,
    "FEB": 2,
    "MAR": 3,
    "APR": 4,
    "MAY": 5,
    "JUN": 6,
    "JUL": 7,
    "AUG": 8,
    "SEP": 9,
    "OCT": 10,
    "NOV": 11,
    "DEC": 12,
    "SUN": 0,
    "MON": 1,
    "TUE": 2,
    "WED": 3,
    "THU": 4,
    "FRI": 5,
    "SAT": 6,
}
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def _value(word: str) -> int:
    """A number, or a month or weekday name."""
    if word.isdigit():
        return int(word)
    if word.upper() in _NAMES:
        return _NAMES[word.upper()]
    raise ValueError(f"bad cron value {word!r}")


def _field(text: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        atom, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if atom == "*":
            start, end = low, high
        else:
            first, _, last = atom.partition("-")
            start = _value(first)
            end = _value(last) if last else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """A five-field cron expression (minute hour day-of-month month day-of-week)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        """Parse; the CRD's pattern already refused malformed expressions."""
        parts = re.split(r"\s+", text.strip())
        if len(parts) != 5:
            raise ValueError(f"a cron expression has five fields: {text!r}")
        fields = [_field(p, lo, hi) for p, (lo, hi) in zip(parts, _RANGES, strict=True)]
        weekdays = frozenset(d % 7 for d in fields[4])  # 7 is Sunday too
        return cls(
            fields[0], fields[1], fields[2], fields[3], weekdays, parts[2] == "*", parts[4] == "*"
        )

    def matches(self, when: datetime) -> bool:
        """Whether a window starts at this minute (cron's day-of-month/day-of-week OR rule)."""
        if when.minute not in self.minutes or when.hour not in self.hours:
            return False
        if when.month not in self.months:
            return False
        day_ok = when.day in self.days
        weekday_ok = (when.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return day_ok and weekday_ok
        return day_ok or weekday_ok


def _active(silence: Silence, at: datetime) -> bool:
    spec = silence.spec
    if spec.starts_at and at < spec.starts_at:
        return False
    if spec.ends_at and at >= spec.ends_at:
        return False
    if spec.recurrence is None:
        return True
    try:
        zone = ZoneInfo(spec.recurrence.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    cron = Cron.parse(spec.recurrence.cron)
    length = parse_duration(spec.recurrence.duration)
    local = at.astimezone(zone).replace(second=0, microsecond=0)
    minutes = int(length.total_seconds() // 60)
    # Windows are half-open: a window started `minutes` ago has just ended.
    return any(cron.matches(local - timedelta(minutes=m)) for m in range(minutes))


def silenced_by(
    silences: Iterable[Silence], *, fields: Mapping[str, str], at: datetime
) -> Silence | None:
    """The first silence (by namespace, name) matching the alert's fields at its event time.

    `fields` are the alert's labels plus asset, signal, severity and source."""
    for silence in sorted(silences, key=lambda s: (s.metadata.namespace or "", s.metadata.name)):
        if matches(silence.spec.matchers, fields) and _active(silence, at):
            return silence
    return None
