"""One typed context per kind of message: what the templates, the chat cards, the SMS text and
the webhook's JSON are all made from, so every form of a message says the same facts."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from whisperer.operator.models.v1alpha1 import MessageKind
from whisperer.operator.services.notifications.formatting import span, when
from whisperer.operator.services.notifications.views import (
    ChainStep,
    IncidentView,
    RecipientView,
    RunbookView,
    RunView,
)

SlaClock = Literal["response", "resolution"]
Facts = list[tuple[str, str]]


@dataclass(frozen=True)
class Message:
    """What every message has: the incident and its reader."""

    kind: ClassVar[MessageKind]
    event: ClassVar[str]  # the webhook's event type (Standard Webhooks: dotted, [a-z_])
    incident: IncidentView
    recipient: RecipientView

    @property
    def message_kind(self) -> MessageKind:
        """The kind (a property, so that one class may stand for two kinds)."""
        return self.kind

    @property
    def event_type(self) -> str:
        """The webhook's event type."""
        return self.event

    @property
    def level(self) -> str:
        """The outbox key's level: the step within the kind."""
        return ""

    @property
    def sms_hint(self) -> str:
        """What follows the subject in a text message: the command that shows the incident."""
        return self.incident.show_command

    @property
    def tz(self) -> str:
        """The reader's time zone."""
        return self.recipient.time_zone

    def when(self, moment: datetime | None) -> str:
        """A time, in the reader's zone."""
        return when(moment, self.tz)

    def facts(self) -> Facts:
        """The facts every form of the message carries, as (label, value)."""
        i = self.incident
        facts = [
            ("Incident", i.name),
            ("Company", i.company_name),
            ("Severity", i.severity),
            ("Priority", i.priority),
            ("Assets", i.asset_names),
        ]
        if i.assignee:
            facts.append(("Assignee", i.assignee))
        return facts + self.own_facts()

    def own_facts(self) -> Facts:
        """The facts of this kind of message."""
        return []

    def data(self) -> dict[str, Any]:
        """The webhook's `data`: every field, times as RFC 3339, durations in seconds."""
        body: dict[str, Any] = _json(self)
        body["kind"] = str(self.message_kind)
        return body


def _json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            _camel(f.name): _json(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "recipient"
        }
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@dataclass(frozen=True)
class Assigned(Message):
    """To the technician an incident was assigned to."""

    kind: ClassVar[MessageKind] = MessageKind.ASSIGNED
    event: ClassVar[str] = "incident.assigned"
    runbooks: tuple[RunbookView, ...] = ()
    reason: str = ""  # why routing chose them

    def own_facts(self) -> Facts:
        """The deadlines."""
        return [
            ("Respond by", self.when(self.incident.response_due_at)),
            ("Resolve by", self.when(self.incident.resolution_due_at)),
        ]


@dataclass(frozen=True)
class SlaWarning(Message):
    """A deadline is near."""

    kind: ClassVar[MessageKind] = MessageKind.SLA_WARNING
    event: ClassVar[str] = "incident.sla_warning"
    clock: SlaClock = "response"
    due_at: datetime | None = None
    remaining: timedelta = timedelta(0)

    @property
    def level(self) -> str:
        """The clock."""
        return self.clock

    def own_facts(self) -> Facts:
        """The deadline and the time left."""
        return [
            (f"{self.clock.title()} due", self.when(self.due_at)),
            ("Time left", span(self.remaining)),
        ]


@dataclass(frozen=True)
class SlaBreach(Message):
    """A deadline passed."""

    kind: ClassVar[MessageKind] = MessageKind.SLA_BREACH
    event: ClassVar[str] = "incident.sla_breached"
    clock: SlaClock = "response"
    due_at: datetime | None = None
    overdue: timedelta = timedelta(0)

    @property
    def level(self) -> str:
        """The clock."""
        return self.clock

    def own_facts(self) -> Facts:
        """The deadline missed."""
        return [
            (f"{self.clock.title()} was due", self.when(self.due_at)),
            ("Overdue by", span(self.overdue)),
        ]


@dataclass(frozen=True)
class Escalation(Message):
    """A level of the escalation ladder was reached."""

    kind: ClassVar[MessageKind] = MessageKind.ESCALATION
    event: ClassVar[str] = "incident.escalated"
    escalation_level: int = 1
    clock: SlaClock = "response"
    due_at: datetime | None = None
    overdue: timedelta = timedelta(0)
    reason: str = ""  # DeadlineMissed, NoTechnicianAvailable, ...
    chain: tuple[ChainStep, ...] = ()

    @property
    def level(self) -> str:
        """The escalation level."""
        return str(self.escalation_level)

    @property
    def levels(self) -> int:
        """How many levels the ladder has."""
        return max((s.level for s in self.chain), default=self.escalation_level)

    def own_facts(self) -> Facts:
        """The level and the deadline missed."""
        facts = [("Escalation level", f"{self.escalation_level} of {self.levels}")]
        if self.due_at is not None:
            facts.append((f"{self.clock.title()} was due", self.when(self.due_at)))
            facts.append(("Overdue by", span(self.overdue)))
        if self.reason:
            facts.append(("Reason", self.reason))
        return facts


@dataclass(frozen=True)
class ApprovalRequired(Message):
    """A run waits for someone allowed to approve it."""

    kind: ClassVar[MessageKind] = MessageKind.APPROVAL_REQUIRED
    event: ClassVar[str] = "run.approval_required"
    run: RunView | None = None
    approvers: str = ""  # who may approve, in words

    @property
    def level(self) -> str:
        """The run."""
        return self.run.name if self.run else ""

    def own_facts(self) -> Facts:
        """The run."""
        run = self.run
        if run is None:
            return []
        return [
            ("Runbook", run.title),
            ("Risk", run.risk),
            ("Targets", ", ".join(run.targets)),
            ("Requested by", run.requested_by),
        ]


@dataclass(frozen=True)
class RunOutcome(Message):
    """A run failed, or succeeded and healed nothing (`ineffective`)."""

    kind: ClassVar[MessageKind] = MessageKind.RUN_FAILED
    event: ClassVar[str] = "run.failed"
    run: RunView | None = None
    outcome: Literal["failed", "ineffective"] = "failed"
    detail: str = ""

    @property
    def message_kind(self) -> MessageKind:
        """run-failed or run-ineffective."""
        return (
            MessageKind.RUN_INEFFECTIVE if self.outcome == "ineffective" else MessageKind.RUN_FAILED
        )

    @property
    def event_type(self) -> str:
        """run.failed or run.ineffective."""
        return f"run.{self.outcome}"

    @property
    def level(self) -> str:
        """The run."""
        return self.run.name if self.run else ""

    def own_facts(self) -> Facts:
        """The run and its outcome."""
        run = self.run
        facts = [
            (
                "Outcome",
                "failed" if self.outcome == "failed" else "succeeded, but the alerts still fire",
            )
        ]
        if run is not None:
            facts[:0] = [("Runbook", run.title), ("Run", run.name)]
        return facts


@dataclass(frozen=True)
class Resolved(Message):
    """To the company's contacts: what happened, how it was fixed, how long it took."""

    kind: ClassVar[MessageKind] = MessageKind.RESOLVED
    event: ClassVar[str] = "incident.resolved"
    resolved_at: datetime | None = None
    how: Literal["technician", "automation", "auto-resolve"] = "technician"
    by: str = ""
    code: str = ""
    summary: str = ""
    time_to_resolve: timedelta | None = None
    sla_met: bool | None = None

    @property
    def sms_hint(self) -> str:
        """Nothing: the company's contacts do not use the plugin."""
        return ""

    def own_facts(self) -> Facts:
        """When, how long, and whether within the SLA."""
        facts = [
            ("Resolved at", self.when(self.resolved_at)),
            ("Time to resolve", span(self.time_to_resolve)),
        ]
        if self.sla_met is not None:
            facts.append(("Within the SLA", "yes" if self.sla_met else "no"))
        return facts


KINDS: dict[MessageKind, type[Message]] = {
    MessageKind.ASSIGNED: Assigned,
    MessageKind.SLA_WARNING: SlaWarning,
    MessageKind.SLA_BREACH: SlaBreach,
    MessageKind.ESCALATION: Escalation,
    MessageKind.APPROVAL_REQUIRED: ApprovalRequired,
    MessageKind.RUN_FAILED: RunOutcome,
    MessageKind.RUN_INEFFECTIVE: RunOutcome,
    MessageKind.RESOLVED: Resolved,
}
"""The context class of each kind."""


def resolution(
    incident: IncidentView,
    reader: RecipientView,
    *,
    resolved_at: datetime,
    by: str = "",
    code: str = "",
    summary: str = "",
    healed_by: RunView | None = None,
) -> Resolved:
    """The resolution notice: by a technician (`by`, `code`, `summary` from the incident's
    resolution), by automation (`healed_by`: the run whose alerts then cleared), or by every
    alert clearing (neither). Time to resolve and the SLA's verdict from the incident."""
    how: Literal["technician", "automation", "auto-resolve"] = (
        "technician" if by else "automation" if healed_by else "auto-resolve"
    )
    if healed_by is not None and not summary:
        summary = f"the runbook {healed_by.title} ran on {', '.join(healed_by.targets)}"
    due = incident.resolution_due_at
    return Resolved(
        incident,
        reader,
        resolved_at=resolved_at,
        how=how,
        by=by or (f"run {healed_by.name}" if healed_by else ""),
        code=code,
        summary=summary,
        time_to_resolve=resolved_at - incident.opened_at if incident.opened_at else None,
        sla_met=resolved_at <= due if due else None,
    )
