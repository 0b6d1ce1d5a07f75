"""Alerts into incidents: each new firing alert joins an open incident or opens one."""

from __future__ import annotations

import contextlib
import os
import threading
from datetime import UTC, datetime
from typing import Any

import kopf

from whisperer.operator.errors import ConflictError
from whisperer.operator.handlers.config import company_of
from whisperer.operator.models.v1alpha1 import GROUP, VERSION, Alert, Silence
from whisperer.operator.services import audit, incidents
from whisperer.operator.services.correlation import AlertFacts, Correlator, OpenIncident
from whisperer.operator.services.inhibition import FiringAlert, inhibitor
from whisperer.operator.services.matchers import alert_fields
from whisperer.operator.services.silences import silenced_by
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE

LOCK = threading.Lock()  # decisions for one operator are made one at a time
TICK = float(os.environ.get("WHISPERER_INCIDENT_TICK_SECONDS", "15"))


def startup(memo: kopf.Memo) -> None:
    """Remember the open incidents (called once by the runner's startup handler)."""
    memo.correlator = Correlator()
    for body in memo.kube.list("incidents"):
        incident = incidents.remembered(body)
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
    if status.get("silencedBy"):
        return
    if ref:
        counted = bool(status.get("resolutionCounted"))
        if alert.spec.state == "resolved" and not counted:
            with LOCK:
                found = memo.correlator.alert_resolved(
                    company,
                    ref,
                    alert.metadata.name,
                    datetime.now(UTC),
                    event_at=alert.spec.resolved_at or alert.spec.last_seen,
                )
                _write(memo, found, namespace, company, latest=alert.metadata.name, **kwargs)
            patch.status["resolutionCounted"] = True
        elif alert.spec.state == "firing" and counted:
            with LOCK:
                found = memo.correlator.alert_refired(company, ref, alert.metadata.name)
                _write(memo, found, namespace, company, latest=alert.metadata.name, **kwargs)
            patch.status["resolutionCounted"] = False
        return
    if alert.spec.state != "firing":
        return
    facts = company_of(kwargs["company_facts"], company)
    if facts is None:
        raise kopf.TemporaryError(f"company {company!r} is not known yet", delay=10)
    fact = AlertFacts(
        company=company,
        name=alert.metadata.name,
        asset=alert.spec.asset.name,
        signal=alert.spec.signal,
        category=alert.spec.labels.get("signal_category", "other"),
        severity=alert.spec.severity,
        source=alert.spec.source,
        at=alert.spec.first_seen,
    )
    index: kopf.Index[str, Silence] = kwargs["silences"]
    candidates = [*index.get(namespace or "", []), *index.get(PLATFORM_NAMESPACE, [])]
    fields = alert_fields(
        alert.spec.labels,
        asset=fact.asset,
        signal=fact.signal,
        severity=fact.severity,
        source=fact.source,
    )
    silence = silenced_by(candidates, fields=fields, at=fact.at)
    if silence is not None:
        patch.status["silencedBy"] = f"{silence.metadata.namespace}/{silence.metadata.name}"
        return
    source = inhibitor(
        facts.inhibit_rules,
        fields,
        alert.metadata.name,
        kwargs["firing_alerts"].get(namespace or "", []),
    )
    if source is not None:
        patch.status["inhibitedBy"] = source.name
        if source.incident:  # muted alerts stay visible on the incident that explains them
            with LOCK:
                found = memo.correlator.mute(company, source.incident, fact)
                _write(memo, found, namespace, company, latest=alert.metadata.name, **kwargs)
            patch.status["incidentRef"] = {"name": source.incident}
        return
    with LOCK:
        decision = memo.correlator.decide(
            fact,
            new_name=f"inc-{alert.spec.fingerprint}",
            window=facts.window,
            depends_on=facts.depends_on,
            reopen_window=facts.reopen_window,
        )
        incident = next(
            i for i in memo.correlator.open_incidents(company) if i.name == decision.incident
        )
        if decision.new:
            # A conflict means it was made before a restart: the status write brings it up to date.
            with contextlib.suppress(ConflictError):
                memo.kube.create(
                    "incidents", incidents.new_incident_body(incident, namespace or ""), namespace
                )
        extra: dict[str, Any] = {}
        if decision.reopened:
            extra = _transition(
                memo,
                incident.name,
                namespace,
                phase="Open",
                type_="Reopened",
                actor=f"policy:Company/{company}/spec.incidents.reopenWindow",
                message=decision.reason,
            )
            extra["reopened"] = incident.reopened
            extra["resolvedAt"] = None
        _write(
            memo, incident, namespace, company, latest=alert.metadata.name, extra=extra, **kwargs
        )
    patch.status["incidentRef"] = {"name": incident.name}


def _write(
    memo: kopf.Memo,
    incident: OpenIncident | None,
    namespace: str | None,
    company: str,
    *,
    latest: str,
    extra: dict[str, Any] | None = None,
    **kwargs: Any,
) -> None:
    """Write correlation's part of the incident's status."""
    if incident is None:
        return
    facts = company_of(kwargs["company_facts"], company)
    critical = facts.critical if facts else frozenset()
    status = incidents.incident_status(incident, critical_assets=critical, latest=latest)
    memo.kube.patch_status("incidents", incident.name, {**status, **(extra or {})}, namespace)


def _transition(
    memo: kopf.Memo,
    name: str,
    namespace: str | None,
    *,
    phase: str,
    type_: str,
    actor: str,
    message: str,
) -> dict[str, Any]:
    """The status fields of a phase change made by policy, with its timeline entry."""
    current = memo.kube.get("incidents", name, namespace)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = {"at": now, "type": type_, "actor": actor, "message": message[:1024]}
    timeline, _ = audit.merge(list((current.get("status") or {}).get("timeline") or []), [entry])
    memo.kube.record_event(
        current, reason=type_, message=f"{actor}: {message}", key=f"{type_}/{now}"
    )
    return {"phase": phase, "timeline": timeline}


@kopf.timer(GROUP, VERSION, "incidents", interval=TICK, initial_delay=TICK)
def auto_resolve(
    body: kopf.Body,
    status: kopf.Status,
    namespace: str | None,
    patch: kopf.Patch,
    memo: kopf.Memo,
    **kwargs: Any,
) -> None:
    """Resolve an incident whose alerts have all stayed resolved for the hold-down, where
    the company allows it."""
    alerts = status.get("alerts") or {}
    if status.get("phase") == "Resolved" or not status.get("aggregationKey"):
        return
    if alerts.get("firing", 1) or not alerts.get("quietSince"):
        return
    company = (namespace or "").removeprefix("company-")
    facts = company_of(kwargs["company_facts"], company)
    if facts is None or not facts.auto_resolve:
        return
    quiet = datetime.fromisoformat(str(alerts["quietSince"]).replace("Z", "+00:00"))
    now = datetime.now(UTC)
    if now < quiet + facts.hold_down:
        return
    name = body["metadata"]["name"]
    with LOCK:
        change = _transition(
            memo,
            name,
            namespace,
            phase="Resolved",
            type_="AutoResolved",
            actor=f"policy:Company/{company}/spec.incidents.autoResolve",
            message=f"every alert resolved and stayed so for {facts.hold_down}",
        )
        memo.correlator.incident_resolved(company, name, now)
    patch.status.update(change, resolvedAt=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
