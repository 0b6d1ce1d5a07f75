"""Conditions keep their transition time unless their status changes."""

from __future__ import annotations

from datetime import UTC, datetime

from whisperer.operator.services.conditions import set_condition

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2026, 1, 1, 13, 0, tzinfo=UTC)


def test_new_condition_gets_now() -> None:
    out = set_condition(
        [], type="Ready", status="True", reason="Accepted", message="ok", generation=3, now=T0
    )
    assert out == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Accepted",
            "message": "ok",
            "lastTransitionTime": "2026-01-01T12:00:00Z",
            "observedGeneration": 3,
        }
    ]


def test_same_status_keeps_transition_time_but_updates_reason() -> None:
    first = set_condition(
        [], type="Ready", status="False", reason="A", message="a", generation=1, now=T0
    )
    second = set_condition(
        first, type="Ready", status="False", reason="B", message="b", generation=2, now=T1
    )
    assert second[0]["lastTransitionTime"] == "2026-01-01T12:00:00Z"
    assert (second[0]["reason"], second[0]["observedGeneration"]) == ("B", 2)


def test_status_change_moves_transition_time_and_keeps_others() -> None:
    start = set_condition(
        [
            {
                "type": "Stalled",
                "status": "True",
                "reason": "X",
                "message": "",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
            }
        ],
        type="Ready",
        status="False",
        reason="A",
        message="",
        generation=1,
        now=T0,
    )
    out = set_condition(
        start, type="Ready", status="True", reason="OK", message="", generation=1, now=T1
    )
    assert [c["type"] for c in out] == ["Ready", "Stalled"]
    assert out[0]["lastTransitionTime"] == "2026-01-01T13:00:00Z"
    assert out[1]["lastTransitionTime"] == "2025-01-01T00:00:00Z"
