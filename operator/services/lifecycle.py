"""Where an incident is in its life (phase, resolution time), and what moves it: people
(acknowledge, resolve, reassign, note, in the incident's spec), correlation (reopen,
auto-resolve, merge) and automation. The one place that decides phase changes; each comes
out as incident-writer changes (`Change`s of the lifecycle and assignment owners, with
their timeline entries and Events)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from whisperer.operator.models.v1alpha1.incident import IncidentSpec
from whisperer.operator.services import audit
from whisperer.operator.services.correlation.incidents import iso
from whisperer.operator.services.incident_writer import (
    Change,
    EventSpec,
    Owner,
    timeline_entry,
)


@dataclass(frozen=True)
class HumanOutcome:
    """What people's latest edits of an incident's spec change."""

    changes: list[Change] = field(default_factory=list)
    resolved: bool = False
    """A technician resolved it now (correlation forgets it as open)."""
    reassigned_to: str | None = None
    """spec.assignee names a known technician other than the current assignee."""


def _is_open(status: Mapping[str, Any]) -> bool:
    return (status.get("phase") or "Open") == "Open"


def human_outcome(
    spec: IncidentSpec,
    status: Mapping[str, Any],
    *,
    generation: int | None,
    technicians: Collection[str],
    now: datetime,
) -> HumanOutcome:
    """What the spec says that the status does not show yet: timeline entries (each once,
    and as an audit Event), the phase a new acknowledgement or resolution brings, a
    reassignment, and the generation handled."""
    known = {
        (e.get("type"), e.get("actor"), str(e.get("at"))) for e in status.get("timeline") or []
    }
    entries = [
        e for e in audit.human_entries(spec) if (e["type"], e["actor"], str(e["at"])) not in known
    ]
    changes: list[Change] = []
    events = [
        EventSpec(
            reason=e["type"],
            message=f"{e['actor']}: {e['message']}",
            key=f"{e['type']}/{e['actor']}/{e['at']}",
        )
        for e in entries
    ]
    reassigned: str | None = None
    wanted = spec.assignee
    if wanted and wanted != status.get("assignee"):
        if wanted in technicians:
            reassigned = wanted
            before = status.get("assignee") or "nobody"
            entry = timeline_entry(now, "Reassigned", "spec.assignee", f"from {before} to {wanted}")
            changes.append(
                Change(
                    Owner.ASSIGNMENT,
                    {"assignee": wanted, "assignedAt": iso(now)},
                    timeline=[entry],
                    events=[
                        EventSpec(
                            "Reassigned",
                            f"from {before} to {wanted}",
                            f"Reassigned/{wanted}/{iso(now)}",
                        )
                    ],
                )
            )
        else:
            events.append(
                EventSpec(
                    "UnknownTechnician",
                    f"spec.assignee names {wanted!r}, which is not a Technician; "
                    f"{status.get('assignee') or 'nobody'} keeps it",
                    f"UnknownTechnician/{wanted}",
                    type="Warning",
                )
            )
    new_types = {e["type"] for e in entries}
    resolved = "Resolved" in new_types
    changes.append(
        Change(
            Owner.LIFECYCLE,
            {"observedGeneration": generation} if generation is not None else {},
            timeline=entries,
            events=events,
        )
    )
    if resolved:
        at = spec.resolution.at if spec.resolution else now
        changes.append(resolved_change(at, by="technician"))
    elif "Acknowledged" in new_types:
        # Only an open incident becomes acknowledged (not one resolved meanwhile).
        changes.append(Change(Owner.LIFECYCLE, {"phase": "Acknowledged"}, when=_is_open))
    return HumanOutcome(changes, resolved, reassigned)


ResolvedBy = Literal["technician", "auto-resolve", "automation", "merge", "stale"]


def resolved_change(
    at: datetime,
    *,
    by: ResolvedBy,
    entry: dict[str, Any] | None = None,
    event: EventSpec | None = None,
) -> Change:
    """The incident resolves at `at`, by a technician, its hold-down, automation or a merge."""
    return Change(
        Owner.LIFECYCLE,
        {"phase": "Resolved", "resolvedAt": iso(at), "resolvedBy": by},
        timeline=[entry] if entry else [],
        events=[event] if event else [],
    )


def reopened_change() -> Change:
    """The incident is open again (a recurrence within its reopen window)."""
    return Change(Owner.LIFECYCLE, {"phase": "Open", "resolvedAt": None, "resolvedBy": None})


def opened_change() -> Change:
    """A new incident starts open; its first spec (the title the operator gave it) has
    nothing of people's to record."""
    return Change(Owner.LIFECYCLE, {"phase": "Open", "observedGeneration": 1})
