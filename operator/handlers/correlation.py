"""Alerts into incidents: each new firing alert joins an open incident or opens one."""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import kopf

from whisperer.operator.errors import ConflictError, NotFoundError, WhispererError
from whisperer.operator.handlers.config import ALL, company_of
from whisperer.operator.kube.coalesce import StatusCoalescer
from whisperer.operator.models.v1alpha1 import GROUP, VERSION, Alert, Runbook, Silence
from whisperer.operator.services import analysis, assessment, audit, incidents, pipeline, tenancy
from whisperer.operator.services.correlation import Correlator, OpenIncident, state_changes
from whisperer.operator.services.facts import CompanyFacts, facts_of
from whisperer.operator.services.inhibition import FiringAlert
from whisperer.operator.services.matchers import alert_fields
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE

LOCK = threading.Lock()  # decisions for one operator are made one at a time
TICK = float(os.environ.get("WHISPERER_INCIDENT_TICK_SECONDS", "15"))
# How long the incidents' status writer lets a burst of joins gather into one patch.
LINGER = float(os.environ.get("WHISPERER_INCIDENT_LINGER_SECONDS", "0.02"))
WRITE_TIMEOUT = 60.0
FLAP_KEPT = 100  # changes of state kept on an alert (flapThreshold is at most 100)


def startup(memo: kopf.Memo) -> None:
    """Remember the open incidents, start the incidents' status writer (called once by the
    runner's startup handler)."""
    memo.correlator = Correlator()
    memo.incident_writes = StatusCoalescer(memo.kube, "incidents", linger=LINGER)
    for body in memo.kube.list("incidents"):
        status = body.get("status") or {}
        if status.get("mergedInto"):
            memo.correlator.merged(
                status.get("company", ""), body["metadata"]["name"], status["mergedInto"]
            )
            continue
        incident = incidents.remembered(analysis.rules_body(body))  # not the AI's
        if incident is not None:
            memo.correlator.remember(incident)


@kopf.index(GROUP, VERSION, "silences")
def silences(namespace: str | None, body: kopf.Body, **_: Any) -> dict[str, Silence]:
    """Silences by namespace (the platform namespace's apply to every company)."""
    return {namespace or "": Silence.from_body(body)}


@kopf.index(GROUP, VERSION, "alerts")
def firing_alerts(
    namespace: str | None, name: str, spec: kopf.Spec, status: kopf.Status, **_: Any
) -> dict[str, FiringAlert]:
    """The firing alerts of each namespace (the candidates to inhibit others)."""
    if spec.get("state") != "firing" or status.get("inhibitedBy"):
        return {}
    fields = alert_fields(
        dict(spec.get("labels") or {}),
        asset=spec["asset"]["name"],
        signal=spec["signal"],
        severity=spec["severity"],
        source=spec["source"],
    )
    return {
        namespace or "": FiringAlert(name, fields, (status.get("incidentRef") or {}).get("name"))
    }


@kopf.on.resume(GROUP, VERSION, "alerts")
@kopf.on.create(GROUP, VERSION, "alerts")
@kopf.on.update(GROUP, VERSION, "alerts", field="spec")
def correlate(
    body: kopf.Body,
    status: kopf.Status,
    namespace: str | None,
    patch: kopf.Patch,
    memo: kopf.Memo,
    **kwargs: Any,
) -> None:
    """Join or open (or reopen) the incident; count resolutions and re-firings on it. What
    was done is recorded on the alert, so a rerun changes nothing."""
    alert = Alert.from_body(body)
    company = (namespace or "").removeprefix("company-")
    ref = (status.get("incidentRef") or {}).get("name")
    facts = company_of(kwargs["company_facts"], company)
    at: datetime | None = None  # the event time of a recurrence, placed anew
    if status.get("silencedBy"):
        if alert.spec.state != "firing":
            return
        # Judged again whenever it is reported firing: its silence may have ended since.
        at = alert.spec.last_seen
    if ref:
        counted = bool(status.get("resolutionCounted"))
        if alert.spec.state == "resolved" and not counted:
            event_at = alert.spec.resolved_at or alert.spec.last_seen
            with LOCK:
                found = memo.correlator.alert_resolved(
                    company, ref, alert.metadata.name, datetime.now(UTC), event_at=event_at
                )
                _flap(memo, found, facts, status, patch, event_at)
                stored = _write(
                    memo, found, namespace, company, latest=alert.metadata.name, **kwargs
                )
            _wait(stored)
            patch.status["resolutionCounted"] = True
            return
        if not (alert.spec.state == "firing" and counted):
            return
        with LOCK:
            found = memo.correlator.alert_refired(company, ref, alert.metadata.name)
            _flap(memo, found, facts, status, patch, alert.spec.last_seen)
            stored = _write(memo, found, namespace, company, latest=alert.metadata.name, **kwargs)
        _wait(stored)
        patch.status["resolutionCounted"] = False
        if found is not None:
            return
        # Its incident has resolved since: the recurrence is placed like a new alert, at
        # the time it fired again (it reopens the incident within the reopen window).
        at = alert.spec.last_seen
    if alert.spec.state != "firing":
        return
    if facts is None:
        raise kopf.TemporaryError(f"company {company!r} is not known yet", delay=10)
    index: kopf.Index[str, Silence] = kwargs["silences"]
    with LOCK:
        placed = pipeline.place(
            memo.correlator,
            alert,
            company,
            facts,
            silences=[*index.get(namespace or "", []), *index.get(PLATFORM_NAMESPACE, [])],
            firing=kwargs["firing_alerts"].get(namespace or "", []),
            at=at,
        )
        if placed.silence is not None:
            silence = placed.silence
            patch.status["silencedBy"] = f"{silence.metadata.namespace}/{silence.metadata.name}"
            return
        if status.get("silencedBy"):
            patch.status["silencedBy"] = None
        if placed.inhibitor is not None:
            patch.status["inhibitedBy"] = placed.inhibitor.name
            writes: list[Future[None] | None] = []
            ref = None
            if placed.inhibitor.incident:  # muted alerts stay visible on the explaining incident
                writes.append(
                    _write(
                        memo,
                        placed.incident,
                        namespace,
                        company,
                        latest=alert.metadata.name,
                        **kwargs,
                    )
                )
                patch.status["incidentRef"] = {"name": placed.inhibitor.incident}
        else:
            if at is not None:  # a recurrence is a change of state too
                _flap(memo, placed.incident, facts, status, patch, at)
            writes, ref = _join(memo, alert, placed, namespace, company, facts, at, **kwargs)
    for write in writes:
        _wait(write)
    if ref is not None:
        patch.status["incidentRef"] = {"name": ref}


def _join(
    memo: kopf.Memo,
    alert: Alert,
    placed: pipeline.Placement,
    namespace: str | None,
    company: str,
    facts: CompanyFacts,
    at: datetime | None,
    **kwargs: Any,
) -> tuple[list[Future[None] | None], str]:
    """Create or reopen the incident correlation placed the alert in, assess it, and queue
    its status (and that of incidents it took in); returns the pending writes and the
    incident's name (under LOCK)."""
    decision, incident = placed.decision, placed.incident
    assert decision is not None and incident is not None
    created: dict[str, Any] | None = None
    if decision.new:
        # A conflict means it was made before a restart: the status write brings it up to date.
        with contextlib.suppress(ConflictError):
            created = memo.kube.create(
                "incidents", incidents.new_incident_body(incident, namespace or ""), namespace
            )
    merges = [
        _merge(memo, name, incident.name, namespace, company, decision.reason)
        for name in decision.absorbed
    ]
    extra: dict[str, Any] = {"phase": "Open"} if decision.new else {}
    entries: list[dict[str, str]] = []
    if decision.reopened:
        entries.append(
            _entry(
                "Reopened",
                f"policy:Company/{company}/spec.incidents.reopenWindow",
                decision.reason,
            )
        )
        extra = {"phase": "Open", "reopened": incident.reopened, "resolvedAt": None}
    extra |= _assess(
        memo,
        incident,
        facts,
        entries,
        opened=decision.new,
        reopened=decision.reopened,
        **kwargs,
    )
    if entries:
        extra["timeline"] = _record(memo, incident.name, namespace, entries, current=created)
    stored = _write(
        memo, incident, namespace, company, latest=alert.metadata.name, extra=extra, **kwargs
    )
    return [*merges, stored], incident.name


def _merge(
    memo: kopf.Memo, name: str, into: str, namespace: str | None, company: str, reason: str
) -> Future[None] | None:
    """Close an incident whose cause turned up later: it points to the one that took it in
    (its alerts keep their reference; correlation follows `mergedInto`). Queued like every
    incident write, so it lands after what was queued for it before."""
    entry = _entry("MergedInto", f"policy:Company/{company}/spec.assets", f"{into}: {reason}")
    try:
        timeline = _record(memo, name, namespace, [entry])
    except NotFoundError:
        return None
    change = {"phase": "Resolved", "mergedInto": into, "resolvedAt": _now(), "timeline": timeline}
    writes: StatusCoalescer = memo.incident_writes
    return writes.submit(namespace, name, change)


def _flap(
    memo: kopf.Memo,
    incident: OpenIncident | None,
    facts: CompanyFacts | None,
    status: kopf.Status,
    patch: kopf.Patch,
    at: datetime,
) -> None:
    """Count the alert's change of state on the alert itself; once it changed the company's
    flapThreshold times within flapWindow (event time) it is flapping, and so is its
    incident."""
    if facts is None:
        return
    previous = [_parse(t) for t in status.get("stateChanges") or []]
    changes = state_changes(previous, at, facts.flap_window)[-FLAP_KEPT:]
    flapping = len(changes) >= facts.flap_threshold
    patch.status["stateChanges"] = [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in changes]
    patch.status["flapping"] = flapping
    if flapping and incident is not None:
        memo.correlator.mark_flapping(incident)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def _one_key(index: kopf.Index[str, Any]) -> list[Any]:
    return list(index.get(ALL, []))


def _assess(
    memo: kopf.Memo,
    incident: OpenIncident,
    facts: CompanyFacts,
    entries: list[dict[str, str]],
    *,
    opened: bool,
    reopened: bool,
    **kwargs: Any,
) -> dict[str, Any]:
    """Routing, deadlines and the fitting runbook (assessment.follow_up); returns the status
    fields and adds timeline entries."""
    runbook_index: kopf.Index[str, Runbook] = kwargs["runbook_models"]
    config = assessment.Rules(
        policies={name: next(iter(found)) for name, found in kwargs["sla_policies"].items()},
        rules=_one_key(kwargs["routing_rules"]),
        technicians=_one_key(kwargs["technicians"]),
        runbooks=[
            *runbook_index.get(f"company-{incident.company}", []),
            *runbook_index.get(PLATFORM_NAMESPACE, []),
        ],
    )
    done = assessment.follow_up(
        incident,
        facts,
        config,
        opened=opened,
        reopened=reopened,
        workload=memo.correlator.workload(),
        at=datetime.now(UTC),
    )
    out: dict[str, Any] = {}
    if done.route is not None:
        actor = f"policy:RoutingRule/{','.join(done.route.rules) or 'none'}"
        if done.assigned is not None:
            out |= {"assignee": done.assigned, "assignedAt": _now()}
            entries.append(_entry("Assigned", actor, f"{done.assigned}: {done.route.reason}"))
        elif opened and done.route.technician is None:
            entries.append(_entry("Unassigned", actor, done.route.reason))
    if done.runbook is not None:
        how = "would start by itself" if done.runbook.auto_run else "needs approval"
        entries.append(
            _entry(
                "RunbookSuggested",
                f"policy:Company/{incident.company}/spec.remediation",
                f"{done.runbook.runbook} ({done.runbook.risk} risk) fits; it {how}",
            )
        )
    if done.deadlines_changed:
        out["sla"] = assessment.sla_status(done.deadlines)
    return out


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry(type_: str, actor: str, message: str) -> dict[str, str]:
    return {"at": _now(), "type": type_, "actor": actor, "message": message[:1024]}


def _record(
    memo: kopf.Memo,
    name: str,
    namespace: str | None,
    entries: list[dict[str, str]],
    *,
    current: dict[str, Any] | None = None,
) -> list[Any]:
    """The incident's timeline with `entries` merged in, each also posted as an Event
    (`current`: the incident as just created, which saves reading it)."""
    if current is None:
        current = memo.kube.get("incidents", name, namespace)
    queued = memo.incident_writes.pending(namespace, name, "timeline")  # not written yet
    known = queued if queued is not None else (current.get("status") or {}).get("timeline")
    timeline, _ = audit.merge(list(known or []), entries)
    for entry in entries:
        memo.kube.record_event(
            current,
            reason=entry["type"],
            message=f"{entry['actor']}: {entry['message']}",
            key=f"{entry['type']}/{entry['at']}",
        )
    return timeline


def _write(
    memo: kopf.Memo,
    incident: OpenIncident | None,
    namespace: str | None,
    company: str,
    *,
    latest: str,
    extra: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Future[None] | None:
    """Queue correlation's part of the incident's status (joins within a few milliseconds
    become one patch); wait on the result, outside LOCK, before recording anything that
    relies on it."""
    if incident is None:
        return None
    facts = company_of(kwargs["company_facts"], company)
    critical = facts.critical if facts else frozenset()
    status = incidents.incident_status(incident, critical_assets=critical, latest=latest)
    writes: StatusCoalescer = memo.incident_writes
    return writes.submit(namespace, incident.name, {**status, **(extra or {})})


def _wait(stored: Future[None] | None) -> None:
    """Until the incident holds the change (a failure makes Kopf retry the handler, which
    finds the alert already correlated and writes again)."""
    if stored is not None:
        stored.result(timeout=WRITE_TIMEOUT)


@kopf.timer(GROUP, VERSION, "companies", interval=TICK, initial_delay=TICK)
def auto_resolve(spec: kopf.Spec, meta: kopf.Meta, memo: kopf.Memo, **_: Any) -> None:
    """Resolve the company's incidents whose alerts have all stayed resolved for the
    hold-down (a whole flap window for a flapping one), where the company allows it.

    One timer per company over correlation's memory, not one per incident: a Kopf timer
    puts a finalizer on every object it runs for, and adding it to incidents that
    correlation keeps writing costs a conflicting patch each (measured: a quarter of the
    operator's requests)."""
    if meta.get("deletionTimestamp"):
        return
    company = str(meta["name"])
    facts = facts_of(spec)
    if not facts.auto_resolve:
        return
    namespace = tenancy.namespace_name(company)
    now = datetime.now(UTC)
    stored: list[tuple[OpenIncident, Future[None]]] = []
    with LOCK:
        for incident in memo.correlator.open_incidents(company):
            hold_down = facts.hold_down
            if incident.pattern == "flapping":  # quiet for a whole flap window, not a pause
                hold_down = max(hold_down, facts.flap_window)
            quiet = incident.quiet_since
            if incident.firing or quiet is None or now < quiet + hold_down:
                continue
            entry = _entry(
                "AutoResolved",
                f"policy:Company/{company}/spec.incidents.autoResolve",
                f"every alert resolved and stayed so for {hold_down}",
            )
            try:
                timeline = _record(memo, incident.name, namespace, [entry])
            except NotFoundError:
                memo.correlator.forget(company, incident.name)
                continue
            memo.correlator.incident_resolved(company, incident.name, now)
            change = {"phase": "Resolved", "timeline": timeline, "resolvedAt": _now()}
            stored.append((incident, memo.incident_writes.submit(namespace, incident.name, change)))
    failed: list[OpenIncident] = []
    for incident, done in stored:
        try:
            _wait(done)
        except WhispererError:
            failed.append(incident)
    if failed:
        with LOCK:  # still open: try again at the next tick
            for incident in failed:
                memo.correlator.reopen(incident)
        raise kopf.TemporaryError(f"{len(failed)} incident(s) not resolved yet", delay=TICK)
