"""SLA deadlines: response and resolution targets are minutes of covered time from when the
incident opened, not counting the time it waited on the customer. Pure functions of the
policy and the incident, so the operator and the config diff's replay compute the same
deadlines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from whisperer.operator.models.v1alpha1.sla import EscalationLevel, SLAPolicySpec
from whisperer.operator.services.sla.calendar import add_covered, covered_between

DEFAULT_TARGETS: dict[str, tuple[int, int]] = {
    "critical": (30, 240),
    "high": (120, 480),
    "medium": (480, 1440),
    "low": (1440, 2880),
}
"""(response, resolution) minutes for a policy that names no targets."""
DEFAULT_LEAD = timedelta(minutes=30)
DEFAULT_LADDER = (
    EscalationLevel(level=1, after_minutes=0, targets=["assignee", "on-shift"]),
    EscalationLevel(level=2, after_minutes=30, targets=["company-admins", "company-contacts"]),
    EscalationLevel(level=3, after_minutes=60, targets=["msp-admins"]),
)
"""The ladder of a policy that names none: the seed's three levels."""


@dataclass(frozen=True)
class Pause:
    """A time the incident waited on the customer (`end` None: it still does)."""

    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class Deadlines:
    """When the incident must be responded to and resolved."""

    policy: str
    response_due_at: datetime
    resolution_due_at: datetime


def targets(policy: SLAPolicySpec, severity: str) -> tuple[int, int] | None:
    """(response, resolution) minutes for a severity; None when it has none."""
    if not policy.targets:
        return DEFAULT_TARGETS.get(severity)
    found = next((t for t in policy.targets if str(t.severity) == severity), None)
    return (found.response_minutes, found.resolution_minutes) if found else None


def ladder(policy: SLAPolicySpec) -> tuple[EscalationLevel, ...]:
    """The escalation levels, in order."""
    return tuple(sorted(policy.escalation, key=lambda e: e.level)) or DEFAULT_LADDER


def warning_lead(policy: SLAPolicySpec, minutes: int) -> timedelta:
    """How long before a deadline of `minutes` the warning goes out (never before the start
    of the clock: at most half the time to the deadline)."""
    if policy.warning_lead_minutes is not None:
        lead = timedelta(minutes=policy.warning_lead_minutes)
    elif policy.warning_lead_percent is not None:
        lead = timedelta(minutes=minutes * policy.warning_lead_percent / 100)
    else:
        lead = DEFAULT_LEAD
    return min(lead, timedelta(minutes=minutes) / 2)


def paused_time(policy: SLAPolicySpec, pauses: Sequence[Pause], *, until: datetime) -> timedelta:
    """Covered time spent waiting on the customer before `until`."""
    return sum(
        (
            covered_between(policy.coverage, p.start, min(p.end or until, until))
            for p in pauses
            if p.start < until
        ),
        timedelta(0),
    )


def due(
    policy: SLAPolicySpec, opened_at: datetime, minutes: float, pauses: Sequence[Pause]
) -> datetime | None:
    """The moment `minutes` of covered time after `opened_at` have run, the clock stopped
    while the incident waited on the customer; None while it waits (the clock stands
    still: the deadline is not known yet)."""
    deadline = add_covered(policy.coverage, opened_at, minutes)
    for _ in range(len(pauses) + 1):  # a pause moves the deadline, which may take in another
        before = [p for p in pauses if p.start < deadline]
        if any(p.end is None for p in before):
            return None
        waited = sum(
            (covered_between(policy.coverage, p.start, p.end) for p in before if p.end),
            timedelta(0),
        )
        moved = add_covered(policy.coverage, opened_at, timedelta(minutes=minutes) + waited)
        if moved == deadline:
            break
        deadline = moved
    return deadline


def deadlines(
    name: str,
    policy: SLAPolicySpec,
    *,
    severity: str,
    opened_at: datetime,
    pauses: Sequence[Pause] = (),
) -> Deadlines | None:
    """The deadlines of an incident of `severity` opened at `opened_at`; None when the
    policy has no target for that severity, or while the incident waits on the customer."""
    found = targets(policy, severity)
    if found is None:
        return None
    response = due(policy, opened_at, found[0], pauses)
    resolution = due(policy, opened_at, found[1], pauses)
    if response is None or resolution is None:
        return None
    return Deadlines(policy=name, response_due_at=response, resolution_due_at=resolution)
