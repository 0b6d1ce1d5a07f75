"""Incidents: what technicians do (acknowledge, note, resolve) lands in the timeline once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import kopf

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
    **_: Any,
) -> None:
    """Add each new human action to the timeline and as an Event (each once); set the phase."""
    incident = Incident.from_body(body)
    timeline, new = audit.merge(
        list(status.get("timeline") or []), audit.human_entries(incident.spec)
    )
    phase = audit.phase(incident.spec)
    current = status.get("phase") or "Open"  # absent: open (the body may be older than status)
    if current == "Resolved" and phase != "Resolved":
        phase = "Resolved"  # resolved by policy: a later note does not reopen it
    if new:
        patch.status["timeline"] = timeline
    if current != phase:
        patch.status["phase"] = phase
        if phase == "Resolved":
            company = (namespace or "").removeprefix("company-")
            memo.correlator.incident_resolved(company, incident.metadata.name, datetime.now(UTC))
    for entry in new:  # the Event's name derives from the entry: a rerun posts nothing
        memo.kube.record_event(
            dict(body),
            reason=entry["type"],
            message=f"{entry['actor']}: {entry['message']}",
            key=f"{entry['type']}/{entry['actor']}/{entry['at']}",
        )
