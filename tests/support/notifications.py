"""A realistic incident of the example MSP (acme-dental's practice-management database out of
disk) and one message of every kind about it, built from the example config repo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from support.cluster import REPO, load_documents
from whisperer.operator.models.v1alpha1 import (
    Company,
    Incident,
    NotificationChannel,
    Runbook,
    RunbookExecution,
    SLAPolicy,
    Technician,
)
from whisperer.operator.services.notifications.messages import (
    ApprovalRequired,
    Assigned,
    Escalation,
    Message,
    Resolved,
    RunOutcome,
    SlaBreach,
    SlaWarning,
)
from whisperer.operator.services.notifications.recipients import Directory, Person
from whisperer.operator.services.notifications.views import (
    chain,
    incident_view,
    recipient_view,
    run_view,
    runbook_view,
)

DOCS = load_documents(REPO / "manifests" / "config", REPO / "runbooks")
OPENED = datetime(2026, 11, 27, 14, 2, tzinfo=UTC)  # a Friday, 09:02 in New York


def _of(kind: str) -> list[dict[str, Any]]:
    return [d for d in DOCS if d["kind"] == kind]


def company(name: str = "acme-dental") -> Company:
    return Company.from_body(next(d for d in _of("Company") if d["metadata"]["name"] == name))


def technicians() -> dict[str, Technician]:
    return {d["metadata"]["name"]: Technician.from_body(d) for d in _of("Technician")}


def channels() -> dict[str, NotificationChannel]:
    return {
        d["metadata"]["name"]: NotificationChannel.from_body(d) for d in _of("NotificationChannel")
    }


def policy(name: str = "standard-business-hours") -> SLAPolicy:
    return SLAPolicy.from_body(next(d for d in _of("SLAPolicy") if d["metadata"]["name"] == name))


def runbook(name: str) -> Runbook:
    return Runbook.from_body(next(d for d in _of("Runbook") if d["metadata"]["name"] == name))


def directory(msp_admins: tuple[str, ...] = ("morgan@northwind-msp.example",)) -> Directory:
    return Directory(channels(), technicians(), msp_admins)


def incident(
    title: str = "pm-db01 disk space low (/var/lib/postgresql)", **status: Any
) -> Incident:
    body: dict[str, Any] = {
        "apiVersion": "alertwhisperer.io/v1alpha1",
        "kind": "Incident",
        "metadata": {"name": "inc-20261127-0007", "namespace": "company-acme-dental"},
        "spec": {"title": title},
        "status": {
            "phase": "Open",
            "company": "acme-dental",
            "severity": "critical",
            "priority": "P1",
            "pattern": "cascade",
            "rootCause": {
                "asset": "pm-db01",
                "signal": "disk-full",
                "summary": "The database volume /var/lib/postgresql is 97% full; "
                "pm-app01 fails because its database stopped accepting writes.",
                "decidedBy": "topology",
            },
            "alerts": {
                "count": 5,
                "firing": 4,
                "sources": ["alertmanager", "zabbix"],
                "first": {"name": "a-1", "asset": "pm-db01", "signal": "disk-full"},
                "latest": {"name": "a-5", "asset": "pm-app01", "signal": "http-errors"},
                "refs": [
                    {"name": "a-1", "asset": "pm-db01", "signal": "disk-full"},
                    {"name": "a-5", "asset": "pm-app01", "signal": "http-errors"},
                ],
            },
            "assignee": "sam-taylor",
            "assignedAt": OPENED.isoformat(),
            "openedAt": OPENED.isoformat(),
            "sla": {
                "policy": "standard-business-hours",
                "responseDueAt": (OPENED + timedelta(minutes=30)).isoformat(),
                "resolutionDueAt": (OPENED + timedelta(hours=4)).isoformat(),
            },
            "analysis": {
                "provider": "anthropic",
                "model": "claude-sonnet-4-5",
                "at": (OPENED + timedelta(seconds=20)).isoformat(),
                "inputHash": "0" * 64,
                "summary": "WAL files pile up because archiving to the backup bucket fails.",
                "probableCause": {"asset": "pm-db01", "signal": "disk-full"},
                "suggestedSeverity": "critical",
                "confidence": 0.86,
                "appliedSeverity": True,
            },
            **status,
        },
    }
    return Incident.from_body(body)


def run(phase: str = "Failed", **spec: Any) -> RunbookExecution:
    return RunbookExecution.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "RunbookExecution",
            "metadata": {"name": "free-disk-space-7f3a", "namespace": "company-acme-dental"},
            "spec": {
                "runbookRef": {"name": "free-disk-space"},
                "incidentRef": {"name": "inc-20261127-0007"},
                "targets": ["pm-db01"],
                "requestedBy": "sam@northwind-msp.example",
                "reason": "WAL archive backlog",
                **spec,
            },
            "status": {
                "phase": phase,
                "risk": "medium",
                "results": [
                    {
                        "target": "pm-db01",
                        "status": "Success" if phase == "Succeeded" else "Failed",
                        "exitCode": 0 if phase == "Succeeded" else 2,
                        "output": "freed 1.2 GB of journal and package cache"
                        if phase == "Succeeded"
                        else "rm: cannot remove '/var/lib/postgresql/wal/0001': <denied>",
                    }
                ],
            },
        }
    )


def samples(title: str = "pm-db01 disk space low (/var/lib/postgresql)") -> list[Message]:
    """One message of every kind about the incident, each to a plausible reader."""
    acme, techs = company(), technicians()
    view = incident_view(incident(title), acme, techs)
    sam = recipient_view(
        Person("Sam Taylor", "assignee", "sam@northwind-msp.example", technician="sam-taylor"),
        techs,
    )
    # A contact's times read in the company's SLA policy's zone (New York for acme-dental).
    priya = recipient_view(
        Person("Priya Raman", "contact", "priya@acme-dental.example"),
        techs,
        default_zone=policy().spec.coverage.time_zone,
    )
    duty = recipient_view(Person("duty-lead@northwind-msp.example", "escalation"), techs)
    free = runbook("free-disk-space")
    response_due = view.response_due_at
    assert response_due is not None
    return [
        Assigned(
            view,
            sam,
            runbooks=(runbook_view(free, view, acme),),
            reason="preferred by rule 10-databases",
        ),
        SlaWarning(
            view, sam, clock="response", due_at=response_due, remaining=timedelta(minutes=7)
        ),
        SlaBreach(view, sam, clock="response", due_at=response_due, overdue=timedelta(0)),
        Escalation(
            view,
            duty,
            escalation_level=2,
            clock="response",
            due_at=response_due,
            overdue=timedelta(minutes=64),
            reason="DeadlineMissed",
            chain=chain(policy().spec, current=2),
        ),
        ApprovalRequired(
            view,
            priya,
            run=run_view(run("AwaitingApproval"), free),
            approvers="a company admin or an MSP admin",
        ),
        RunOutcome(view, sam, run=run_view(run("Failed"), free), outcome="failed"),
        RunOutcome(
            view,
            sam,
            run=run_view(run("Succeeded"), free),
            outcome="ineffective",
            detail="pm-db01 disk-full still fires 10 min after the run.",
        ),
        Resolved(
            view,
            priya,
            resolved_at=OPENED + timedelta(hours=2, minutes=15),
            how="technician",
            by="Sam Taylor",
            code="fixed",
            summary="Restored the backup bucket's permissions; the WAL archive caught up "
            "and freed 41 GB.",
            time_to_resolve=timedelta(hours=2, minutes=15),
            sla_met=True,
        ),
    ]
