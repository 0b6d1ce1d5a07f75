"""Audit: what people did to an incident, as timeline entries, each recorded exactly once.

The timeline is derived from the incident's spec (who acknowledged, resolved, wrote a note,
as the admission policies made sure they are the requesting users), so computing it again
after a restart adds nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from whisperer.operator.models.v1alpha1.incident import IncidentSpec

TIMELINE_LIMIT = 100

Entry = dict[str, Any]


def _key(entry: Entry) -> tuple[str, str, str]:
    return (entry["type"], entry["actor"], str(entry["at"]))


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
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


def merge(timeline: list[Entry], additions: list[Entry]) -> tuple[list[Entry], list[Entry]]:
    """The timeline with the additions it lacks (bounded), and which additions were new."""
    seen = {_key(e) for e in timeline}
    candidates = [e for e in additions if _key(e) not in seen]
    merged = sorted([*timeline, *candidates], key=lambda e: str(e["at"]))[-TIMELINE_LIMIT:]
    # An entry the bound drops at once is not new: reporting it would repeat on every merge.
    kept = {_key(e) for e in merged}
    return merged, [e for e in candidates if _key(e) in kept]


def phase(spec: IncidentSpec) -> str:
    """Where a technician's actions put the incident."""
    if spec.resolution:
        return "Resolved"
    if spec.acknowledgement:
        return "Acknowledged"
    return "Open"
