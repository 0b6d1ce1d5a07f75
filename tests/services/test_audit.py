"""Incident audit: the timeline entries people's actions imply, and the timeline they are
appended to by the incident writer, each recorded once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from whisperer.operator.models.v1alpha1 import Incident, IncidentSpec
from whisperer.operator.services.audit import Entry, human_entries
from whisperer.operator.services.incident_writer import TIMELINE_LIMIT
from whisperer.operator.services.incident_writer import append_entries as merge

ACK = {"by": "alice", "at": "2026-01-01T12:10:00Z"}
NOTE_EARLY = {"author": "bob", "at": "2026-01-01T12:05:00Z", "text": "looking"}
NOTE_LATE = {"author": "alice", "at": "2026-01-01T12:30:00Z", "text": "disk full"}
RESOLUTION = {
    "by": "alice",
    "at": "2026-01-01T13:00:00Z",
    "code": "fixed",
    "summary": "cleared /var/log",
}


def spec(**fields: Any) -> IncidentSpec:
    """The spec of an Incident as the API server serves it."""
    return Incident.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Incident",
            "metadata": {"name": "inc-1", "namespace": "company-acme"},
            "spec": {"title": "disk full on web", **fields},
        }
    ).spec


def entry(at: datetime, type_: str = "AlertJoined", actor: str = "operator") -> Entry:
    return {"at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "type": type_, "actor": actor, "message": ""}


# --- human_entries -----------------------------------------------------------------------


def test_human_entries_are_oldest_first_with_their_content() -> None:
    s = spec(acknowledgement=ACK, notes=[NOTE_LATE, NOTE_EARLY], resolution=RESOLUTION)
    assert human_entries(s) == [
        {
            "at": "2026-01-01T12:05:00Z",
            "type": "NoteAdded",
            "actor": "bob",
            "message": "looking",
        },
        {
            "at": "2026-01-01T12:10:00Z",
            "type": "Acknowledged",
            "actor": "alice",
            "message": "acknowledged by alice",
        },
        {
            "at": "2026-01-01T12:30:00Z",
            "type": "NoteAdded",
            "actor": "alice",
            "message": "disk full",
        },
        {
            "at": "2026-01-01T13:00:00Z",
            "type": "Resolved",
            "actor": "alice",
            "message": "fixed: cleared /var/log",
        },
    ]


@pytest.mark.parametrize(
    ("fields", "types"),
    [
        ({}, []),
        ({"acknowledgement": ACK}, ["Acknowledged"]),
        ({"notes": [NOTE_EARLY]}, ["NoteAdded"]),
        ({"resolution": RESOLUTION}, ["Resolved"]),
        ({"acknowledgement": ACK, "resolution": RESOLUTION}, ["Acknowledged", "Resolved"]),
    ],
    ids=["nothing", "ack", "note", "resolution-only", "ack-and-resolution"],
)
def test_human_entries_per_action(fields: dict[str, Any], types: list[str]) -> None:
    assert [e["type"] for e in human_entries(spec(**fields))] == types


def test_human_entries_bound_messages_to_1024_characters() -> None:
    s = spec(
        notes=[{**NOTE_EARLY, "text": "n" * 4096}],
        resolution={**RESOLUTION, "code": "workaround", "summary": "s" * 4096},
    )
    note, resolved = human_entries(s)
    assert note["message"] == "n" * 1024
    assert resolved["message"] == ("workaround: " + "s" * 4096)[:1024]
    assert len(resolved["message"]) == 1024


def test_human_entries_drop_sub_seconds() -> None:
    s = spec(acknowledgement={**ACK, "at": "2026-01-01T12:10:00.750Z"})
    assert human_entries(s)[0]["at"] == "2026-01-01T12:10:00Z"


def test_human_entries_convert_offsets_to_utc() -> None:
    s = spec(
        acknowledgement={"by": "alice", "at": "2026-01-01T14:00:00+02:00"},
        notes=[{"author": "bob", "at": "2026-01-01T13:00:00Z", "text": "after the ack"}],
    )
    assert [(e["type"], e["at"]) for e in human_entries(s)] == [
        ("Acknowledged", "2026-01-01T12:00:00Z"),
        ("NoteAdded", "2026-01-01T13:00:00Z"),
    ]


# --- merge -------------------------------------------------------------------------------


def test_merge_adds_and_reports_new_entries_in_time_order() -> None:
    t = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    existing = [entry(t, "Opened"), entry(t + timedelta(minutes=20), "AlertJoined")]
    additions = human_entries(spec(acknowledgement=ACK, notes=[NOTE_LATE]))

    timeline, new = merge(existing, additions)

    assert new == additions
    assert [(e["at"], e["type"]) for e in timeline] == [
        ("2026-01-01T12:00:00Z", "Opened"),
        ("2026-01-01T12:10:00Z", "Acknowledged"),
        ("2026-01-01T12:20:00Z", "AlertJoined"),
        ("2026-01-01T12:30:00Z", "NoteAdded"),
    ]


def test_merging_the_same_entries_twice_adds_nothing() -> None:
    additions = human_entries(
        spec(acknowledgement=ACK, notes=[NOTE_EARLY, NOTE_LATE], resolution=RESOLUTION)
    )
    once, new_once = merge([], additions)
    twice, new_twice = merge(once, additions)

    assert new_once == additions
    assert new_twice == []
    assert twice == once
    assert len(twice) == len(additions)


def test_merge_recognises_an_entry_by_type_actor_and_time() -> None:
    recorded = {**human_entries(spec(acknowledgement=ACK))[0], "message": "reworded"}
    timeline, new = merge([recorded], human_entries(spec(acknowledgement=ACK)))
    assert new == []
    assert timeline == [recorded]


@pytest.mark.parametrize(
    ("other", "why"),
    [
        ({"actor": "carol"}, "another actor"),
        ({"at": "2026-01-01T12:10:01Z"}, "another second"),
        ({"type": "NoteAdded"}, "another type"),
    ],
    ids=["actor", "time", "type"],
)
def test_merge_keeps_entries_that_differ_in_their_key(other: dict[str, str], why: str) -> None:
    ack = human_entries(spec(acknowledgement=ACK))[0]
    timeline, new = merge([ack], [{**ack, **other}])
    assert new == [{**ack, **other}], why
    assert len(timeline) == 2


def test_merge_bounds_the_timeline_keeping_the_newest() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    full = [entry(t + timedelta(minutes=i)) for i in range(TIMELINE_LIMIT)]
    newest = entry(t + timedelta(minutes=TIMELINE_LIMIT), "Resolved", "alice")

    timeline, new = merge(full, [newest])

    assert TIMELINE_LIMIT == 100
    assert new == [newest]
    assert len(timeline) == TIMELINE_LIMIT
    assert timeline == [*full[1:], newest]


def test_the_bound_keeps_the_opened_entry() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    opened = entry(t, "Opened", "policy:correlation")
    joins = [entry(t + timedelta(minutes=1 + i)) for i in range(TIMELINE_LIMIT + 20)]

    timeline, _ = merge([opened], joins)

    assert len(timeline) == TIMELINE_LIMIT
    assert timeline[0] == opened
    assert timeline[1:] == joins[-(TIMELINE_LIMIT - 1) :]


def test_an_entry_pushed_out_by_the_bound_is_not_reported_again() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    ack = entry(t, "Acknowledged", "alice")
    timeline, first = merge([], [ack])
    later = [entry(t + timedelta(minutes=1 + i)) for i in range(TIMELINE_LIMIT)]
    timeline, _ = merge(timeline, later)
    assert ack not in timeline  # the bound pushed it out

    again, second = merge(timeline, [ack])

    assert first == [ack]
    assert second == []
    assert again == timeline
