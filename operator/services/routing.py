"""Who works an incident: routing rules choose the skills, technicians are chosen by skill,
company, shift, leave and workload. A pure function of its inputs, so the operator and the
config diff's replay decide with the same code.

The rules, in order (docs/routing.md):
1. Rules are tried by ascending `order` (then name). The first rule whose match holds
   applies; with `continueMatching` the next matching rules apply too, adding their skills,
   preferred technicians and escalation contacts.
2. A candidate serves the incident's company, has every required skill, is on shift (no
   shifts means always on), is not on leave, and has fewer open incidents than their limit.
3. The first preferred technician who is a candidate takes it; otherwise the candidate with
   the lowest load (open / limit), then fewest open incidents, then name.
4. No candidate: the incident stays unassigned, with the reason (escalation covers it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from whisperer.operator.models.v1alpha1 import RoutingRule, Technician
from whisperer.operator.models.v1alpha1.technician import Shift

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class IncidentTraits:
    """What routing looks at."""

    company: str
    severity: str
    category: str
    asset_tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteDecision:
    """The technician chosen (None: nobody could take it), and why."""

    technician: str | None
    rules: tuple[str, ...]
    skills: tuple[str, ...]
    escalation_contacts: tuple[str, ...]
    reason: str


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def on_shift(shift: Shift, at: datetime) -> bool:
    """Whether `at` falls in the shift. `days` are the days a shift starts on; a shift that
    ends before it starts runs past midnight into the next day."""
    local = at.astimezone(ZoneInfo(shift.time_zone))
    start, end = _clock(shift.start), _clock(shift.end)
    today = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    days = {str(d) for d in shift.days}
    now = local.time()
    if start < end:
        return today in days and start <= now < end
    return (today in days and now >= start) or (yesterday in days and now < end)


def available(technician: Technician, at: datetime) -> bool:
    """On shift (or has no shifts) and not on leave."""
    spec = technician.spec
    if any(leave.start <= at < leave.end for leave in spec.leave):
        return False
    return not spec.shifts or any(on_shift(s, at) for s in spec.shifts)


def _matches(rule: RoutingRule, traits: IncidentTraits) -> bool:
    match = rule.spec.match
    if match.companies and traits.company not in match.companies:
        return False
    if match.severities and traits.severity not in match.severities:
        return False
    if match.signal_categories and traits.category not in match.signal_categories:
        return False
    return all(traits.asset_tags.get(k) == v for k, v in match.asset_tags.items())


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def route(
    traits: IncidentTraits,
    rules: Sequence[RoutingRule],
    technicians: Sequence[Technician],
    *,
    at: datetime,
    workload: Mapping[str, int],
) -> RouteDecision:
    """Choose the technician for an incident (see the module's rules)."""
    applied: list[RoutingRule] = []
    for rule in sorted(rules, key=lambda r: (r.spec.order, r.metadata.name)):
        if _matches(rule, traits):
            applied.append(rule)
            if not rule.spec.continue_matching:
                break
    names = tuple(r.metadata.name for r in applied)
    skills = _unique(s for r in applied for s in r.spec.required_skills)
    preferred = _unique(t for r in applied for t in r.spec.preferred_technicians)
    contacts = _unique(c for r in applied for c in r.spec.escalation_contacts)

    def decision(technician: str | None, reason: str) -> RouteDecision:
        return RouteDecision(technician, names, skills, contacts, reason)

    if not applied:
        return decision(None, "no routing rule matches")
    serving = [t for t in technicians if traits.company in t.spec.companies]
    skilled = [t for t in serving if set(skills) <= set(t.spec.skills)]
    present = [t for t in skilled if available(t, at)]
    free = [t for t in present if workload.get(t.metadata.name, 0) < t.spec.max_open_incidents]
    if not free:
        wanted = f" with {', '.join(skills)}" if skills else ""
        if not serving:
            why = f"no technician serves {traits.company}"
        elif not skilled:
            why = f"no technician serving {traits.company} has the skills{wanted}"
        elif not present:
            why = f"no technician{wanted} is on shift"
        else:
            why = f"every technician{wanted} on shift is at their limit"
        return decision(None, why)
    by_name = {t.metadata.name: t for t in free}
    for name in preferred:
        if name in by_name:
            return decision(name, f"preferred by rule {_rule_of(applied, name)}")
    chosen = min(
        free,
        key=lambda t: (
            workload.get(t.metadata.name, 0) / t.spec.max_open_incidents,
            workload.get(t.metadata.name, 0),
            t.metadata.name,
        ),
    )
    return decision(
        chosen.metadata.name,
        f"least loaded of {len(free)} available technician(s)"
        + (f" with {', '.join(skills)}" if skills else ""),
    )


def _rule_of(applied: Sequence[RoutingRule], technician: str) -> str:
    return next(r.metadata.name for r in applied if technician in r.spec.preferred_technicians)
