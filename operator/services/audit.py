"""Audit: what people did to an incident, as timeline entries, each recorded exactly once.

The entries are derived from the incident's spec (who acknowledged, resolved, wrote a note,
as the admission policies made sure they are the requesting users), so computing them again
after a restart adds nothing twice: the incident writer appends by key (type, actor, time).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whisperer.operator.clock import rfc3339
from whisperer.operator.models.v1alpha1.incident import IncidentSpec

Entry = dict[str, Any]


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return rfc3339(value)
    return str(value)


def human_entries(spec: IncidentSpec) -> list[Entry]:
    """The entries the spec implies, oldest first."""
    entries: list[Entry] = []
    if spec.acknowledgement:
        ack = spec.acknowledgement
        entries.append(
            {
                "at": _iso(ack.at),
                "type": "Acknowledged",
                "actor": ack.by,
                "message": f"acknowledged by {ack.by}",
            }
        )
    for note in spec.notes:
        entries.append(
            {
                "at": _iso(note.at),
                "type": "NoteAdded",
                "actor": note.author,
                "message": note.text[:1024],
            }
        )
    if spec.resolution:
        res = spec.resolution
        entries.append(
            {
                "at": _iso(res.at),
                "type": "Resolved",
                "actor": res.by,
                "message": f"{res.code}: {res.summary}"[:1024],
            }
        )
    return sorted(entries, key=lambda e: e["at"])
