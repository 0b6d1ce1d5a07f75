"""Correlation as the operator runs it: every alert event becomes a decision made in memory
under the correlator's own lock, and a `Plan` of the writes that follow from it, carried out
after the lock is released (`executor`), in the order decided.

The lock is private to this service: nothing else imports it (an import contract says so).
Everything that reads or changes correlation's memory goes through a method here; each
holds the lock only while it reads or changes memory, never across I/O.

Alert status is the operator's record of what it did with an alert (`incidentRef`,
`silencedBy`, `inhibitedBy`, `resolutionCounted`, the flapping record, `placedAt`, and
`observedGeneration`: the spec generation handled), so an alert whose status is current is
not looked at again, and a rebuild after a restart (`restore_*`) restores exactly the memory
the running operator had.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from whisperer.operator.clock import Clock, parse_time
from whisperer.operator.models.v1alpha1 import Alert
from whisperer.operator.services import assessment, lifecycle
from whisperer.operator.services.configstore import ConfigStore
from whisperer.operator.services.correlation import pipeline
from whisperer.operator.services.correlation.correlator import (
    Correlator,
    OpenIncident,
    auto_resolve_due,
    state_changes,
)
from whisperer.operator.services.correlation.incidents import (
    incident_status,
    iso,
    new_incident_body,
    remembered,
)
from whisperer.operator.services.correlation.lock import decision_lock
from whisperer.operator.services.correlation.priority import SEVERITY_RANK
from whisperer.operator.services.correlation.staleness import EventClock, quiet_for, stale_at
from whisperer.operator.services.facts import CompanyFacts
from whisperer.operator.services.incident_writer import Change, EventSpec, Owner, timeline_entry
from whisperer.operator.services.inhibition import FiringAlert
from whisperer.operator.services.matchers import alert_fields
from whisperer.operator.services.tenancy import company_of_namespace, namespace_name

FLAP_KEPT = 100  # changes of state kept on an alert (flapThreshold is at most 100)
LATE_GRACE = timedelta(minutes=10)
"""How long after its reopen window a resolved incident stays in memory (late deliveries)."""
UNKNOWN_COMPANY_RETRY = 10.0
REPORT_GRAIN = timedelta(minutes=1)
"""A firing alert's reports within this much event time of the last one written are kept
in memory only (unless one raises the severity): one write a minute for a chatty alert."""


@dataclass
class Step:
    """One change to one incident."""

    namespace: str
    name: str
    change: Change


@dataclass
class Plan:
    """The writes one decision calls for, in order: the incidents' changes, then (once those
    are stored) the alert's status; then the joins the alert now records are confirmed."""

    namespace: str
    alert: str
    steps: list[Step] = field(default_factory=list)
    alert_status: dict[str, Any] | None = None
    confirm: list[tuple[str, str]] = field(default_factory=list)  # (company, incident)
    load: str | None = None
    """Load this incident into memory first, then handle the alert again."""
    retry_after: float | None = None
    """Handle the alert again after this many seconds (its company is not known yet)."""
    resolved_incidents: list[tuple[str, str]] = field(default_factory=list)
    """(company, incident) resolved by this plan: reopened in memory if it fails."""
    sequence: int = 0
    """Orders the plans of one alert (its status overlay is dropped once the latest lands)."""
    also: list[tuple[str, dict[str, Any], int]] = field(default_factory=list)
    """Other alerts' status (name, fields, sequence), written after the incidents' changes:
    alerts that went stale on the way (event time ran past their timeout)."""

    def merge_after(self, other: Plan) -> None:
        """Carry out `other`'s writes after this plan's."""
        self.steps.extend(other.steps)
        self.also.extend(other.also)
        self.resolved_incidents.extend(other.resolved_incidents)

    def merge(self, other: Plan) -> None:
        """Carry out `other`'s writes first (they were decided first)."""
        self.steps[:0] = other.steps
        self.also[:0] = other.also
        self.resolved_incidents[:0] = other.resolved_incidents


def _times(values: Any) -> list[datetime]:
    return [t for t in (parse_time(v) for v in values or []) if t is not None]


def _reported(status: Mapping[str, Any], alert: Alert) -> datetime:
    """The latest report of the alert correlation accounted for (event time)."""
    return (
        parse_time(status.get("reportedAt"))
        or parse_time(status.get("placedAt"))
        or alert.spec.first_seen
    )


class CorrelationService:
    """Correlation's memory and decisions, for one operator."""

    def __init__(self, *, config: ConfigStore, clock: Clock) -> None:
        self._lock = decision_lock()
        self._correlator = Correlator()
        self._config = config
        self._clock = clock
        self._firing: dict[str, dict[str, FiringAlert]] = {}
        self._planned: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        # Reports handled in memory only (`REPORT_GRAIN`): their generation and time, carried
        # by the alert's next status write. Without them our own next write of the alert
        # (going stale) would come back as an unhandled generation, decided again.
        self._kept: dict[tuple[str, str], dict[str, Any]] = {}
        self._sequence = 0
        self._joining: dict[tuple[str, str], str] = {}  # during a rebuild: alert -> incident
        self._quiet: list[tuple[datetime, str, str]] = []  # (due, company, incident)
        self._earlier = False
        self._events = EventClock()
        self._stale_quiet: dict[tuple[str, str], str] = {}  # (company, incident) -> namespace
        self._pending: list[Plan] = []  # stale work decided where no plan could carry it
        self.on_change: Callable[[], None] = lambda: None
        """Called after memory changed in a way that may move the next auto-resolution."""
        self.last_evaluated: datetime | None = None
        """When auto-resolution last looked at the open incidents (for tests and probes)."""

    # -- reading ---------------------------------------------------------------------------

    def workload(self) -> Counter[str]:
        """Open incidents per assigned technician."""
        with self._lock:
            return self._correlator.workload()

    def held(self) -> tuple[int, int, int, int]:
        """Open incidents, resolved ones, merges and alerts held in memory."""
        with self._lock:
            return self._correlator.held()

    def incident(self, company: str, name: str) -> OpenIncident | None:
        """What memory holds of an incident (for tests; do not change it)."""
        with self._lock:
            return self._correlator.find(company, name)

    # -- alerts ----------------------------------------------------------------------------

    def handle_alert(self, body: Mapping[str, Any]) -> Plan | None:
        """What to do about an alert event (None: nothing)."""
        meta = body.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        company = company_of_namespace(namespace)
        if company is None:
            return None
        status = dict(body.get("status") or {})
        generation = meta.get("generation")
        key = (namespace, str(meta.get("name")))
        with self._lock:
            _, planned = self._planned.get(key, (0, {}))
            kept = self._kept.get(key, {}).get("observedGeneration")
        status.update(planned)
        if kept is not None:
            status["observedGeneration"] = kept  # newer than any pending write
        if generation is not None and status.get("observedGeneration") == generation:
            return None  # handled already (our own status write, or before a restart)
        try:
            alert = Alert.from_body(dict(body))
        except ValidationError:
            return None  # the API server's schema makes this impossible
        facts = self._config.facts(company)
        if facts is None:
            return Plan(namespace, alert.metadata.name, retry_after=UNKNOWN_COMPANY_RETRY)
        now = self._clock.now()
        with self._lock:
            self._events.reported(company, alert.spec.last_seen, now)
            expired = self._expire(company, facts, now)
            plan = self._decide(alert, status, company, facts, now, generation)
            if expired is not None:
                if plan is None:
                    plan = expired
                elif plan.load is None and plan.retry_after is None:
                    plan.merge(expired)
                else:
                    self._pending.append(expired)
                    self._earlier = True
            self._index_firing(alert, company)
            if plan is not None and plan.alert_status is not None:
                held = self._kept.pop(key, None)  # written with this plan
                if held is not None and "reportedAt" not in plan.alert_status:
                    plan.alert_status["reportedAt"] = held["reportedAt"]
                self._sequence += 1
                plan.sequence = self._sequence
                self._planned[key] = (self._sequence, {**planned, **plan.alert_status})
            wake, self._earlier = self._earlier, False
        if wake:
            self.on_change()
        return plan

    def written(self, namespace: str, alert: str, plan: Plan) -> None:
        """The plan's alert status is stored: confirm the joins it records."""
        with self._lock:
            for company, incident in plan.confirm:
                self._correlator.confirmed(company, incident, alert)
            planned = self._planned.get((namespace, alert))
            if planned is not None and planned[0] == plan.sequence:
                del self._planned[(namespace, alert)]

    def written_also(self, namespace: str, alert: str, sequence: int) -> None:
        """Another alert's status a plan carried (`Plan.also`) is stored."""
        with self._lock:
            planned = self._planned.get((namespace, alert))
            if planned is not None and planned[0] == sequence:
                del self._planned[(namespace, alert)]

    def alert_deleted(self, namespace: str, name: str) -> None:
        """An alert went away (pruned): it is no longer an inhibition candidate."""
        with self._lock:
            self._firing.get(namespace, {}).pop(name, None)
            self._planned.pop((namespace, name), None)
            self._kept.pop((namespace, name), None)
            company = company_of_namespace(namespace)
            if company is not None:
                self._events.track(company, name, None)

    def _index_firing(self, alert: Alert, company: str) -> None:
        namespace = alert.metadata.namespace or ""
        name = alert.metadata.name
        _, planned = self._planned.get((namespace, name), (0, {}))
        inhibited = planned.get("inhibitedBy") or (alert.status and alert.status.inhibited_by)
        if alert.spec.state != "firing" or inhibited:
            self._firing.get(namespace, {}).pop(name, None)
            return
        fields = alert_fields(
            alert.spec.labels,
            asset=alert.spec.asset.name,
            signal=alert.spec.signal,
            severity=alert.spec.severity,
            source=alert.spec.source,
        )
        found = self._correlator.where(company, name)
        self._firing.setdefault(namespace, {})[name] = FiringAlert(
            name, fields, found.name if found is not None else None
        )

    def _decide(
        self,
        alert: Alert,
        status: dict[str, Any],
        company: str,
        facts: CompanyFacts,
        now: datetime,
        generation: int | None,
    ) -> Plan | None:
        namespace = alert.metadata.namespace or ""
        name = alert.metadata.name
        spec = alert.spec
        plan = Plan(namespace, name)
        done = {"observedGeneration": generation} if generation is not None else {}
        found = self._correlator.where(company, name)
        ref = (status.get("incidentRef") or {}).get("name")
        if found is not None and found.resolved_at is None:
            # A join recorded on the incident but not yet on the alert (a restart came in
            # between) is finished with whatever else is written.
            finish: dict[str, Any] = {}
            if self._correlator.find(company, ref) is not found:
                finish = {"incidentRef": {"name": found.name}}
                plan.confirm.append((company, found.name))
            muted = bool(status.get("inhibitedBy"))
            if spec.state == "resolved" and name in found.firing and not muted:
                event_at = spec.resolved_at or spec.last_seen
                self._correlator.alert_resolved(company, found.name, name, now, event_at=event_at)
                self._events.track(company, name, None)
                self._stale_quiet.pop((company, found.name), None)
                self._quieted(found, facts)
                plan.alert_status = {
                    **done,
                    **finish,
                    **self._flap(found, facts, status, event_at),
                    "resolutionCounted": True,
                    "resolvedBy": "source",
                    "reportedAt": iso(spec.last_seen),
                }
                self._incident_step(plan, found, facts, latest=name)
                return plan
            news = spec.last_seen > _reported(status, alert)
            if spec.state == "resolved" or muted or (name in found.firing and not news):
                if not finish:
                    return None  # nothing new (already counted, still firing, or muted)
                plan.alert_status = {**done, **finish}
                return plan
            fact = pipeline.alert_facts(alert, company, spec.last_seen)
            loud = SEVERITY_RANK.get(fact.severity, 0) > SEVERITY_RANK["low"]
            if loud and (found.noise or _low_situation(found)):
                # News is never folded into old noise, nor into a host situation that
                # grouped other signals' low alerts: its own incident.
                previous = _reported(status, alert)
                self._correlator.detach(company, found, name, now, event_at=previous)
                self._quieted(found, facts)
                self._incident_step(plan, found, facts, latest=None)
                return self._place(plan, alert, status, company, facts, spec.last_seen, done)
            if name in found.firing:  # reported again within its staleness timeout
                before = (found.severity, found.last_at)
                self._correlator.continued(found, fact)
                self._track(alert, company, facts)
                if (found.severity, found.last_at) == before or (
                    found.severity == before[0]
                    and spec.last_seen - _reported(status, alert) < REPORT_GRAIN
                ):
                    # Nothing a reader needs yet (memory has it; a restart reads lastSeen):
                    # a chatty alert costs no write per report.
                    self._kept[(namespace, name)] = {**done, "reportedAt": iso(spec.last_seen)}
                    if not finish:
                        return None
                    plan.alert_status = {**done, **finish}
                    return plan
                plan.alert_status = {**done, **finish, "reportedAt": iso(spec.last_seen)}
                self._follow_up(plan, found, facts, opened=False, reopened=False)
                self._incident_step(plan, found, facts, latest=name)
                return plan
            self._stale_quiet.pop((company, found.name), None)
            if fact.at - found.last_at > facts.window:  # a new episode: news, like a new one
                quiet = self._correlator.recur(found, fact)
                self._recurred(plan, found, company, quiet)
                self._follow_up(plan, found, facts, opened=False, reopened=True)
            else:
                self._correlator.continued(found, fact)
                self._follow_up(plan, found, facts, opened=False, reopened=False)
            plan.alert_status = {
                **done,
                **finish,
                **self._flap(found, facts, status, spec.last_seen),
                "resolutionCounted": False,
                "resolvedBy": None,
                "staleAt": None,
                "reportedAt": iso(spec.last_seen),
            }
            self._track(alert, company, facts)
            self._incident_step(plan, found, facts, latest=name)
            return plan
        if spec.state != "firing":
            return None
        at: datetime | None = None
        if status.get("silencedBy"):
            at = spec.last_seen  # judged again whenever it is reported firing
        elif found is not None or ref:
            still = (found is not None and name in found.firing) or (
                found is None and not status.get("resolutionCounted")
            )
            if still and spec.last_seen <= _reported(status, alert):
                return None  # its incident was closed while it fired: news is a new report
            at = spec.last_seen  # fired again after its incident resolved
        return self._place(plan, alert, status, company, facts, at, done)

    def _place(
        self,
        plan: Plan,
        alert: Alert,
        status: dict[str, Any],
        company: str,
        facts: CompanyFacts,
        at: datetime | None,
        done: dict[str, Any],
    ) -> Plan:
        namespace = alert.metadata.namespace or ""
        placed = pipeline.place(
            self._correlator,
            alert,
            company,
            facts,
            silences=self._config.silences_for(namespace),
            firing=list(self._firing.get(namespace, {}).values()),
            at=at,
        )
        if placed.silence is not None:
            silence = placed.silence
            plan.alert_status = {
                **done,
                "silencedBy": f"{silence.metadata.namespace}/{silence.metadata.name}",
            }
            return plan
        cleared = {"silencedBy": None} if status.get("silencedBy") else {}
        if placed.inhibitor is not None:
            plan.alert_status = {**done, **cleared, "inhibitedBy": placed.inhibitor.name}
            if placed.incident is not None:  # muted alerts stay visible on the explaining incident
                plan.alert_status["incidentRef"] = {"name": placed.incident.name}
                self._incident_step(plan, placed.incident, facts, latest=alert.metadata.name)
                plan.confirm.append((company, placed.incident.name))
            return plan
        decision = placed.decision
        assert decision is not None
        if decision.load:
            plan.load = decision.incident
            return plan
        incident = placed.incident
        assert incident is not None
        flapped: dict[str, Any] = {}
        if at is not None:  # a recurrence is a change of state too
            flapped = {**self._flap(incident, facts, status, at), "resolutionCounted": False}
        now = self._clock.now()
        if decision.new:
            body = new_incident_body(incident, namespace)
            opened = timeline_entry(now, "Opened", "policy:correlation", decision.reason)
            change = lifecycle.opened_change()
            plan.steps.append(
                Step(
                    namespace,
                    incident.name,
                    Change(change.owner, change.fields, timeline=[opened], create=body),
                )
            )
        for absorbed in decision.absorbed:
            self._merge(plan, absorbed, incident.name, company, decision.reason, now)
        if decision.reopened:
            entry = timeline_entry(
                now,
                "Reopened",
                f"policy:Company/{company}/spec.incidents.reopenWindow",
                decision.reason,
            )
            reopened = lifecycle.reopened_change()
            plan.steps.append(
                Step(
                    namespace,
                    incident.name,
                    Change(
                        reopened.owner,
                        reopened.fields,
                        timeline=[entry],
                        events=[
                            EventSpec("Reopened", decision.reason, f"Reopened/{incident.reopened}")
                        ],
                    ),
                )
            )
        self._follow_up(plan, incident, facts, opened=decision.new, reopened=decision.reopened)
        self._incident_step(plan, incident, facts, latest=alert.metadata.name)
        placed_at = at or alert.spec.first_seen
        if at is not None:
            flapped.update(resolvedBy=None, staleAt=None)
        plan.alert_status = {
            **done,
            **cleared,
            **flapped,
            "incidentRef": {"name": incident.name},
            "placedAt": iso(placed_at),
            "reportedAt": iso(alert.spec.last_seen),
        }
        self._track(alert, company, facts)
        plan.confirm.append((company, incident.name))
        return plan

    def _recurred(self, plan: Plan, incident: OpenIncident, company: str, quiet: timedelta) -> None:
        """A new episode of an open incident: reopened (counted, Open again), saying how long
        it was quiet; routed and notified like a new one by what follows."""
        now = self._clock.now()
        message = (
            f"{incident.key} reported again after {quiet_for(quiet)} quiet (longer than the "
            "aggregation window): a new episode"
        )
        entry = timeline_entry(
            now, "Reopened", f"policy:Company/{company}/spec.incidents.aggregationWindow", message
        )
        reopened = lifecycle.reopened_change()
        plan.steps.append(
            Step(
                plan.namespace,
                incident.name,
                Change(
                    reopened.owner,
                    reopened.fields,
                    timeline=[entry],
                    events=[EventSpec("Reopened", message, f"Reopened/{incident.reopened}")],
                ),
            )
        )

    def _track(self, alert: Alert, company: str, facts: CompanyFacts) -> None:
        """The firing alert goes stale after its tool's timeout from its latest report."""
        due = stale_at(
            facts,
            source=str(alert.spec.source),
            reported=alert.spec.last_seen,
            ends_at=alert.spec.ends_at,
        )
        self._events.track(company, alert.metadata.name, due)

    def _expire(self, company: str, facts: CompanyFacts, now: datetime) -> Plan | None:
        """The company's alerts whose staleness timeout ran out by its event time resolve as
        stale; incidents quiet by staleness for their hold-down (event time) resolve too.
        One plan of their writes (None: nothing went stale)."""
        namespace = namespace_name(company)
        plan = Plan(namespace, "")
        touched: dict[str, OpenIncident] = {}
        for name, due in self._events.expire(company, now):
            found = self._correlator.where(company, name)
            if found is None or found.resolved_at is not None or name not in found.firing:
                continue
            self._correlator.alert_resolved(company, found.name, name, now, event_at=due)
            if not found.firing:
                self._stale_quiet[(company, found.name)] = namespace
                self._quieted(found, facts)
            touched[found.name] = found
            status = {
                **self._kept.pop((namespace, name), {}),
                "resolutionCounted": True,
                "resolvedBy": "stale",
                "staleAt": iso(due),
            }
            self._sequence += 1
            _, planned = self._planned.get((namespace, name), (0, {}))
            self._planned[(namespace, name)] = (self._sequence, {**planned, **status})
            plan.also.append((name, status, self._sequence))
        for incident in touched.values():
            self._incident_step(plan, incident, facts, latest=None)
        event_now = self._events.now(company, now)
        for key in [k for k in self._stale_quiet if k[0] == company]:
            found = self._correlator.find(company, key[1])
            if found is None or found.resolved_at is not None or found.firing:
                del self._stale_quiet[key]
                continue
            quiet = found.quiet_event or found.last_at
            due = quiet + facts.hold_down
            if facts.auto_resolve and event_now is not None and due <= event_now:
                del self._stale_quiet[key]
                resolved = self._resolve(found, facts, now, hold_down=facts.hold_down, stale=True)
                plan.merge_after(resolved)
        if not plan.steps and not plan.also:
            return None
        return plan

    def _merge(
        self, plan: Plan, name: str, into: str, company: str, reason: str, now: datetime
    ) -> None:
        """Close an incident whose cause turned up later (or that a storm or a periodic
        series took in): it points to the one that took it in."""
        entry = timeline_entry(
            now, "MergedInto", f"policy:Company/{company}/spec.assets", f"{into}: {reason}"
        )
        plan.steps.append(
            Step(plan.namespace, name, Change(Owner.CORRELATION, {"mergedInto": into}))
        )
        plan.steps.append(
            Step(
                plan.namespace,
                name,
                lifecycle.resolved_change(
                    now,
                    by="merge",
                    entry=entry,
                    event=EventSpec("MergedInto", f"{into}: {reason}", f"MergedInto/{into}"),
                ),
            )
        )

    def _incident_step(
        self, plan: Plan, incident: OpenIncident, facts: CompanyFacts, *, latest: str | None
    ) -> None:
        incident.noise = assessment.is_noise(incident, facts)
        fields = incident_status(
            incident, critical_assets=facts.critical, latest=latest, noise=incident.noise
        )
        plan.steps.append(Step(plan.namespace, incident.name, Change(Owner.CORRELATION, fields)))

    def _follow_up(
        self,
        plan: Plan,
        incident: OpenIncident,
        facts: CompanyFacts,
        *,
        opened: bool,
        reopened: bool,
    ) -> None:
        """Routing, deadlines and the fitting runbook (assessment.follow_up), as changes."""
        now = self._clock.now()
        done = assessment.follow_up(
            incident,
            facts,
            self._config.rules_for(incident.company),
            opened=opened,
            reopened=reopened,
            workload=self._correlator.workload(),
            at=now,
        )
        name = incident.name
        if done.raised_from is not None:
            message = (
                f"a {incident.severity} report raised it from {done.raised_from}: priority "
                f"and deadlines follow"
            )
            entry = timeline_entry(now, "SeverityRaised", "policy:correlation", message)
            plan.steps.append(
                Step(
                    plan.namespace,
                    name,
                    Change(
                        Owner.CORRELATION,
                        timeline=[entry],
                        events=[
                            EventSpec(
                                "SeverityRaised", message, f"SeverityRaised/{incident.severity}"
                            )
                        ],
                    ),
                )
            )
        if done.assigned is not None:
            self._correlator.assign(incident, done.assigned)
        if done.route is not None:
            actor = f"policy:RoutingRule/{','.join(done.route.rules) or 'none'}"
            if done.assigned is not None:
                entry = timeline_entry(
                    now,
                    "Rerouted" if done.rerouted else "Assigned",
                    actor,
                    f"{done.assigned}: {done.route.reason}",
                )
                plan.steps.append(
                    Step(
                        plan.namespace,
                        name,
                        Change(
                            Owner.ASSIGNMENT,
                            {"assignee": done.assigned, "assignedAt": iso(now)},
                            timeline=[entry],
                        ),
                    )
                )
            elif opened and done.route.technician is None:
                entry = timeline_entry(now, "Unassigned", actor, done.route.reason)
                plan.steps.append(
                    Step(plan.namespace, name, Change(Owner.ASSIGNMENT, timeline=[entry]))
                )
        if done.runbook is not None:
            how = "would start by itself" if done.runbook.auto_run else "needs approval"
            entry = timeline_entry(
                now,
                "RunbookSuggested",
                f"policy:Company/{incident.company}/spec.remediation",
                f"{done.runbook.runbook} ({done.runbook.risk} risk) fits; it {how}",
            )
            plan.steps.append(
                Step(plan.namespace, name, Change(Owner.REMEDIATION, timeline=[entry]))
            )
        # Deadlines are the SLA clocks' (services/sla), worked out at every write from the
        # incident's severity and times: nothing to add here.

    def _flap(
        self,
        incident: OpenIncident | None,
        facts: CompanyFacts,
        status: Mapping[str, Any],
        at: datetime,
    ) -> dict[str, Any]:
        """Count the alert's change of state on the alert itself; once it changed the
        company's flapThreshold times within flapWindow (event time) it is flapping, and so
        is its incident."""
        previous = _times(status.get("stateChanges"))
        changes = state_changes(previous, at, facts.flap_window)[-FLAP_KEPT:]
        flapping = len(changes) >= facts.flap_threshold
        if flapping and incident is not None:
            self._correlator.mark_flapping(incident)
        return {"stateChanges": [iso(t) for t in changes], "flapping": flapping}

    # -- incidents ---------------------------------------------------------------------------

    def auto_resolve(self) -> tuple[list[Plan], datetime | None]:
        """Resolve the incidents whose quiet has lasted their hold-down, where their company
        allows it; and when to look again (None: nothing is waiting). Also lets go of what
        memory no longer needs."""
        now = self._clock.now()
        plans: list[Plan] = []
        due_next: datetime | None = None
        with self._lock:
            self.last_evaluated = now
            self._correlator.prune(now)
            while self._quiet and self._quiet[0][0] <= now:
                _, company, name = heapq.heappop(self._quiet)
                incident = self._correlator.find(company, name)
                facts = self._config.facts(company)
                if incident is None or incident.resolved_at is not None or facts is None:
                    continue
                due = auto_resolve_due(incident, facts)
                if due is None:
                    continue  # loud again, or the company stopped allowing it
                if due > now:  # the hold-down grew (it started flapping): later
                    heapq.heappush(self._quiet, (due, company, name))
                    continue
                quiet = incident.quiet_since or due
                stale = self._stale_quiet.pop((company, name), None) is not None
                plans.append(
                    self._resolve(incident, facts, now, hold_down=due - quiet, stale=stale)
                )
            due_next = self._quiet[0][0] if self._quiet else None
            plans[:0], self._pending = self._pending, []
            for company in self._events.companies():
                facts = self._config.facts(company)
                if facts is None:
                    continue
                expired = self._expire(company, facts, now)
                if expired is not None:
                    plans.append(expired)
                for when in self._stale_wakes(company, facts):
                    if due_next is None or when < due_next:
                        due_next = when
        return plans, due_next

    def _stale_wakes(self, company: str, facts: CompanyFacts) -> list[datetime]:
        """Wall times at which the company's next alert goes stale, and its incidents quiet
        by staleness reach their hold-down (event time)."""
        events = [self._events.next_due(company)]
        events += [
            (found.quiet_event or found.last_at) + facts.hold_down
            for key in self._stale_quiet
            if key[0] == company and (found := self._correlator.find(company, key[1]))
        ]
        return [w for e in events if e is not None and (w := self._events.wall(company, e))]

    def _quieted(self, incident: OpenIncident, facts: CompanyFacts) -> None:
        """The incident may have become quiet: queue its auto-resolution (under the lock)."""
        due = auto_resolve_due(incident, facts)
        if due is not None:
            if not self._quiet or due < self._quiet[0][0]:
                self._earlier = True  # the auto-resolution loop sleeps too long now
            heapq.heappush(self._quiet, (due, incident.company, incident.name))

    def _resolve(
        self,
        incident: OpenIncident,
        facts: CompanyFacts,
        now: datetime,
        *,
        hold_down: timedelta,
        stale: bool = False,
    ) -> Plan:
        company = incident.company
        namespace = namespace_name(company)
        self._correlator.incident_resolved(
            company, incident.name, now, keep=facts.reopen_window + LATE_GRACE
        )
        plan = Plan(namespace, "")
        how = "went stale (no report within its staleness timeout)" if stale else "resolved"
        entry = timeline_entry(
            now,
            "AutoResolved",
            f"policy:Company/{company}/spec.incidents."
            + ("staleAfter" if stale else "autoResolve"),
            f"every alert {how} and stayed so for {hold_down}",
        )
        self._incident_step(plan, incident, facts, latest=None)
        plan.steps.append(
            Step(
                namespace,
                incident.name,
                lifecycle.resolved_change(
                    now,
                    by="stale" if stale else "auto-resolve",
                    entry=entry,
                    event=EventSpec(
                        "AutoResolved", entry["message"], f"AutoResolved/{entry['at']}"
                    ),
                ),
            )
        )
        plan.resolved_incidents.append((company, incident.name))
        return plan

    def unresolve(self, company: str, name: str) -> None:
        """A resolution could not be stored: the incident is open again in memory (and tried
        again at the next look)."""
        facts = self._config.facts(company)
        with self._lock:
            found = self._correlator.find(company, name)
            if found is not None and found.resolved_at is not None:
                self._correlator.reopen(found)
                if facts is not None:
                    self._quieted(found, facts)
        self.on_change()

    def human_resolved(self, company: str, name: str) -> None:
        """A technician resolved the incident: it may still reopen within its window."""
        facts = self._config.facts(company)
        keep = (facts.reopen_window if facts else timedelta(hours=1)) + LATE_GRACE
        with self._lock:
            self._correlator.incident_resolved(company, name, self._clock.now(), keep=keep)

    def reassigned(self, company: str, name: str, technician: str) -> None:
        """A technician took the incident over by hand: routing counts it in their load."""
        with self._lock:
            found = self._correlator.find(company, name)
            if found is not None:
                self._correlator.assign(found, technician)

    def forget(self, company: str, name: str) -> None:
        """An incident went away."""
        with self._lock:
            self._correlator.forget(company, name)

    # -- rebuilding memory after a restart -------------------------------------------------

    def reset(self) -> None:
        """Forget everything (before a rebuild)."""
        with self._lock:
            self._correlator = Correlator()
            self._firing.clear()
            self._planned.clear()
            self._kept.clear()
            self._joining.clear()
            self._quiet.clear()

    def restore_incident(self, body: Mapping[str, Any]) -> None:
        """An incident, listed at startup: open ones, and resolved ones still within their
        reopen window, go back into memory; older ones leave only their periodic history."""
        status = body.get("status") or {}
        company = str(
            status.get("company")
            or company_of_namespace((body.get("metadata") or {}).get("namespace"))
            or ""
        )
        name = str((body.get("metadata") or {}).get("name") or "")
        facts = self._config.facts(company)
        reopen = facts.reopen_window if facts else timedelta(hours=1)
        resolved_wall = parse_time(status.get("resolvedAt"))
        keep = (resolved_wall or self._clock.now()) + reopen + LATE_GRACE
        incident = remembered(body, category_of=self._config.category_of, keep_until=keep)
        with self._lock:
            if status.get("mergedInto"):
                self._correlator.merged(company, name, str(status["mergedInto"]))
                return
            if incident is None:
                return
            if incident.resolved_at is not None and keep <= self._clock.now():
                for at in incident.episodes:  # the history stays, the incident does not
                    self._correlator.restore_episode(company, incident.key, at, name)
                return
            incident.alerts = set()  # members come from the alerts (restore_alert)
            incident.firing = set()
            self._correlator.restore(incident)
            for alert in incident.joining:
                self._joining[(company, alert)] = name

    def restore_alert(self, body: Mapping[str, Any]) -> bool:
        """An alert, listed at startup: its membership, firing state and placement time go
        back into memory. True when it still needs handling (not handled in its current
        generation, or joined but not yet marked)."""
        meta = body.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        company = company_of_namespace(namespace)
        if company is None:
            return False
        name = str(meta.get("name") or "")
        status = body.get("status") or {}
        ref = (status.get("incidentRef") or {}).get("name")
        with self._lock:
            incident = self._correlator.find(company, ref) if ref else None
            joining = None
            if incident is None and not ref:
                joining = self._correlator.find(company, self._joining.get((company, name)))
            member = incident or joining
            if member is not None:
                member.alerts.add(name)
                if incident is not None:
                    member.joining.discard(name)
                # As last handled: a join records a firing alert; after that the alert's own
                # status says whether its resolution was counted (its spec may be newer:
                # then it is handled again, from this state).
                firing = joining is not None or not status.get("resolutionCounted")
                if firing and not status.get("inhibitedBy"):
                    member.firing.add(name)
                    member.quiet_since = None
                self._correlator.remember(member)
            placed = parse_time(status.get("placedAt"))
            if placed is not None:
                self._correlator.restore_placement(company, name, placed)
            try:
                alert = Alert.from_body(dict(body))
            except ValidationError:
                return False
            self._index_firing(alert, company)
            self._events.reported(company, alert.spec.last_seen, self._clock.now())
            facts = self._config.facts(company)
            if member is not None and name in member.firing and facts is not None:
                self._track(alert, company, facts)  # goes stale as it would have
        handled = status.get("observedGeneration") == meta.get("generation")
        return joining is not None or not handled

    def finish_restore(self) -> None:
        """After every incident and alert was restored: quiet incidents are quiet from now
        (their hold-down starts again), unless their stored quiet time says otherwise."""
        now = self._clock.now()
        with self._lock:
            self._joining.clear()
            for company in self._correlator.companies():
                facts = self._config.facts(company)
                for incident in self._correlator.open_incidents(company):
                    if not incident.firing and incident.quiet_since is None:
                        incident.quiet_since = now
                    if facts is not None:
                        self._quieted(incident, facts)
        self.on_change()

    def missing(self, company: str, name: str) -> None:
        """An incident a periodic history names is gone (deleted): the history forgets it."""
        with self._lock:
            self._correlator.forget_episodes(company, name)

    def load(self, body: Mapping[str, Any]) -> None:
        """An incident read on demand (a periodic series' incident that had left memory)."""
        status = body.get("status") or {}
        company = str(status.get("company") or "")
        facts = self._config.facts(company)
        keep = (
            self._clock.now() + (facts.reopen_window if facts else timedelta(hours=1)) + LATE_GRACE
        )
        incident = remembered(body, category_of=self._config.category_of, keep_until=keep)
        if incident is None:
            return
        with self._lock:
            if self._correlator.find(company, incident.name) is None:
                self._correlator.restore(incident)


def _low_situation(incident: OpenIncident) -> bool:
    """A host situation (low alerts of several signals on one asset) with more than one
    alert."""
    return incident.pattern == "host" and len(incident.alerts) > 1
