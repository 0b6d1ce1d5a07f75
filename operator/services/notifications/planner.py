"""Which messages an incident calls for, worked out from the incident itself: its assignment,
the SLA steps recorded on it (warnings, breaches, escalation levels and their repeats), its
resolution, and its runs that wait for approval or failed. Each becomes outbox entries
(`outbox.py`: one per recipient and channel, keyed so it is recorded once, ever), written
through the incident writer in the write that records the step itself.

A function of the incident and the config at write time (`Change.compute`), so a storm
that touches an incident a thousand times asks for its assignment message once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from whisperer.operator.clock import Clock
from whisperer.operator.models.v1alpha1 import Company, MessageKind
from whisperer.operator.models.v1alpha1.sla import EscalationLevel
from whisperer.operator.services.configstore import ConfigStore
from whisperer.operator.services.incident_writer import Change, Owner, Update
from whisperer.operator.services.notifications import outbox, recipients
from whisperer.operator.services.notifications.outbox import OutboxEntry
from whisperer.operator.services.notifications.recipients import (
    Audience,
    Delivery,
    Directory,
    Problem,
    Subject,
)
from whisperer.operator.services.sla.deadlines import ladder
from whisperer.operator.services.tenancy import company_of_namespace

OUTBOX_KEPT = 100
"""Entries an incident keeps: the oldest settled ones make room, never a pending one."""

RUN_KINDS = {"Failed": MessageKind.RUN_FAILED, "Ineffective": MessageKind.RUN_INEFFECTIVE}


@dataclass(frozen=True)
class Wanted:
    """One message the incident calls for: its kind, its step within the kind (the
    assignee, the SLA clock, the escalation level and repeat, the run) and its audience."""

    kind: MessageKind
    level: str
    audience: Audience = field(compare=False)


def subject_of(company: Company, namespace: str, name: str, status: Mapping[str, Any]) -> Subject:
    """The incident as recipient resolution sees it."""
    return Subject(
        incident=f"{namespace}/{name}",
        severity=str(status.get("severity") or "info"),
        company=company,
        assignee=status.get("assignee"),
        episode=int(status.get("reopened") or 0),
    )


def responded(status: Mapping[str, Any]) -> bool:
    """Whether the incident was responded to in this episode (warnings, breaches and
    escalations of the response clock are then no longer news)."""
    sla = status.get("sla") or {}
    return bool(sla.get("respondedAt")) or status.get("phase") == "Acknowledged"


class NotificationPlanner:
    """Works out the outbox entries an incident calls for."""

    def __init__(
        self, *, config: ConfigStore, clock: Clock, msp_admins: tuple[str, ...] = ()
    ) -> None:
        self._config = config
        self._clock = clock
        self._msp_admins = msp_admins
        self._directory: tuple[int, Directory] | None = None

    def directory(self) -> Directory:
        """Channels, technicians and the MSP admins, as the config says now (built again
        only after the config changed: every incident write asks)."""
        generation = self._config.generation
        if self._directory is None or self._directory[0] != generation:
            found = Directory.of(
                self._config.channels(), self._config.technicians(), self._msp_admins
            )
            self._directory = (generation, found)
        return self._directory[1]

    def levels(self, company: Company) -> tuple[EscalationLevel, ...]:
        """The company's escalation ladder (its policy's, or the default one)."""
        policy = self._config.sla_policies().get(company.spec.sla_policy_ref.name)
        return ladder(policy.spec) if policy is not None else ()

    def wanted(
        self, company: Company, subject: Subject, status: Mapping[str, Any], directory: Directory
    ) -> list[Wanted]:
        """Every message the incident's state calls for now (recorded or not)."""
        out: list[Wanted] = []
        now = self._clock.now()
        resolved = status.get("phase") == "Resolved"
        noise = bool((status.get("correlation") or {}).get("noise"))
        if subject.assignee and not noise and not resolved:
            audience = recipients.assignment_audience(subject, directory)
            out.append(Wanted(MessageKind.ASSIGNED, subject.assignee, audience))
        levels = self.levels(company)
        first = levels[0] if levels else None
        sla = status.get("sla") or {}
        for clock in ("response", "resolution") if not resolved else ():
            if clock == "response" and responded(status):
                continue
            for kind, flag in (
                (MessageKind.SLA_WARNING, f"{clock}WarnedAt"),
                (MessageKind.SLA_BREACH, f"{clock}Breached"),
            ):
                if sla.get(flag):
                    audience = recipients.deadline_audience(
                        subject, directory, first_level=first, now=now
                    )
                    out.append(Wanted(kind, clock, audience))
        reached = int(status.get("escalationLevel") or 0)
        if not resolved and not responded(status):
            for level in levels:
                if level.level > reached:
                    break
                audience = recipients.level_targets(subject, directory, level, now=now)
                out.append(Wanted(MessageKind.ESCALATION, str(level.level), audience))
            repeats = int(sla.get("escalationRepeats") or 0)
            if repeats and levels and reached >= levels[-1].level:
                top = levels[-1]
                audience = recipients.level_targets(subject, directory, top, now=now)
                out.append(Wanted(MessageKind.ESCALATION, f"{top.level}.{repeats}", audience))
        out.extend(self._runs(company, subject, status, directory, first))
        if resolved and status.get("resolvedBy") != "merge":
            out.append(Wanted(MessageKind.RESOLVED, "", recipients.resolution_audience(subject)))
        return out

    def _runs(
        self,
        company: Company,
        subject: Subject,
        status: Mapping[str, Any],
        directory: Directory,
        first: EscalationLevel | None,
    ) -> list[Wanted]:
        """Runs waiting for approval, and runs that failed or healed nothing."""
        out: list[Wanted] = []
        now = self._clock.now()
        settings = company.spec.remediation
        for run in status.get("runs") or []:
            name = str(run.get("name") or "")
            requested_by = str(run.get("requestedBy") or "")
            if run.get("phase") == "AwaitingApproval":
                namespace, _, runbook_name = str(run.get("runbook") or "").rpartition("/")
                runbook = next(
                    (
                        rb
                        for rb in self._config.runbooks_for(company.metadata.name)
                        if rb.metadata.name == runbook_name
                        and (not namespace or rb.metadata.namespace == namespace)
                    ),
                    None,
                )
                if runbook is None:
                    audience = Audience()
                    audience.problems.append(
                        Problem(name, f"runbook {run.get('runbook')} is unknown")
                    )
                else:
                    audience = recipients.approval_audience(
                        subject,
                        directory,
                        risk=str(runbook.spec.risk),
                        requested_by=requested_by,
                        company_admins_may_approve_medium=settings.allow_medium_risk_by_company_admin,
                    )
                out.append(Wanted(MessageKind.APPROVAL_REQUIRED, name, audience))
            kind = RUN_KINDS.get(str(run.get("outcome") or ""))
            if kind is not None:
                audience = recipients.run_audience(
                    subject, directory, requested_by=requested_by, first_level=first, now=now
                )
                out.append(Wanted(kind, name, audience))
        return out

    def deliveries(
        self, company: Company, namespace: str, name: str, status: Mapping[str, Any]
    ) -> tuple[list[Delivery], list[Problem]]:
        """Every delivery (recipient and channel) of every message the incident calls for,
        and whoever could not be reached as configured."""
        directory = self.directory()
        subject = subject_of(company, namespace, name, status)
        now = self._clock.now()
        found: list[Delivery] = []
        problems: list[Problem] = []
        for each in self.wanted(company, subject, status, directory):
            got, missed = recipients.deliveries(
                each.audience,
                kind=each.kind,
                subject=subject,
                directory=directory,
                now=now,
                level=each.level,
            )
            found.extend(got)
            problems.extend(missed)
        return found, problems

    def still_wanted(self, company: Company, status: Mapping[str, Any], entry: OutboxEntry) -> bool:
        """Whether a pending entry's message is still news (an assignment to whoever is
        still assigned, a warning about a deadline nobody has responded to yet...)."""
        namespace, _, name = entry.key.incident.partition("/")
        subject = subject_of(company, namespace, name, status)
        if entry.key.episode != subject.episode:
            return False
        wanted = self.wanted(company, subject, status, Directory.of([], [], ()))
        return any(w.kind == entry.key.kind and w.level == entry.key.level for w in wanted)

    def follower(self, namespace: str, name: str) -> Change | None:
        """The outbox's part of every write to an incident (`IncidentWriter.followers`)."""
        company = company_of_namespace(namespace)
        return self.change(company, namespace, name) if company is not None else None

    def change(self, company_name: str, namespace: str, name: str) -> Change:
        """The outbox's part of a write: the entries the incident calls for that are not
        recorded yet, worked out at write time."""

        def compute(body: Mapping[str, Any]) -> Update | None:
            company = self._config.company(company_name)
            status = body.get("status") or {}
            if company is None or not status.get("openedAt"):
                return None
            existing = entries_of(namespace, name, status)
            found, _ = self.deliveries(company, namespace, name, status)
            wanted = [(d.key, d.not_before) for d in found]
            fresh = outbox.new_entries(wanted, existing, now=self._clock.now())
            if not fresh:
                return None
            kept = [*(status.get("notifications") or []), *(e.as_status() for e in fresh)]
            return Update(fields={"notifications": bounded(kept)})

        return Change(Owner.NOTIFICATIONS, compute=compute, computes="outbox")


def entries_of(namespace: str, name: str, status: Mapping[str, Any]) -> dict[str, OutboxEntry]:
    """The outbox on an incident, by entry id."""
    incident = f"{namespace}/{name}"
    found: dict[str, OutboxEntry] = {}
    for body in status.get("notifications") or []:
        try:
            entry = OutboxEntry.from_status(incident, dict(body))
        except (KeyError, ValueError):
            continue
        found[entry.id] = entry
    return found


def bounded(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most OUTBOX_KEPT entries: the oldest settled ones go first, never a pending one."""
    if len(entries) <= OUTBOX_KEPT:
        return entries
    settled = [e for e in entries if e.get("state") != "pending"]
    drop = {id(e) for e in settled[: len(entries) - OUTBOX_KEPT]}
    return [e for e in entries if id(e) not in drop]


def replaced(
    status: Mapping[str, Any], entry: OutboxEntry, *, attempts: int
) -> list[dict[str, Any]] | None:
    """The outbox with one entry moved on, if it is still where the attempt found it (same
    attempts, still pending); None otherwise (someone else moved it)."""
    out = []
    done = False
    for body in status.get("notifications") or []:
        if body.get("id") == entry.id:
            if body.get("state") != "pending" or int(body.get("attempts") or 0) != attempts:
                return None
            out.append(entry.as_status())
            done = True
        else:
            out.append(dict(body))
    return out if done else None


def pending(namespace: str, name: str, status: Mapping[str, Any]) -> list[OutboxEntry]:
    """The entries still to attempt, soonest first."""
    entries = entries_of(namespace, name, status).values()
    return sorted((e for e in entries if e.state == "pending"), key=lambda e: (e.due_at, e.id))


def soonest(namespace: str, name: str, status: Mapping[str, Any]) -> datetime | None:
    """When the incident's next pending entry is due."""
    found = pending(namespace, name, status)
    return found[0].due_at if found else None
