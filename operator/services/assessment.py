"""What follows from an incident once correlation has made it: who works it (routing), its
deadlines (SLA) and the runbook that fits (remediation). The operator calls `assess` when
an incident opens or reopens, and `deadlines_for` when its severity changes; the config
diff's replay calls the same functions with the proposed config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from whisperer.operator.models.v1alpha1 import RoutingRule, Runbook, SLAPolicy, Technician
from whisperer.operator.services.correlation import OpenIncident
from whisperer.operator.services.facts import AssetFacts, CompanyFacts
from whisperer.operator.services.remediation import RunbookChoice, choose_runbook
from whisperer.operator.services.routing import IncidentTraits, RouteDecision, route
from whisperer.operator.services.sla import Deadlines, deadlines


@dataclass(frozen=True)
class Assessment:
    """Routing, SLA and remediation for one incident."""

    route: RouteDecision
    deadlines: Deadlines | None
    runbook: RunbookChoice | None


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


def assess(
    incident: OpenIncident,
    facts: CompanyFacts,
    *,
    policies: Mapping[str, SLAPolicy],
    rules: Sequence[RoutingRule],
    technicians: Sequence[Technician],
    runbooks: Sequence[Runbook],
    workload: Mapping[str, int],
    at: datetime,
    since: datetime | None = None,
) -> Assessment:
    """Route the incident (as of `at`), compute its deadlines and choose its runbook."""
    asset = facts.assets.get(incident.cause_asset, AssetFacts())
    return Assessment(
        route=route(traits_of(incident, facts), rules, technicians, at=at, workload=workload),
        deadlines=deadlines_for(incident, facts, policies, since=since),
        runbook=choose_runbook(
            runbooks,
            company_namespace=f"company-{incident.company}",
            signal=incident.cause_signal,
            severity=incident.severity,
            asset=asset,
            auto_run_low_risk=facts.auto_run_low_risk,
        )
        if incident.cause_asset
        else None,
    )


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sla_status(found: Deadlines | None) -> dict[str, Any] | None:
    """The incident's `status.sla` deadlines (the breach fields are the SLA tracker's)."""
    if found is None:
        return None
    return {
        "policy": found.policy,
        "responseDueAt": _iso(found.response_due_at),
        "resolutionDueAt": _iso(found.resolution_due_at),
        "nextDueAt": _iso(found.response_due_at),
    }
