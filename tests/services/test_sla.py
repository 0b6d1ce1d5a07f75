"""SLA deadlines: around the clock, business hours (days, time zone, holidays, DST), and a
severity without a target."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from whisperer.operator.models.v1alpha1.sla import Coverage, SLAPolicySpec
from whisperer.operator.services.sla import add_covered, deadlines

BUSINESS = {
    "type": "BusinessHours",
    "timeZone": "America/New_York",
    "days": ["Mon", "Tue", "Wed", "Thu", "Fri"],
    "start": "09:00",
    "end": "17:00",
    "holidays": [{"date": "2026-11-26", "name": "Thanksgiving"}],
}


def coverage(**kw: Any) -> Coverage:
    return Coverage.model_validate({**BUSINESS, **kw})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_around_the_clock_adds_plain_minutes() -> None:
    assert add_covered(coverage(type="24x7"), utc(2026, 11, 28, 23, 50), 30) == utc(
        2026, 11, 29, 0, 20
    )


def test_business_hours_count_only_working_time() -> None:
    # Wed 2026-11-25 16:30 New York (21:30 UTC): 30 min left that day; Thu is a holiday;
    # Fri from 09:00 (14:00 UTC): 90 more minutes -> Fri 10:30 New York = 15:30 UTC.
    assert add_covered(coverage(), utc(2026, 11, 25, 21, 30), 120) == utc(2026, 11, 27, 15, 30)


def test_an_incident_opened_at_night_starts_counting_in_the_morning() -> None:
    # Sat 03:00 UTC -> Monday 09:00 New York (14:00 UTC) + 60 min.
    assert add_covered(coverage(), utc(2026, 11, 28, 3, 0), 60) == utc(2026, 11, 30, 15, 0)


def test_daylight_saving_moves_the_working_day_in_utc() -> None:
    # New York switches to EDT on 2026-03-08: Monday 9:00 is 13:00 UTC, the Friday before 14:00.
    assert add_covered(coverage(holidays=[]), utc(2026, 3, 6, 21, 59), 61) == utc(2026, 3, 9, 14, 0)


def test_deadlines_per_severity_and_none_without_a_target() -> None:
    policy = SLAPolicySpec.model_validate(
        {
            "targets": [{"severity": "critical", "responseMinutes": 15, "resolutionMinutes": 240}],
            "coverage": {"type": "24x7"},
        }
    )
    found = deadlines("premium", policy, severity="critical", opened_at=utc(2026, 1, 1, 0, 0))
    assert found is not None
    assert found.policy == "premium"
    assert found.response_due_at == utc(2026, 1, 1, 0, 15)
    assert found.resolution_due_at == utc(2026, 1, 1, 4, 0)
    assert deadlines("premium", policy, severity="low", opened_at=utc(2026, 1, 1)) is None


def test_coverage_without_working_days_is_an_error_not_a_hang() -> None:
    empty = Coverage.model_construct(
        type="BusinessHours", time_zone="UTC", days=[], start="09:00", end="17:00", holidays=[]
    )
    with pytest.raises(ValueError, match="no covered time"):
        add_covered(empty, utc(2026, 1, 1), 10)
