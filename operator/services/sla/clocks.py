"""An incident's SLA clocks, worked out from the incident alone (and its company's policy):
deadlines with the customer's waits taken out, when it was responded to and resolved, how
each deadline was met, and the steps that are due now (a warning, a breach, an escalation
level or its repeat) with when the next one falls.

A pure function of the incident, the policy, who the technicians are and the time: the
SLA service runs it at write time (`Change.compute`), so a step is recorded once, from the
incident as it is then; a restart or a second replica finds it recorded and takes it no
more.

- Response ends at the first acknowledgement or technician action after the incident
  (re)opened: a note, a reassignment, a wait on the customer or a resolution by a
  technician (an Incident's acknowledgement is made once, so a reopened incident is
  responded to by a technician's next action).
- Resolution ends at any resolution (technician, hold-down, automation).
- Deadlines follow the higher of the rules' severity and the shown one: an AI that raises
  the severity tightens them, one that lowers it never loosens a promise already made.
- Escalation starts at a missed response (or at once when nobody could be assigned) and
  climbs the policy's ladder, then repeats the last level while nobody responds; it stops
  at a response or a resolution.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from whisperer.operator.clock import rfc3339
from whisperer.operator.models.v1alpha1.sla import SLAPolicySpec
from whisperer.operator.services.correlation.priority import higher
from whisperer.operator.services.sla.calendar import covered_between
from whisperer.operator.services.sla.deadlines import (
    Pause,
    deadlines,
    ladder,
    targets,
    warning_lead,
)
from whisperer.operator.services.sla.deadlines import (
    due as due_at,
)

Clock = Literal["response", "resolution"]


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@dataclass(frozen=True)
class Step:
    """Something the clocks call for now: `kind` warning, breach or escalation."""

    kind: Literal["warning", "breach", "escalation"]
    clock: Clock
    level: int = 0
    repeat: int = 0
    reason: str = ""
    due_at: datetime | None = None


@dataclass(frozen=True)
class Evaluation:
    """The incident's `status.sla` and `escalationLevel` as they should be, what was taken
    now, and when to look again (None: nothing left to wait for)."""

    sla: dict[str, Any]
    escalation_level: int
    steps: list[Step] = field(default_factory=list)
    next_at: datetime | None = None


def pauses_of(spec: Mapping[str, Any]) -> list[Pause]:
    """The customer waits in an incident's spec."""
    found = []
    for wait in spec.get("customerWaits") or []:
        start = _time(wait.get("at"))
        if start is not None:
            found.append(Pause(start, _time(wait.get("resumedAt"))))
    return sorted(found, key=lambda p: p.start)


def responded_at(
    spec: Mapping[str, Any],
    status: Mapping[str, Any],
    *,
    since: datetime,
    technicians: Collection[str],
) -> datetime | None:
    """The first response after `since`: the acknowledgement, or a technician's note,
    wait, reopening or resolution, or a reassignment by hand."""
    moments: list[datetime] = []
    ack = spec.get("acknowledgement") or {}
    if (at := _time(ack.get("at"))) is not None:
        moments.append(at)
    for note in spec.get("notes") or []:
        if note.get("author") in technicians and (at := _time(note.get("at"))) is not None:
            moments.append(at)
    for wait in spec.get("customerWaits") or []:
        if (at := _time(wait.get("at"))) is not None:
            moments.append(at)
    for reopening in spec.get("reopenings") or []:
        if (at := _time(reopening.get("at"))) is not None:
            moments.append(at)
    resolution = spec.get("resolution") or {}
    if (at := _time(resolution.get("at"))) is not None:
        moments.append(at)
    for entry in status.get("timeline") or []:
        if entry.get("type") == "Reassigned" and (at := _time(entry.get("at"))) is not None:
            moments.append(at)
    after = [m for m in moments if m >= since]
    return min(after) if after else None


def _margin(policy: SLAPolicySpec, at: datetime, due: datetime) -> int:
    """Minutes of covered time to spare (negative: late by)."""
    if at <= due:
        return int(covered_between(policy.coverage, at, due).total_seconds() // 60)
    return -int(covered_between(policy.coverage, due, at).total_seconds() // 60)


def evaluate(
    spec: Mapping[str, Any],
    status: Mapping[str, Any],
    *,
    policy_name: str,
    policy: SLAPolicySpec,
    technicians: Collection[str],
    now: datetime,
) -> Evaluation | None:
    """The clocks of an incident (None: it has no opening, or no target for its severity)."""
    opened_at = _time(status.get("openedAt"))
    if opened_at is None:
        return None
    rules = status.get("rules") or {}
    severity = higher(str(rules.get("severity") or "info"), str(status.get("severity") or "info"))
    found = targets(policy, severity)
    if found is None:
        return None
    episode = int(status.get("reopened") or 0)
    recorded = dict(status.get("sla") or {})
    if int(recorded.get("episode") or 0) != episode:
        recorded = {}  # reopened: the clocks start again
    level = int(status.get("escalationLevel") or 0) if recorded else 0
    pauses = [p for p in pauses_of(spec) if p.end is None or p.end > opened_at]
    paused_since = next((p.start for p in pauses if p.end is None), None)
    known = deadlines(policy_name, policy, severity=severity, opened_at=opened_at, pauses=pauses)
    response_due = known.response_due_at if known else _time(recorded.get("responseDueAt"))
    resolution_due = known.resolution_due_at if known else _time(recorded.get("resolutionDueAt"))
    responded = responded_at(spec, status, since=opened_at, technicians=technicians)
    resolved = _time(status.get("resolvedAt")) if status.get("phase") == "Resolved" else None
    # Waits that ended (the open one is `pausedSince`): a function of the incident alone,
    # so a paused incident's clocks do not change by the minute.
    paused = sum(
        (
            covered_between(policy.coverage, max(p.start, opened_at), p.end)
            for p in pauses
            if p.end is not None
        ),
        timedelta(0),
    )
    sla: dict[str, Any] = {
        "policy": policy_name,
        "episode": episode,
        "responseDueAt": rfc3339(response_due) if response_due else None,
        "resolutionDueAt": rfc3339(resolution_due) if resolution_due else None,
        "respondedAt": rfc3339(responded) if responded else None,
        "resolvedAt": rfc3339(resolved) if resolved else None,
        "pausedMinutes": int(paused.total_seconds() // 60),
        "pausedSince": rfc3339(paused_since) if paused_since else None,
        "responseWarnedAt": recorded.get("responseWarnedAt"),
        "resolutionWarnedAt": recorded.get("resolutionWarnedAt"),
        "responseBreached": bool(recorded.get("responseBreached")),
        "resolutionBreached": bool(recorded.get("resolutionBreached")),
        "escalatedAt": recorded.get("escalatedAt"),
        "escalationRepeats": int(recorded.get("escalationRepeats") or 0),
        "escalationReason": recorded.get("escalationReason"),
    }
    steps: list[Step] = []
    waits: list[datetime] = []
    running = paused_since is None
    clocks: tuple[tuple[Clock, datetime | None, datetime | None, int], ...] = (
        ("response", response_due, responded or resolved, found[0]),
        ("resolution", resolution_due, resolved, found[1]),
    )
    for clock, due, done, minutes in clocks:
        if due is None:
            continue
        if done is not None:
            sla[f"{clock}Outcome"] = "met" if done <= due else "breached"
            sla[f"{clock}MarginMinutes"] = _margin(policy, done, due)
            continue
        if sla[f"{clock}Breached"]:
            sla[f"{clock}Outcome"] = "breached"
            continue
        if not running:
            continue
        # The lead is covered time too: 30 minutes before a Monday 09:15 deadline under
        # business hours is Friday 16:45, not Monday 08:45.
        # The latest such moment: a second of covered time later, less that second (the
        # boundary of a working day belongs to the next one).
        lead = warning_lead(policy, minutes).total_seconds() / 60
        later = due_at(policy, opened_at, minutes - lead + 1 / 60, pauses)
        warn_at = later - timedelta(seconds=1) if later is not None else due
        if now >= due:
            sla[f"{clock}Breached"] = True
            sla[f"{clock}Outcome"] = "breached"
            steps.append(Step("breach", clock, due_at=due))
        elif now >= warn_at:
            if not sla[f"{clock}WarnedAt"]:
                sla[f"{clock}WarnedAt"] = rfc3339(now)
                steps.append(Step("warning", clock, due_at=due))
            waits.append(due)
        else:
            waits.append(warn_at)
    # Escalation: from the missed response (or at once with nobody to assign it to), level
    # by level, then the last one again while nobody responds.
    unhandled = responded is None and resolved is None and running
    nobody = not status.get("assignee") and any(
        e.get("type") == "Unassigned" for e in status.get("timeline") or []
    )
    start: datetime | None = None
    reason = ""
    if unhandled and sla["responseBreached"] and response_due is not None:
        start, reason = response_due, "ResponseMissed"
    elif unhandled and nobody:
        start, reason = opened_at, "NoTechnicianAvailable"
    if start is not None:
        levels = ladder(policy)
        for each in levels:
            at = start + timedelta(minutes=each.after_minutes)
            if each.level <= level:
                continue
            if now >= at:
                level = each.level
                sla["escalatedAt"], sla["escalationReason"] = rfc3339(now), reason
                steps.append(Step("escalation", "response", level=level, reason=reason))
            else:
                waits.append(at)
                break
        every = timedelta(minutes=policy.escalation_repeat_minutes)
        if level >= levels[-1].level and every and sla["escalatedAt"]:
            last = _time(sla["escalatedAt"])
            assert last is not None
            if now >= last + every:
                sla["escalationRepeats"] += 1
                sla["escalatedAt"] = rfc3339(now)
                steps.append(
                    Step(
                        "escalation",
                        "response",
                        level=level,
                        repeat=sla["escalationRepeats"],
                        reason=reason,
                    )
                )
                waits.append(now + every)
            else:
                waits.append(last + every)
    return Evaluation(
        sla={k: v for k, v in sla.items() if v is not None},
        escalation_level=level,
        steps=steps,
        next_at=min(waits) if waits else None,
    )


def entry_of(step: Step, *, policy_name: str, now: datetime) -> dict[str, str]:
    """The timeline entry of a step."""
    actor = f"policy:SLAPolicy/{policy_name}"
    due = f" (due {rfc3339(step.due_at)})" if step.due_at else ""
    if step.kind == "warning":
        return {
            "at": rfc3339(now),
            "type": "SLAWarning",
            "actor": actor,
            "message": f"the {step.clock} deadline is near{due}",
        }
    if step.kind == "breach":
        return {
            "at": rfc3339(now),
            "type": "SLABreached",
            "actor": actor,
            "message": f"the {step.clock} deadline passed{due}",
        }
    again = f", again ({step.repeat})" if step.repeat else ""
    return {
        "at": rfc3339(now),
        "type": "Escalated",
        "actor": actor,
        "message": f"level {step.level}{again}: {step.reason}",
    }
