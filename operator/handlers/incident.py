"""Incidents: what technicians do (acknowledge, note, resolve, reassign) lands in the
timeline once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import kopf

from whisperer.operator.handlers.config import ALL
from whisperer.operator.handlers.correlation import LOCK
from whisperer.operator.models.v1alpha1 import GROUP, VERSION, Incident
from whisperer.operator.services import audit


@kopf.on.resume(GROUP, VERSION, "incidents")
@kopf.on.create(GROUP, VERSION, "incidents")
@kopf.on.update(GROUP, VERSION, "incidents", field="spec")
def record_actions(
    body: kopf.Body,
    status: kopf.Status,
    patch: kopf.Patch,
    memo: kopf.Memo,
    namespace: str | None,
    **kwargs: Any,
) -> None:
    """Add each new human action to the timeline and as an Event (each once); set the phase;
    a technician named in spec.assignee replaces the one routing chose."""
    incident = Incident.from_body(body)
    entries = audit.human_entries(incident.spec)
    company = (namespace or "").removeprefix("company-")
    wanted = incident.spec.assignee
    if wanted and wanted != status.get("assignee"):
        known = {t.metadata.name for t in kwargs["technicians"].get(ALL, [])}
        if wanted in known:
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            before = status.get("assignee") or "nobody"
            patch.status.update(assignee=wanted, assignedAt=now)
            entries.append(
                {
                    "at": now,
                    "type": "Reassigned",
                    "actor": "spec.assignee",
                    "message": f"from {before} to {wanted}",
                }
            )
            with LOCK:  # routing counts it in the technician's workload from now on
                for found in memo.correlator.open_incidents(company):
                    if found.name == incident.metadata.name:
                        found.assignee = wanted
        else:
            memo.kube.record_event(
                dict(body),
                reason="UnknownTechnician",
                message=f"spec.assignee names {wanted!r}, which is not a Technician; "
                f"{status.get('assignee') or 'nobody'} keeps it",
                key=f"UnknownTechnician/{wanted}",
                type="Warning",
            )
    timeline, new = audit.merge(list(status.get("timeline") or []), entries)
    phase = audit.phase(incident.spec)
    current = status.get("phase") or "Open"  # absent: open (the body may be older than status)
    if current == "Resolved" and phase != "Resolved":
        phase = "Resolved"  # resolved by policy: a later note does not reopen it
    if new:
        patch.status["timeline"] = timeline
    if current != phase:
        patch.status["phase"] = phase
        if phase == "Resolved":
            memo.correlator.incident_resolved(company, incident.metadata.name, datetime.now(UTC))
    for entry in new:  # the Event's name derives from the entry: a rerun posts nothing
        memo.kube.record_event(
            dict(body),
            reason=entry["type"],
            message=f"{entry['actor']}: {entry['message']}",
            key=f"{entry['type']}/{entry['actor']}/{entry['at']}",
        )
