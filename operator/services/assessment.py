"""What follows from an incident once correlation has made it: who works it (routing), its
deadlines (SLA) and the runbook that fits (remediation). The operator and the config diff's
replay both call `follow_up` after every placement, each with its own config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from whisperer.operator.models.v1alpha1 import RoutingRule, Runbook, SLAPolicy, Technician
from whisperer.operator.services.correlation.correlator import OpenIncident
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
) -> Deadlines | None:
    """The incident's deadlines under its company's policy, counted from `since` (default:
    when it opened); None without a policy or a target for its severity."""
    policy = policies.get(facts.sla_policy)
    if policy is None:
        return None
    return deadlines(
        facts.sla_policy,
        policy.spec,
        severity=incident.severity,
        opened_at=since or incident.first_at,
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
    if fresh or incident.assignee is None:
        chosen = route(
            traits_of(incident, facts), config.rules, config.technicians, at=at, workload=workload
        )
        if incident.assignee is None and chosen.technician is not None:
            assigned = chosen.technician
    runbook = runbook_for(incident, facts, config.runbooks) if opened else None
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
