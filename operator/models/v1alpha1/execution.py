"""RunbookExecution: one request to run a runbook on some targets, its approval and outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field

from whisperer.operator.models.v1alpha1.common import (
    LocalObjectReference,
    Name,
    PrinterColumn,
    ResourceInfo,
    RiskLevel,
    Schema,
    StatusBase,
    UserName,
    age_column,
)
from whisperer.operator.models.v1alpha1.resource import Resource


class RunbookReference(Schema):
    """The runbook to run: in the company namespace, or the platform library."""

    name: Name = Field(description="The Runbook's name.")
    namespace: Name | None = Field(
        default=None, description="Its namespace; empty means the company's, then the platform's."
    )


class Approval(Schema):
    """A decision on the run. Once made it cannot change."""

    decision: Literal["Approved", "Rejected"] = Field(description="The decision.")
    by: UserName = Field(description="Who decided (must be the requesting user).")
    at: datetime = Field(description="When.")
    reason: str = Field(default="", max_length=1024, description="Why.")
    groups: list[Annotated[str, Field(min_length=1, max_length=253)]] | None = Field(
        default=None,
        max_length=64,
        description=(
            "The approver's groups, as the API server knows them (kubectl whisper writes "
            "them from a SelfSubjectReview); when set, admission checks they are the "
            "requesting user's groups, and the operator asks RBAC with them before dispatch."
        ),
    )


class RunbookExecutionSpec(Schema):
    """The request: what to run where, asked by whom, and the decision on it."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.approval) || self.approval.by != self.requestedBy",
                    "message": "nobody approves their own request",
                },
                {
                    "rule": "!has(oldSelf.approval) || (has(self.approval) "
                    "&& self.approval == oldSelf.approval)",
                    "message": "a decision, once made, cannot be changed",
                },
                {
                    "rule": "self.runbookRef == oldSelf.runbookRef "
                    "&& self.targets == oldSelf.targets "
                    "&& self.requestedBy == oldSelf.requestedBy",
                    "message": "runbookRef, targets and requestedBy are immutable",
                },
                {
                    "rule": "has(self.parameters) == has(oldSelf.parameters) "
                    "&& (!has(self.parameters) || self.parameters == oldSelf.parameters)",
                    "message": "parameters are immutable",
                },
            ]
        }
    )
    runbook_ref: RunbookReference = Field(description="The runbook.")
    incident_ref: LocalObjectReference | None = Field(
        default=None, description="The incident it is for."
    )
    targets: list[Name] = Field(
        min_length=1,
        max_length=50,
        description="Asset names in the company's inventory.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    parameters: dict[str, Annotated[str, Field(max_length=1024)]] = Field(
        default_factory=dict, max_length=16, description="Parameter values by name."
    )
    requested_by: UserName = Field(description="Who asked (a user, or operator:<policy>).")
    reason: str = Field(default="", max_length=1024, description="Why.")
    approval: Approval | None = Field(default=None, description="The decision.")


class TargetResult(Schema):
    """The outcome on one target."""

    target: str = Field(max_length=63, description="The asset.")
    status: Literal[
        "Pending", "InProgress", "Success", "Failed", "TimedOut", "Cancelled", "Undeliverable"
    ] = Field(description="Its state (TimedOut: stopped at its execution timeout).")
    exit_code: int | None = Field(default=None, description="The script's exit code.")
    output: str = Field(default="", max_length=4096, description="The output's tail.")


class RunIntent(Schema):
    """What the run is about to send, recorded before it sends it."""

    token: str = Field(max_length=80, description="Deterministic per run and attempt.")
    attempt: int = Field(ge=1, description="Which attempt (a delivery that timed out retries).")
    recorded_at: datetime = Field(description="When the intent was recorded.")


class RunbookExecutionStatus(StatusBase):
    """Where the run is."""

    phase: Literal[
        "Pending",
        "AwaitingApproval",
        "Approved",
        "Dispatching",
        "Running",
        "Verifying",
        "Succeeded",
        "Failed",
        "Rejected",
        "TimedOut",
        "Cancelled",
        "Expired",
    ] = Field(default="Pending", description="The run's phase.")
    reason: str | None = Field(
        default=None, max_length=64, description="Why it failed or waits (the step's reason)."
    )
    outcome: (
        Literal["SelfHealed", "Ineffective", "Failed", "Rejected", "Expired", "Cancelled"] | None
    ) = Field(default=None, description="How it ended for the incident.")
    intent: RunIntent | None = Field(
        default=None, description="Recorded before anything is sent (exactly once)."
    )
    polls: int = Field(default=0, ge=0, description="Status polls made so far.")
    next_poll_at: datetime | None = Field(default=None, description="When to poll next.")
    verify_until: datetime | None = Field(
        default=None, description="Until when the incident's alerts may resolve (event time)."
    )
    risk: RiskLevel | None = Field(default=None, description="Taken from the Runbook.")
    provider: Literal["aws-ssm", "azure-run-command"] | None = Field(
        default=None, description="Where it runs."
    )
    command_id: str | None = Field(default=None, max_length=256, description="SSM command id.")
    started_at: datetime | None = Field(default=None, description="When it started.")
    finished_at: datetime | None = Field(default=None, description="When it finished.")
    results: list[TargetResult] = Field(
        default_factory=list, max_length=50, description="Per-target results."
    )


class RunbookExecution(Resource):
    """A request to run a runbook."""

    info: ClassVar[ResourceInfo] = ResourceInfo(
        kind="RunbookExecution",
        plural="runbookexecutions",
        singular="runbookexecution",
        short_names=["rbx", "run"],
        namespaced=True,
        description="A run of a runbook: targets, parameters, who requested and approved it, "
        "phase and per-target results.",
        columns=[
            PrinterColumn(name="Runbook", json_path=".spec.runbookRef.name"),
            PrinterColumn(name="Risk", json_path=".status.risk"),
            PrinterColumn(name="Phase", json_path=".status.phase"),
            PrinterColumn(name="Requested By", json_path=".spec.requestedBy"),
            PrinterColumn(name="Approved By", json_path=".spec.approval.by", priority=1),
            age_column(),
        ],
    )
    kind: str = "RunbookExecution"
    spec: RunbookExecutionSpec
    status: RunbookExecutionStatus | None = None
