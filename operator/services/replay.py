"""Replay alerts through the operator's decisions under a given config, and compare two
replays: what a config change would do to grouping, routing, SLA deadlines and runbooks.

A replay runs the operator's own code: `pipeline.place` (silences, inhibition,
correlation) for every firing alert and `assessment.follow_up` (routing, deadlines,
runbook) for every incident an alert touches. What differs from the operator is only the
clock: the replay runs in event time, so a technician's shift is judged at the moment
the incident opened, and an incident auto-resolves once its alerts have been quiet for the
company's hold-down (the operator's timer does that in wall-clock time). Both sides of a
comparison are replayed the same way, so a difference comes from the config alone.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from whisperer.operator.models.v1alpha1 import (
    Alert,
    RoutingRule,
    Runbook,
    SignalRule,
    Silence,
    SLAPolicy,
    Technician,
)
from whisperer.operator.services import assessment
from whisperer.operator.services.correlation import Correlator, pipeline
from whisperer.operator.services.correlation.correlator import auto_resolve_due
from whisperer.operator.services.correlation.staleness import stale_at
from whisperer.operator.services.facts import CompanyFacts, facts_of
from whisperer.operator.services.inhibition import FiringAlert
from whisperer.operator.services.signals import Taxonomy, default_taxonomy
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE, company_of_namespace

CONFIG_KINDS = (
    "Company",
    "SLAPolicy",
    "RoutingRule",
    "Technician",
    "Runbook",
    "Silence",
    "SignalRule",
)


@dataclass(frozen=True)
class Config:
    """The config a replay decides with."""

    companies: Mapping[str, CompanyFacts]
    rules: assessment.Rules
    silences: Sequence[Silence]
    taxonomy: Taxonomy = field(default_factory=default_taxonomy)
    """What the webhook classifies alert names with (the built-in rules behind the
    SignalRules): alerts are classified again with it before they are placed."""

    @classmethod
    def from_bodies(cls, bodies: Iterable[Mapping[str, Any]]) -> Config:
        """From API objects or git documents (other kinds are ignored)."""
        companies: dict[str, CompanyFacts] = {}
        policies: dict[str, SLAPolicy] = {}
        rules: list[RoutingRule] = []
        technicians: list[Technician] = []
        runbooks: list[Runbook] = []
        silences: list[Silence] = []
        signal_rules: list[SignalRule] = []
        for body in bodies:
            kind, name = body.get("kind"), body["metadata"]["name"]
            if kind == "Company":
                companies[name] = facts_of(body.get("spec") or {})
            elif kind == "SLAPolicy":
                policies[name] = SLAPolicy.from_body(body)
            elif kind == "RoutingRule":
                rules.append(RoutingRule.from_body(body))
            elif kind == "Technician":
                technicians.append(Technician.from_body(body))
            elif kind == "Runbook":
                runbooks.append(Runbook.from_body(body))
            elif kind == "Silence":
                silences.append(Silence.from_body(body))
            elif kind == "SignalRule":
                signal_rules.append(SignalRule.from_body(body))
        return cls(
            companies,
            assessment.Rules(policies, rules, technicians, runbooks),
            silences,
            Taxonomy.build(signal_rules) if signal_rules else default_taxonomy(),
        )


@dataclass
class Outcome:
    """One incident as the replay left it."""

    id: str  # namespace/name
    alerts: set[str] = field(default_factory=set)
    assignee: str | None = None
    route_reason: str = ""
    response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    runbook: str | None = None
    runbook_auto: bool = False


@dataclass
class Replay:
    """Where every alert went (an incident id, or why none) and every incident's outcome."""

    placed: dict[str, str] = field(default_factory=dict)
    incidents: dict[str, Outcome] = field(default_factory=dict)
    signals: dict[str, str] = field(default_factory=dict)  # alert -> canonical signal


def replay(alerts: Sequence[Alert], config: Config) -> Replay:
    """Replay `alerts` (firing at firstSeen, resolving at resolvedAt when resolved, or going
    stale after their tool's timeout from lastSeen, within the replayed time) in event order
    under `config`. The replay sees each alert's final state only: the reports between
    firstSeen and lastSeen (and the episodes they made) are not replayed."""
    events: list[tuple[datetime, int, int, Alert]] = []
    result = Replay()
    for n, given in enumerate(alerts):
        alert = classified(given, config.taxonomy)
        result.signals[f"{given.metadata.namespace or ''}/{given.metadata.name}"] = (
            alert.spec.signal
        )
        events.append((alert.spec.first_seen, 0, n, alert))
        if alert.spec.state == "resolved":
            ended = alert.spec.resolved_at or alert.spec.last_seen
            events.append((max(ended, alert.spec.first_seen), 1, n, alert))
    horizon = max((a.spec.last_seen for a in alerts), default=None)
    for n, given in enumerate(alerts):  # firing point events go stale, as in the operator
        facts = config.companies.get(company_of_namespace(given.metadata.namespace) or "")
        if given.spec.state != "firing" or facts is None or horizon is None:
            continue
        due = stale_at(
            facts,
            source=str(given.spec.source),
            reported=given.spec.last_seen,
            ends_at=given.spec.ends_at,
        )
        if due is not None and due <= horizon:
            events.append((max(due, given.spec.first_seen), 1, n, given))
    heapq.heapify(events)
    correlator = Correlator()
    firing: dict[str, dict[str, FiringAlert]] = {}
    while events:
        at, resolves, _, alert = heapq.heappop(events)
        namespace = alert.metadata.namespace or ""
        company = company_of_namespace(namespace) or ""
        alert_id = f"{namespace}/{alert.metadata.name}"
        facts = config.companies.get(company)
        if facts is None:
            result.placed[alert_id] = f"no company {company}"
            continue
        _auto_resolve(correlator, company, facts, at)
        if resolves:
            firing.get(namespace, {}).pop(alert.metadata.name, None)
            target = result.placed.get(alert_id, "")
            if target.startswith(namespace + "/"):
                correlator.alert_resolved(
                    company, target.partition("/")[2], alert.metadata.name, at, event_at=at
                )
            continue
        placed = pipeline.place(
            correlator,
            alert,
            company,
            facts,
            silences=[
                s
                for s in config.silences
                if s.metadata.namespace in (namespace, PLATFORM_NAMESPACE)
            ],
            firing=list(firing.get(namespace, {}).values()),
        )
        if placed.silence is not None:
            s = placed.silence
            result.placed[alert_id] = f"silenced by {s.metadata.namespace}/{s.metadata.name}"
            # Still firing: as in the operator's index, it may inhibit others.
            firing.setdefault(namespace, {})[alert.metadata.name] = FiringAlert(
                alert.metadata.name, placed.fields, None
            )
            continue
        if placed.inhibitor is not None:
            muted_into = placed.inhibitor.incident
            result.placed[alert_id] = (
                f"{namespace}/{muted_into}" if muted_into else f"muted by {placed.inhibitor.name}"
            )
            if muted_into and f"{namespace}/{muted_into}" in result.incidents:
                result.incidents[f"{namespace}/{muted_into}"].alerts.add(alert_id)
            continue
        decision, incident = placed.decision, placed.incident
        assert decision is not None and incident is not None
        incident_id = f"{namespace}/{incident.name}"
        result.placed[alert_id] = incident_id
        for absorbed in decision.absorbed:  # a late cause takes its dependants' incidents in
            gone = result.incidents.pop(f"{namespace}/{absorbed}", None)
            if gone is not None:
                result.incidents.setdefault(incident_id, Outcome(incident_id)).alerts |= gone.alerts
                for moved in gone.alerts:
                    result.placed[moved] = incident_id
        firing.setdefault(namespace, {})[alert.metadata.name] = FiringAlert(
            alert.metadata.name, placed.fields, incident.name
        )
        outcome = result.incidents.setdefault(incident_id, Outcome(incident_id))
        outcome.alerts.add(alert_id)
        done = assessment.follow_up(
            incident,
            facts,
            config.rules,  # the runbook choice keeps to the company's and the platform's
            opened=decision.new,
            reopened=decision.reopened,
            workload=correlator.workload(),
            at=at,
        )
        if done.assigned is not None:
            correlator.assign(incident, done.assigned)
        outcome.assignee = incident.assignee
        if done.route is not None and (done.assigned or outcome.route_reason == ""):
            outcome.route_reason = done.route.reason
        if done.runbook is not None:
            outcome.runbook, outcome.runbook_auto = done.runbook.runbook, done.runbook.auto_run
        if done.deadlines_changed:
            found = done.deadlines
            outcome.response_due_at = found.response_due_at if found else None
            outcome.resolution_due_at = found.resolution_due_at if found else None
    return result


def classified(alert: Alert, taxonomy: Taxonomy) -> Alert:
    """The alert as the webhook would write it under `taxonomy`: its canonical signal and
    `signal_category` label from the tool's own name (`rawSignal`), when it has one."""
    if not alert.spec.raw_signal:
        return alert
    signal = taxonomy.classify(alert.spec.raw_signal, source=str(alert.spec.source))
    labels = {**alert.spec.labels, "signal_category": signal.category}
    if signal.name == alert.spec.signal and labels == alert.spec.labels:
        return alert
    spec = alert.spec.model_copy(update={"signal": signal.name, "labels": labels})
    return alert.model_copy(update={"spec": spec})


def _auto_resolve(correlator: Correlator, company: str, facts: CompanyFacts, at: datetime) -> None:
    """What the operator's auto-resolution would have done by `at` (event time)."""
    for incident in correlator.open_incidents(company):
        due = auto_resolve_due(incident, facts)
        if due is not None and due <= at:
            correlator.incident_resolved(company, incident.name, due)


@dataclass(frozen=True)
class Difference:
    """One way the proposed config behaves otherwise: `kind` is signal, regroup, reroute,
    sla, runbook or silence; `subject` the incident or alert; `before` and `after` what
    happened."""

    kind: str
    subject: str
    before: str
    after: str
    detail: str = ""


def _alerts(n: int) -> str:
    return f"{n} alert" if n == 1 else f"{n} alerts"


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%dT%H:%MZ") if at else "none"


def compare(current: Replay, proposed: Replay) -> list[Difference]:
    """Every difference between the two replays, incidents first, in a stable order."""
    out: list[Difference] = []
    for alert_id in sorted(current.signals):
        before, after = current.signals[alert_id], proposed.signals.get(alert_id, "")
        if after and after != before:
            out.append(Difference("signal", alert_id, before, after))
    for alert_id in sorted(set(current.placed) | set(proposed.placed)):
        before, after = current.placed.get(alert_id, ""), proposed.placed.get(alert_id, "")
        if before.startswith("silenced") != after.startswith("silenced"):
            out.append(Difference("silence", alert_id, before, after))
    named: set[str] = set()
    for incident_id in sorted(current.incidents):
        was = current.incidents[incident_id]
        now = proposed.incidents.get(incident_id)
        if now is None or now.alerts != was.alerts:
            went = sorted({proposed.placed.get(a, "") for a in was.alerts} - {""})
            named.update(went)
            parts = [
                f"{target} ({_alerts(len(proposed.incidents[target].alerts))})"
                if target in proposed.incidents
                else target
                for target in went
            ]
            out.append(
                Difference(
                    "regroup",
                    incident_id,
                    _alerts(len(was.alerts)),
                    ", ".join(parts) or "no incident",
                )
            )
            continue
        if now.assignee != was.assignee:
            out.append(
                Difference(
                    "reroute",
                    incident_id,
                    was.assignee or "unassigned",
                    now.assignee or "unassigned",
                    now.route_reason,
                )
            )
        if (now.response_due_at, now.resolution_due_at) != (
            was.response_due_at,
            was.resolution_due_at,
        ):
            out.append(
                Difference(
                    "sla",
                    incident_id,
                    f"respond {_when(was.response_due_at)}, resolve {_when(was.resolution_due_at)}",
                    f"respond {_when(now.response_due_at)}, resolve {_when(now.resolution_due_at)}",
                )
            )
        if (now.runbook, now.runbook_auto) != (was.runbook, was.runbook_auto):
            out.append(
                Difference(
                    "runbook",
                    incident_id,
                    _runbook(was),
                    _runbook(now),
                )
            )
    for incident_id in sorted(set(proposed.incidents) - set(current.incidents)):
        now = proposed.incidents[incident_id]
        if incident_id not in named:  # not already named as where a regrouped one went
            out.append(Difference("regroup", incident_id, "no incident", _alerts(len(now.alerts))))
    return out


def _runbook(outcome: Outcome) -> str:
    if outcome.runbook is None:
        return "none"
    return f"{outcome.runbook} ({'auto-run' if outcome.runbook_auto else 'needs approval'})"
