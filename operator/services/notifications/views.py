"""What a message may say about an incident, its assets, runbooks, runs and the escalation
chain: small frozen views built once from the models, so templates never reach into the
API objects (and an MSP's template cannot depend on our storage shapes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from whisperer.operator.models.v1alpha1 import (
    Company,
    Incident,
    Runbook,
    RunbookExecution,
    Technician,
)
from whisperer.operator.models.v1alpha1.sla import SLAPolicySpec
from whisperer.operator.services.notifications.recipients import Person
from whisperer.operator.services.sla.deadlines import ladder


@dataclass(frozen=True)
class AssetView:
    """One asset of the incident, as the inventory knows it."""

    name: str
    kind: str = ""
    platform: str = ""
    cloud: str = ""
    critical: bool = False
    known: bool = False  # in the company's inventory


@dataclass(frozen=True)
class AnalysisView:
    """The AI's analysis, when there is one."""

    summary: str
    cause: str  # "pm-db01: disk-full", or empty
    suggested_severity: str
    confidence: int | None  # percent
    model: str
    decided: bool  # its severity and cause were applied


@dataclass(frozen=True)
class IncidentView:
    """The incident, in the words a message uses."""

    name: str
    namespace: str
    title: str
    company: str
    company_name: str
    severity: str
    priority: str
    phase: str
    pattern: str
    signal: str
    cause: str  # the root cause's summary, when the rules or the AI gave one
    assets: tuple[AssetView, ...]
    alert_count: int
    firing: int
    sources: tuple[str, ...]
    opened_at: datetime | None
    assignee: str  # display name, empty when nobody
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    analysis: AnalysisView | None = None

    @property
    def id(self) -> str:
        """namespace/name, the outbox's incident."""
        return f"{self.namespace}/{self.name}"

    @property
    def critical(self) -> bool:
        """Whether it is critical."""
        return self.severity == "critical"

    @property
    def asset_names(self) -> str:
        """The assets, comma-separated (the cause first)."""
        return ", ".join(a.name for a in self.assets) or "\u2014"

    @property
    def show_command(self) -> str:
        """The plugin command that shows everything about it."""
        return f"kubectl whisper show {self.name} -n {self.namespace}"

    @property
    def ack_command(self) -> str:
        """The plugin command that acknowledges it."""
        return f"kubectl whisper ack {self.name} -n {self.namespace}"


@dataclass(frozen=True)
class RecipientView:
    """Whom the message is for, and the time zone its times are written in."""

    name: str
    role: str
    time_zone: str = "UTC"


@dataclass(frozen=True)
class RunbookView:
    """A suggested runbook, who must approve it, and the command that runs it."""

    name: str
    namespace: str
    title: str
    risk: str
    approval: str
    command: str


@dataclass(frozen=True)
class TargetView:
    """One target's outcome."""

    target: str
    status: str
    exit_code: int | None
    output: str


@dataclass(frozen=True)
class RunView:
    """A RunbookExecution."""

    name: str
    namespace: str
    runbook: str
    title: str
    risk: str
    phase: str
    targets: tuple[str, ...]
    requested_by: str
    reason: str
    results: tuple[TargetView, ...] = ()

    @property
    def approve_command(self) -> str:
        """The plugin command that approves it."""
        return f"kubectl whisper approve {self.name} -n {self.namespace}"

    @property
    def reject_command(self) -> str:
        """The plugin command that rejects it."""
        return f'kubectl whisper reject {self.name} -n {self.namespace} --reason "..."'


@dataclass(frozen=True)
class ChainStep:
    """One level of the escalation ladder, and where the incident is on it."""

    level: int
    after_minutes: int
    targets: tuple[str, ...]
    state: str  # done, now, next


def _assets(incident: Incident, company: Company) -> tuple[AssetView, ...]:
    status = incident.status
    names: list[str] = []
    if status is not None:
        if status.root_cause and status.root_cause.asset:
            names.append(status.root_cause.asset)
        refs = [status.alerts.first, status.alerts.latest, *status.alerts.refs]
        names.extend(r.asset for r in refs if r is not None and r.asset)
    inventory = {a.name: a for a in company.spec.assets}
    views = []
    for name in dict.fromkeys(names):
        asset = inventory.get(name)
        views.append(
            AssetView(
                name,
                str(asset.kind),
                str(asset.platform),
                str(asset.cloud),
                asset.critical,
                True,
            )
            if asset
            else AssetView(name)
        )
    return tuple(views)


def incident_view(
    incident: Incident, company: Company, technicians: Mapping[str, Technician] | None = None
) -> IncidentView:
    """The view of an incident of `company` (technicians give the assignee's name)."""
    status = incident.status
    sla = status.sla if status else None
    analysis = status.analysis if status else None
    assignee = (status.assignee if status else None) or incident.spec.assignee or ""
    tech = (technicians or {}).get(assignee)
    cause = status.root_cause if status else None
    view_analysis = None
    if analysis is not None and analysis.summary:
        probable = analysis.probable_cause
        view_analysis = AnalysisView(
            summary=analysis.summary,
            cause=f"{probable.asset}: {probable.signal}".strip(": ") if probable else "",
            suggested_severity=str(analysis.suggested_severity or ""),
            confidence=round(analysis.confidence * 100)
            if analysis.confidence is not None
            else None,
            model=analysis.model,
            decided=analysis.applied_severity,
        )
    return IncidentView(
        name=incident.metadata.name,
        namespace=incident.metadata.namespace or "",
        title=incident.spec.title,
        company=company.metadata.name,
        company_name=company.spec.display_name,
        severity=str((status.severity if status else None) or "unknown"),
        priority=str((status.priority if status else None) or "\u2014"),
        phase=status.phase if status else "Open",
        pattern=str((status.pattern if status else None) or "single"),
        signal=cause.signal if cause else "",
        cause=cause.summary if cause else "",
        assets=_assets(incident, company),
        alert_count=status.alerts.count if status else 0,
        firing=status.alerts.firing if status else 0,
        sources=tuple(status.alerts.sources) if status else (),
        opened_at=status.opened_at if status else None,
        assignee=tech.spec.display_name if tech else assignee,
        response_due_at=sla.response_due_at if sla else None,
        resolution_due_at=sla.resolution_due_at if sla else None,
        analysis=view_analysis,
    )


def recipient_view(
    person: Person | None, technicians: Mapping[str, Technician], *, default_zone: str = "UTC"
) -> RecipientView:
    """A person (None: a room) and their time zone: a technician's quiet hours' or first
    shift's, else `default_zone` (the company's SLA policy's zone suits its contacts)."""
    if person is None:
        return RecipientView("everyone", "room", default_zone)
    zone = default_zone
    tech = technicians.get(person.technician or "")
    if tech is not None:
        quiet = tech.spec.notifications.quiet_hours
        if quiet is not None:
            zone = quiet.time_zone
        elif tech.spec.shifts:
            zone = tech.spec.shifts[0].time_zone
    return RecipientView(person.name, person.role, zone)


def approval_text(risk: str, *, auto_run: bool, company_admins_medium: bool) -> str:
    """Who must approve a run of this risk (docs/remediation.md)."""
    if risk == "low":
        return "runs by itself" if auto_run else "a company admin or an MSP admin approves"
    if risk == "medium":
        return (
            "a company admin or an MSP admin approves"
            if company_admins_medium
            else "an MSP admin approves"
        )
    return "an MSP admin approves"


def runbook_view(runbook: Runbook, incident: IncidentView, company: Company) -> RunbookView:
    """A suggested runbook with the command that asks for a run of it on this incident."""
    risk = str(runbook.spec.risk)
    remediation = company.spec.remediation
    namespace = runbook.metadata.namespace or ""
    command = (
        f"kubectl whisper run {runbook.metadata.name} --incident {incident.name} "
        f"-n {incident.namespace}"
    )
    return RunbookView(
        name=runbook.metadata.name,
        namespace=namespace,
        title=runbook.spec.title,
        risk=risk,
        approval=approval_text(
            risk,
            auto_run=remediation.auto_run_low_risk,
            company_admins_medium=remediation.allow_medium_risk_by_company_admin,
        ),
        command=command,
    )


def run_view(run: RunbookExecution, runbook: Runbook | None = None) -> RunView:
    """A run, with the title and risk of its runbook when known."""
    status = run.status
    risk = str((status.risk if status else None) or (runbook.spec.risk if runbook else "") or "")
    return RunView(
        name=run.metadata.name,
        namespace=run.metadata.namespace or "",
        runbook=run.spec.runbook_ref.name,
        title=runbook.spec.title if runbook else run.spec.runbook_ref.name,
        risk=risk,
        phase=status.phase if status else "Pending",
        targets=tuple(run.spec.targets),
        requested_by=run.spec.requested_by,
        reason=run.spec.reason,
        results=tuple(
            TargetView(r.target, r.status, r.exit_code, r.output)
            for r in (status.results if status else [])
        ),
    )


ROLE_WORDS = {
    "assignee": "the assigned technician",
    "on-shift": "whoever is on shift",
    "company-admins": "the company's admins",
    "company-contacts": "the company's contacts",
    "msp-admins": "the MSP's admins",
}


def chain(policy: SLAPolicySpec, *, current: int) -> tuple[ChainStep, ...]:
    """The escalation ladder (the policy's, or the seed's), each level marked done, now or
    next, its targets in words."""
    steps = []
    for level in ladder(policy):
        roles = list(level.targets) or (["assignee", "on-shift"] if level.level == 1 else [])
        targets: list[str] = [ROLE_WORDS[r] for r in roles]
        targets += level.notify
        if level.notify_company_contacts:
            targets.append("the company's admins and escalation contacts")
        state = "done" if level.level < current else "now" if level.level == current else "next"
        steps.append(ChainStep(level.level, level.after_minutes, tuple(targets), state))
    return tuple(steps)
