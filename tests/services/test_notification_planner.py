"""Which messages an incident calls for (`services/notifications/planner.py`), from the
example config repo: the assignment, each SLA step recorded on the incident, runs waiting
for approval, the resolution; each recorded once, and no longer news once answered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from support.notifications import DOCS

from whisperer.operator.clock import ManualClock
from whisperer.operator.models.v1alpha1 import MessageKind
from whisperer.operator.services.configstore import KINDS, ConfigStore
from whisperer.operator.services.incident_writer import apply_changes
from whisperer.operator.services.notifications.planner import (
    NotificationPlanner,
    entries_of,
    subject_of,
)

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
NS, NAME = "company-acme-dental", "inc-20261127-0007"


def planner() -> NotificationPlanner:
    store = ConfigStore()
    plural_of = {cls.__name__: plural for plural, cls in KINDS.items()}
    for doc in DOCS:
        if doc["kind"] in plural_of:
            store.apply(plural_of[doc["kind"]], "ADDED", doc)
    return NotificationPlanner(
        config=store, clock=ManualClock(NOW), msp_admins=("morgan@northwind-msp.example",)
    )


def status(**changes: Any) -> dict[str, Any]:
    return {
        "phase": "Open",
        "openedAt": "2026-11-27T14:02:00Z",
        "severity": "critical",
        "assignee": "sam-taylor",
        "sla": {"policy": "standard-business-hours", "responseDueAt": "2026-11-27T14:32:00Z"},
        **changes,
    }


def wanted(p: NotificationPlanner, s: dict[str, Any]) -> list[tuple[str, str]]:
    company = p._config.company("acme-dental")
    assert company is not None
    subject = subject_of(company, NS, NAME, s)
    return [(str(w.kind), w.level) for w in p.wanted(company, subject, s, p.directory())]


def recorded(p: NotificationPlanner, s: dict[str, Any]) -> dict[str, Any]:
    """The status after the planner's change, as the writer applies it."""
    out, _, _ = apply_changes(s, [p.change("acme-dental", NS, NAME)])
    return out


def test_each_step_on_the_incident_calls_for_its_message() -> None:
    p = planner()
    assert wanted(p, status()) == [("assigned", "sam-taylor")]
    breached = status(
        sla={
            "policy": "standard-business-hours",
            "responseWarnedAt": "2026-11-27T14:17:00Z",
            "responseBreached": True,
            "escalationRepeats": 1,
        },
        escalationLevel=2,
    )
    assert wanted(p, breached) == [
        ("assigned", "sam-taylor"),
        ("sla-warning", "response"),
        ("sla-breach", "response"),
        ("escalation", "1"),
        ("escalation", "2"),
        ("escalation", "2.1"),  # the policy's last level, repeated
    ]
    # Acknowledged: the response clock's messages are no longer news.
    assert wanted(p, {**breached, "phase": "Acknowledged"}) == [("assigned", "sam-taylor")]


def test_entries_are_recorded_once_per_recipient_and_channel() -> None:
    p = planner()
    first = recorded(p, status())
    entries = entries_of(NS, NAME, first)
    # Sam chose msp-email, msp-sms (critical: texted) and noc-slack; the PSA webhook
    # broadcasts assignments.
    assert sorted((e.key.kind, e.key.channel, e.key.recipient) for e in entries.values()) == [
        (MessageKind.ASSIGNED, "msp-email", "sam@northwind-msp.example"),
        (MessageKind.ASSIGNED, "msp-sms", "+16175550199"),
        (MessageKind.ASSIGNED, "noc-slack", "#noc-slack"),
        (MessageKind.ASSIGNED, "psa-webhook", "#psa-webhook"),
    ]
    assert {e.state for e in entries.values()} == {"pending"}
    again = recorded(p, first)
    assert again["notifications"] == first["notifications"]  # nothing new


def test_a_resolution_tells_the_company_and_a_merge_tells_nobody() -> None:
    p = planner()
    resolved = status(phase="Resolved", resolvedAt="2026-11-27T15:00:00Z", resolvedBy="technician")
    assert ("resolved", "") in wanted(p, resolved)
    assert ("assigned", "sam-taylor") not in wanted(p, resolved)
    merged = {**resolved, "resolvedBy": "merge"}
    assert wanted(p, merged) == []


def test_a_run_waiting_for_approval_asks_those_who_may_approve() -> None:
    p = planner()
    s = status(
        runs=[
            {
                "name": "run-1",
                "runbook": "alert-whisperer/reload-nginx",
                "requestedBy": "sam@northwind-msp.example",
                "phase": "AwaitingApproval",
            }
        ]
    )
    assert ("approval-required", "run-1") in wanted(p, s)
    entries = entries_of(NS, NAME, recorded(p, s))
    approvers = {
        e.key.recipient for e in entries.values() if e.key.kind == MessageKind.APPROVAL_REQUIRED
    }
    assert "sam@northwind-msp.example" not in approvers  # nobody approves their own request
    # reload-nginx is medium risk and acme-dental lets its admins approve medium.
    # (The incident is critical: Priya, who has a phone, is texted too.)
    assert approvers == {
        "priya@acme-dental.example",
        "+16175550142",
        "morgan@northwind-msp.example",
    }


def test_the_directory_is_kept_until_the_config_changes() -> None:
    p = planner()
    first = p.directory()
    assert p.directory() is first  # every incident write asks: no rebuild in between
    tech = next(t for t in DOCS if t["kind"] == "Technician")
    renamed = {**tech, "metadata": {**tech["metadata"], "name": "new-hire"}}
    p._config.apply("technicians", "ADDED", renamed)
    again = p.directory()
    assert again is not first
    assert "new-hire" in again.technicians and set(first.technicians) < set(again.technicians)
