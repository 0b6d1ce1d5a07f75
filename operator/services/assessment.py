"""What follows from an incident once correlation has made it: who works it (routing), its
deadlines (SLA) and the runbook that fits (remediation). The operator and the config diff's
replay both call `follow_up` after every placement, each with its own config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from whisperer.operator.models.v1alpha1 import RoutingRule, Runbook, SLAPolicy, Technician
from whisperer.operator.services.correlation.correlator import OpenIncident
from whisperer.operator.services.correlation.priority import SEVERITY_RANK
from whisperer.operator.services.facts import AssetFacts, CompanyFacts
from whisperer.operator.services.remediation import RunbookChoice, choose_runbook
from whisperer.operator.services.routing import IncidentTraits, RouteDecision, route
from whisperer.operator.services.sla import Deadlines, deadlines
from whisperer.operator.services.tenancy import namespace_name


def traits_of(incident: OpenIncident, facts: CompanyFacts) -> IncidentTraits:
    """What routing matches on: company, severity, signal category, the cause asset's tags."""
    asset = facts.assets.get(incident.cause_asset, AssetFacts())
    return IncidentTraits(
        company=incident.company,
        severity=incident.severity,
        category=incident.cause_category,
        asset_tags=asset.tags,
    )


def deadlines_for(
    incident: OpenIncident,
    facts: CompanyFacts,
    policies: Mapping[str, SLAPolicy],
    *,
    since: datetime | None = None,
    severity: str | None = None,
) -> Deadlines | None:
    """The incident's deadlines under its company's policy, counted from `since` (default:
    when it opened), for `severity` (default: its own); None without a policy or a target
    for the severity."""
    policy = policies.get(facts.sla_policy)
    if policy is None:
        return None
    return deadlines(
        facts.sla_policy,
        policy.spec,
        severity=severity or incident.severity,
        opened_at=since or incident.first_at,
    )


QUIET_SEVERITIES = ("info", "low")


def is_noise(incident: OpenIncident, facts: CompanyFacts) -> bool:
    """Known noise: only low or info alerts, of a problem that keeps recurring (the periodic
    detector saw it, it came back after a quiet gap, or it had opened an incident before)
    or of a signal the company marks as noise. It pages nobody; it stays visible and
    counted."""
    if incident.severity not in QUIET_SEVERITIES:
        return False
    return (
        incident.pattern == "periodic"
        or incident.reopened > 0
        or incident.recurring
        or incident.cause_signal in facts.noise_signals
    )


@dataclass(frozen=True)
class Rules:
    """The config routing, SLA and remediation read (from Kopf indexes in the operator, from
    the replayed config in the diff)."""

    policies: Mapping[str, SLAPolicy]
    rules: Sequence[RoutingRule]
    technicians: Sequence[Technician]
    runbooks: Sequence[Runbook]


@dataclass(frozen=True)
class FollowUp:
    """What changed on an incident after an alert placed it: `route` when routing ran (and
    `assigned` when it chose someone new), `runbook` for a new incident, `deadlines` when
    they were (re)computed (`deadlines_changed`)."""

    route: RouteDecision | None = None
    assigned: str | None = None
    runbook: RunbookChoice | None = None
    deadlines_changed: bool = False
    deadlines: Deadlines | None = None
    raised_from: str | None = None
    """The severity it had before an alert raised it (None: no rise)."""
    rerouted: bool = False
    """`assigned` replaces the assignee: after a rise the routing rules now choose otherwise."""
    noise: bool = False
    """Known noise (`is_noise`): nobody is assigned, no deadlines run."""


def follow_up(
    incident: OpenIncident,
    facts: CompanyFacts,
    config: Rules,
    *,
    opened: bool,
    reopened: bool,
    workload: Mapping[str, int],
    at: datetime,
) -> FollowUp:
    """After an alert joined, opened or reopened `incident`: route a new or reopened one (a
    reopened one keeps its technician) and one nobody could take yet; recompute deadlines
    when it (re)opened or its severity changed. Updates `incident.assessed_severity`; the
    caller records `assigned` (`Correlator.assign`, which keeps the load routing sees)."""
    fresh = opened or reopened
    chosen: RouteDecision | None = None
    assigned: str | None = None
    before = incident.assessed_severity
    raised = (
        not fresh
        and before is not None
        and SEVERITY_RANK.get(incident.severity, 0) > SEVERITY_RANK.get(before, 0)
    )
    noise = is_noise(incident, facts)
    if noise:  # pages nobody; no deadlines run (they would escalate)
        changed = fresh or before != incident.severity
        incident.assessed_severity = incident.severity
        return FollowUp(deadlines_changed=changed, noise=True)
    rerouted = False
    if fresh or incident.assignee is None or raised:
        chosen = route(
            traits_of(incident, facts), config.rules, config.technicians, at=at, workload=workload
        )
        if incident.assignee is None and chosen.technician is not None:
            assigned = chosen.technician
        elif raised and before is not None and chosen.technician not in (None, incident.assignee):
            was = IncidentTraits(
                company=incident.company,
                severity=before,
                category=incident.cause_category,
                asset_tags=traits_of(incident, facts).asset_tags,
            )
            earlier = route(was, config.rules, config.technicians, at=at, workload=workload)
            if earlier.rules != chosen.rules:  # the rules say otherwise now, not the load
                assigned, rerouted = chosen.technician, True
    runbook = runbook_for(incident, facts, config.runbooks) if opened else None
    if raised and before is not None:  # the SLA clocks tighten the deadlines (services/sla)
        incident.assessed_severity = incident.severity
        found = deadlines_for(incident, facts, config.policies, since=incident.opened_at)
        return FollowUp(
            chosen, assigned, runbook, True, found, raised_from=before, rerouted=rerouted
        )
    if fresh or incident.assessed_severity != incident.severity:
        incident.assessed_severity = incident.severity
        found = deadlines_for(incident, facts, config.policies, since=incident.opened_at)
        return FollowUp(chosen, assigned, runbook, True, found)
    return FollowUp(chosen, assigned, runbook)


def runbook_for(
    incident: OpenIncident, facts: CompanyFacts, runbooks: Sequence[Runbook]
) -> RunbookChoice | None:
    """The runbook that fits the incident's cause (none for a storm: it has no one asset)."""
    if not incident.cause_asset:
        return None
    return choose_runbook(
        runbooks,
        company_namespace=namespace_name(incident.company),
        signal=incident.cause_signal,
        severity=incident.severity,
        asset=facts.assets.get(incident.cause_asset, AssetFacts()),
        auto_run_low_risk=facts.auto_run_low_risk,
    )
