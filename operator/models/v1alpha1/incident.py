"""Incident: correlated alerts, with priority, cause, assignment, SLA clocks and a timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, JsonValue

from whisperer.operator.models.v1alpha1.common import (
    PrinterColumn,
    ResourceInfo,
    Schema,
    Severity,
    ShortText,
    StatusBase,
    UserName,
    age_column,
)
from whisperer.operator.models.v1alpha1.notification import MessageKind
from whisperer.operator.models.v1alpha1.resource import Resource

Priority = Literal["P1", "P2", "P3", "P4", "P5"]


class Acknowledgement(Schema):
    """A technician took the incident."""

    by: UserName = Field(description="Who acknowledged (must be the requesting user).")
    at: datetime = Field(description="When.")


class Resolution(Schema):
    """How the incident ended."""

    by: UserName = Field(description="Who resolved it (must be the requesting user).")
    at: datetime = Field(description="When.")
    code: Literal["fixed", "workaround", "false-positive", "duplicate", "no-action"] = Field(
        description="What kind of ending."
    )
    summary: str = Field(min_length=1, max_length=4096, description="What was done.")


class Note(Schema):
    """A technician's note."""

    author: UserName = Field(description="Who wrote it (must be the requesting user).")
    at: datetime = Field(description="When.")
    text: str = Field(min_length=1, max_length=4096, description="The note.")


class CustomerWait(Schema):
    """A time the incident waits on the customer (the SLA clock pauses): started by a
    technician, and ended (resumed) once."""

    by: UserName = Field(description="Who said it waits (must be the requesting user).")
    at: datetime = Field(description="From when.")
    reason: str = Field(default="", max_length=1024, description="What the customer owes.")
    resumed_by: UserName | None = Field(
        default=None, description="Who ended the wait (must be the requesting user)."
    )
    resumed_at: datetime | None = Field(default=None, description="When the wait ended.")


class Reopening(Schema):
    """A technician reopened a resolved incident (the problem is back, or was not fixed)."""

    by: UserName = Field(description="Who reopened it (must be the requesting user).")
    at: datetime = Field(description="When.")
    reason: str = Field(min_length=1, max_length=1024, description="Why.")


WAIT_RULES: list[JsonValue] = [
    {
        "rule": "!has(oldSelf.customerWaits) || (has(self.customerWaits) "
        "&& size(self.customerWaits) >= size(oldSelf.customerWaits) "
        "&& oldSelf.customerWaits.all(w, self.customerWaits.exists(n, n.by == w.by "
        "&& n.at == w.at && (!has(w.resumedAt) || (has(n.resumedAt) "
        "&& n.resumedAt == w.resumedAt && n.resumedBy == w.resumedBy)))))",
        "message": "a customer wait cannot be removed or changed; it can only be resumed, once",
    },
    {
        "rule": "!has(self.customerWaits) "
        "|| self.customerWaits.filter(w, !has(w.resumedAt)).size() <= 1",
        "message": "the incident waits on the customer once at a time: resume the open wait first",
    },
    {
        "rule": "!has(oldSelf.reopenings) || (has(self.reopenings) "
        "&& size(self.reopenings) >= size(oldSelf.reopenings) "
        "&& oldSelf.reopenings.all(r, r in self.reopenings))",
        "message": "a reopening cannot be removed or changed",
    },
]


class IncidentSpec(Schema):
    """What people decide about the incident; the operator fills the title when it opens it."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(oldSelf.resolution) || has(self.resolution)",
                    "message": "a resolution cannot be removed; reopen by a new alert instead",
                },
                {
                    "rule": "!has(oldSelf.acknowledgement) || (has(self.acknowledgement) "
                    "&& self.acknowledgement == oldSelf.acknowledgement)",
                    "message": "an acknowledgement cannot be changed once made",
                },
                *WAIT_RULES,
            ]
        }
    )
    title: ShortText = Field(min_length=1, description="A one-line title.")
    assignee: str | None = Field(
        default=None, max_length=63, description="A Technician name, to override routing."
    )
    acknowledgement: Acknowledgement | None = Field(default=None, description="Who took it.")
    resolution: Resolution | None = Field(default=None, description="How it ended.")
    notes: list[Note] = Field(
        default_factory=list, max_length=50, description="Technicians' notes (the latest 50)."
    )
    customer_waits: list[CustomerWait] = Field(
        default_factory=list,
        max_length=20,
        description="Times the incident waits on the customer; the SLA clock pauses meanwhile.",
    )
    reopenings: list[Reopening] = Field(
        default_factory=list,
        max_length=20,
        description="Technicians' reopenings of the resolved incident (after its resolution).",
    )


class AlertRef(Schema):
    """A reference to a correlated alert."""

    name: str = Field(max_length=253, description="The Alert's name.")
    asset: str = Field(default="", max_length=253, description="Its asset.")
    signal: str = Field(default="", max_length=256, description="Its signal.")
    source: str = Field(default="", max_length=32, description="Its tool.")
    muted: bool = Field(default=False, description="Inhibited or silenced.")


class AlertSummary(Schema):
    """A bounded view of the incident's alerts: counts, the first, the latest, some refs."""

    count: int = Field(default=0, ge=0, description="Alerts correlated, ever.")
    firing: int = Field(default=0, ge=0, description="Of those, still firing.")
    sources: list[str] = Field(default_factory=list, max_length=8, description="Tools seen.")
    first: AlertRef | None = Field(default=None, description="The first alert.")
    latest: AlertRef | None = Field(default=None, description="The latest alert.")
    refs: list[AlertRef] = Field(
        default_factory=list, max_length=50, description="Up to 50 of the alerts."
    )
    firing_names: list[str] = Field(
        default_factory=list, max_length=500, description="The alerts still firing (bounded)."
    )
    quiet_since: datetime | None = Field(
        default=None, description="When the last firing alert resolved (event time)."
    )
    first_at: datetime | None = Field(default=None, description="Event time of the first.")
    last_at: datetime | None = Field(default=None, description="Event time of the latest.")


class RootCause(Schema):
    """The probable cause."""

    asset: str = Field(default="", max_length=253, description="The asset at fault.")
    signal: str = Field(default="", max_length=256, description="The signal at fault.")
    summary: str = Field(default="", max_length=4096, description="The explanation.")
    decided_by: Literal["rules", "topology", "ai"] = Field(
        default="rules", description="What concluded it."
    )
    confidence: float | None = Field(default=None, ge=0, le=1, description="0..1, for AI.")


class AnalysisCause(Schema):
    """The cause the AI names: an asset of the incident and a signal."""

    asset: str = Field(default="", max_length=253, description="The asset it blames.")
    signal: str = Field(default="", max_length=256, description="The signal it blames.")


class RulesDecision(Schema):
    """What correlation's rules concluded: correlation goes on from these (after a restart
    too), never from the AI's conclusions; the visible fields show the AI's instead when it
    decided."""

    severity: Severity | None = Field(default=None, description="The rules' severity.")
    score: int | None = Field(default=None, ge=0, le=100, description="The rules' score.")
    priority: Priority | None = Field(default=None, description="The rules' priority.")
    root_cause: RootCause | None = Field(default=None, description="The rules' root cause.")


class Analysis(Schema):
    """The optional AI analysis of the incident (Claude, through the anthropic SDK): advice
    that decides only above the confidence threshold."""

    provider: Literal["anthropic", "bedrock"] = Field(description="Where the model ran.")
    model: str = Field(max_length=128, description="The model asked.")
    at: datetime = Field(description="When the answer (or the failure) came.")
    input_hash: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of what was sent: the same input is not analysed again.",
    )
    summary: str | None = Field(default=None, max_length=2048, description="What happened.")
    probable_cause: AnalysisCause | None = Field(default=None, description="The probable cause.")
    suggested_severity: Severity | None = Field(
        default=None, description="The severity it suggests."
    )
    confidence: float | None = Field(default=None, ge=0, le=1, description="0..1, its own.")
    applied_severity: bool = Field(
        default=False,
        description="Whether it decided: severity and root cause are the AI's (confidence at or "
        "above the threshold, cause among the incident's assets).",
    )
    note: str | None = Field(
        default=None, max_length=256, description="Why it did or did not decide."
    )
    error: str | None = Field(
        default=None, max_length=1024, description="Why it failed (the rules alone decide)."
    )
    skipped_reason: Literal["budget"] | None = Field(
        default=None, description="Why no request was made (the rules alone decide)."
    )
    cached: bool = Field(default=False, description="Answered from the cache, at no cost.")
    cost_usd: float = Field(default=0, ge=0, description="What the request cost, in US dollars.")


class CorrelationState(Schema):
    """What correlation keeps on the incident to rebuild its memory exactly after a restart."""

    category: str = Field(
        default="", max_length=64, description="The signal category of its cause."
    )
    episodes: list[datetime] = Field(
        default_factory=list,
        max_length=10,
        description="The occurrences of its problem it stands for (event time): when it "
        "opened, and each recurrence of a periodic problem.",
    )
    joining: list[Annotated[str, Field(max_length=253)]] = Field(
        default_factory=list,
        max_length=1000,
        description="Alerts whose join is recorded here but not yet on the alert itself.",
    )
    resolved_at: datetime | None = Field(
        default=None, description="When it resolved, in event time (reopening runs on it)."
    )


Outcome = Literal["met", "breached"]


class SLAClocks(Schema):
    """The incident's deadlines, how they were met, and the time the clock stood still."""

    policy: str = Field(default="", max_length=63, description="The SLAPolicy applied.")
    response_due_at: datetime | None = Field(default=None, description="Respond by.")
    resolution_due_at: datetime | None = Field(default=None, description="Resolve by.")
    next_due_at: datetime | None = Field(
        default=None, description="The deadline that still matters (none once resolved)."
    )
    responded_at: datetime | None = Field(
        default=None, description="The first acknowledgement or technician action."
    )
    resolved_at: datetime | None = Field(default=None, description="When it was resolved.")
    response_outcome: Outcome | None = Field(
        default=None, description="Whether the response deadline was met (once known)."
    )
    resolution_outcome: Outcome | None = Field(
        default=None, description="Whether the resolution deadline was met (once known)."
    )
    response_margin_minutes: int | None = Field(
        default=None,
        description="Minutes of covered time to spare (negative: late by) at the response.",
    )
    resolution_margin_minutes: int | None = Field(
        default=None,
        description="Minutes of covered time to spare (negative: late by) at the resolution.",
    )
    response_breached: bool = Field(default=False, description="Response missed.")
    resolution_breached: bool = Field(default=False, description="Resolution missed.")
    paused_minutes: int = Field(
        default=0,
        ge=0,
        description="Covered minutes the clock stood still in waits on the customer that "
        "ended (an open wait: pausedSince).",
    )
    paused_since: datetime | None = Field(
        default=None, description="Waiting on the customer since (None: the clock runs)."
    )
    response_warned_at: datetime | None = Field(
        default=None, description="When the warning before the response deadline was recorded."
    )
    resolution_warned_at: datetime | None = Field(
        default=None,
        description="When the warning before the resolution deadline was recorded.",
    )
    escalated_at: datetime | None = Field(
        default=None, description="When the last escalation level (or its repeat) was taken."
    )
    escalation_repeats: int = Field(
        default=0, ge=0, description="Times the last level was repeated, unacknowledged."
    )
    escalation_reason: str | None = Field(
        default=None,
        max_length=64,
        description="Why it escalated: ResponseMissed, or NoTechnicianAvailable.",
    )
    episode: int = Field(
        default=0,
        ge=0,
        description="The opening these clocks count for (status.reopened): a reopened "
        "incident starts its clocks and steps again.",
    )


class TimelineEntry(Schema):
    """Something that happened to the incident, and who did it."""

    at: datetime = Field(description="When.")
    type: str = Field(
        pattern=r"^[A-Z][A-Za-z]*$", max_length=64, description="Opened, AlertJoined, ..."
    )
    actor: str = Field(max_length=253, description="The user, or the operator's policy.")
    message: str = Field(default="", max_length=1024, description="What happened.")


class RunSummary(Schema):
    """A RunbookExecution for the incident, as the incident shows it."""

    name: str = Field(max_length=253, description="The RunbookExecution.")
    runbook: str = Field(default="", max_length=253, description="namespace/name of the Runbook.")
    requested_by: str = Field(default="", max_length=253, description="Who asked for it.")
    phase: str = Field(default="", max_length=32, description="Its phase.")
    outcome: (
        Literal["SelfHealed", "Ineffective", "Failed", "Rejected", "Expired", "Cancelled"] | None
    ) = Field(default=None, description="How it ended for the incident (None: not yet).")
    finished_at: datetime | None = Field(default=None, description="When it ended.")


class OutboxEntry(Schema):
    """One message the incident called for, recorded before it is sent and moved on by each
    attempt (services/notifications/outbox.py)."""

    id: str = Field(
        max_length=64,
        description="<kind>-<24 hex>: a hash of (incident, episode, kind, level, recipient, "
        "channel); also the email's Message-ID and the webhook-id.",
    )
    kind: MessageKind = Field(description="What the message is about.")
    level: str = Field(
        default="",
        max_length=253,
        description="The step within the kind: the assignee, the SLA clock, the escalation "
        "level (and repeat, 3.2), the run.",
    )
    recipient: str = Field(
        max_length=320, description="The address written to, or #<channel> for a room."
    )
    channel: str = Field(max_length=253, description="The NotificationChannel.")
    episode: int = Field(default=0, ge=0, description="The opening it belongs to.")
    state: Literal["pending", "sent", "failed", "cancelled"] = Field(
        description="pending (to attempt at dueAt), sent, failed (for good: lastError says "
        "why), or cancelled (no longer news when its time came)."
    )
    attempts: int = Field(default=0, ge=0, description="Attempts made.")
    due_at: datetime = Field(description="When it is (or was) next attempted.")
    sent_at: datetime | None = Field(default=None, description="When the receiver took it.")
    last_error: str = Field(default="", max_length=512, description="The last failure.")
    receipt: str = Field(
        default="", max_length=256, description="What the receiver answered (a message id)."
    )


class IncidentStatus(StatusBase):
    """What the operator decided about the incident."""

    phase: Literal["Open", "Acknowledged", "Resolved"] = Field(
        default="Open", description="Where in its life the incident is."
    )
    company: str | None = Field(default=None, max_length=63, description="The company.")
    severity: Severity | None = Field(
        default=None,
        description="The rules' severity (the highest alert's), or the AI's when it decided.",
    )
    priority: Priority | None = Field(default=None, description="The computed priority.")
    score: int | None = Field(default=None, ge=0, le=100, description="The priority score.")
    pattern: (
        Literal["single", "multi-source", "cascade", "storm", "flapping", "periodic"] | None
    ) = Field(default=None, description="What shape of problem it is.")
    aggregation_key: str | None = Field(
        default=None, max_length=512, description="Asset and canonical signal it groups on."
    )
    root_cause: RootCause | None = Field(default=None, description="The probable cause.")
    rules: RulesDecision | None = Field(
        default=None, description="What correlation's rules concluded (before any AI verdict)."
    )
    correlation: CorrelationState | None = Field(
        default=None, description="Correlation's own bookkeeping."
    )
    alerts: AlertSummary = Field(default_factory=AlertSummary, description="Its alerts.")
    assignee: str | None = Field(default=None, max_length=63, description="The Technician.")
    assigned_at: datetime | None = Field(default=None, description="When it was assigned.")
    sla: SLAClocks | None = Field(default=None, description="The SLA clocks.")
    escalation_level: int = Field(default=0, ge=0, le=10, description="0 until escalated.")
    runs: list[RunSummary] = Field(
        default_factory=list, max_length=20, description="RunbookExecutions for it (latest 20)."
    )
    timeline: list[TimelineEntry] = Field(
        default_factory=list, max_length=100, description="The latest 100 events."
    )
    notifications: list[OutboxEntry] = Field(
        default_factory=list,
        max_length=100,
        description="The outbox: every message the incident called for (the latest 100; a "
        "pending one is never dropped).",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["id"]},
    )
    opened_at: datetime | None = Field(default=None, description="When it opened.")
    resolved_at: datetime | None = Field(default=None, description="When it resolved.")
    resolved_by: Literal["technician", "auto-resolve", "automation", "merge"] | None = Field(
        default=None,
        description="What resolved it: a technician, the hold-down (auto-resolve), a runbook "
        "that healed it (automation), or a later cause that took it in (merge).",
    )
    reopened: int = Field(default=0, ge=0, description="Times it was reopened by recurrence.")
    merged_into: str | None = Field(
        default=None,
        max_length=253,
        description="The incident that took this one in (its cause turned up later); "
        "news of this one's alerts goes there.",
    )
    analysis: Analysis | None = Field(
        default=None, description="The optional AI analysis (absent when it is not configured)."
    )


class Incident(Resource):
    """A problem worth a technician's time."""

    info: ClassVar[ResourceInfo] = ResourceInfo(
        kind="Incident",
        plural="incidents",
        singular="incident",
        short_names=["inc"],
        namespaced=True,
        description="Correlated alerts with priority, pattern, root cause, assignment, SLA "
        "clocks, escalation level and a timeline.",
        columns=[
            PrinterColumn(name="Company", json_path=".status.company"),
            PrinterColumn(name="Priority", json_path=".status.priority"),
            PrinterColumn(name="State", json_path=".status.phase"),
            PrinterColumn(name="Assignee", json_path=".status.assignee"),
            # A string, not a date: kubectl prints future dates as <invalid>.
            PrinterColumn(name="SLA Due", json_path=".status.sla.nextDueAt"),
            PrinterColumn(name="Title", json_path=".spec.title", priority=1),
            PrinterColumn(
                name="Alerts", json_path=".status.alerts.count", type="integer", priority=1
            ),
            age_column(),
        ],
    )
    kind: str = "Incident"
    spec: IncidentSpec
    status: IncidentStatus | None = None
