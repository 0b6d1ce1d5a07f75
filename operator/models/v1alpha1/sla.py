"""SLAPolicy: response and resolution targets per severity, business hours, escalation."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from whisperer.operator.models.v1alpha1.common import (
    TIME_ZONE,
    Clock,
    Email,
    PrinterColumn,
    ResourceInfo,
    Schema,
    Severity,
    ShortText,
    StatusBase,
    Weekday,
    age_column,
    ready_column,
)
from whisperer.operator.models.v1alpha1.resource import Resource


class SeverityTarget(Schema):
    """The deadlines for incidents of one severity."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.resolutionMinutes >= self.responseMinutes",
                    "message": "resolutionMinutes must not be shorter than responseMinutes",
                }
            ]
        }
    )
    severity: Severity = Field(description="The incident severity these targets apply to.")
    response_minutes: int = Field(
        ge=1, le=525600, description="Minutes (of covered time) until a technician must respond."
    )
    resolution_minutes: int = Field(
        ge=1,
        le=525600,
        description="Minutes (of covered time) until the incident must be resolved.",
    )


class Holiday(Schema):
    """A day the business-hours clock does not run."""

    date: dt.date = Field(description="The day, YYYY-MM-DD, in the policy's time zone.")
    name: ShortText = Field(default="", description="What the day is.")


class Coverage(Schema):
    """When the SLA clock runs: around the clock, or in business hours only."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.type == '24x7' || (has(self.start) && has(self.end) "
                    "&& has(self.days) && size(self.days) > 0)",
                    "message": "BusinessHours coverage needs days, start and end",
                },
                {
                    "rule": "!has(self.start) || !has(self.end) || self.start < self.end",
                    "message": "start must be before end",
                },
            ]
        }
    )
    type: Literal["24x7", "BusinessHours"] = Field(description="How the clock runs.")
    time_zone: str = Field(
        default="UTC", pattern=TIME_ZONE, description="The IANA time zone of the hours below."
    )
    days: list[Weekday] = Field(
        default_factory=list,
        max_length=7,
        description="The working days.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    start: Clock | None = Field(default=None, description="The start of the working day.")
    end: Clock | None = Field(default=None, description="The end of the working day.")
    holidays: list[Holiday] = Field(
        default_factory=list, max_length=64, description="Days the clock stops."
    )


EscalationTarget = Literal[
    "assignee", "on-shift", "company-admins", "company-contacts", "msp-admins"
]


class EscalationLevel(Schema):
    """One step of escalation, taken when the incident is still unhandled."""

    level: int = Field(ge=1, le=10, description="The level, from 1.")
    after_minutes: int = Field(
        ge=0, le=10080, description="Minutes after a breach (0: at the breach) to escalate."
    )
    targets: list[EscalationTarget] = Field(
        default_factory=list,
        max_length=5,
        description="Who hears about it, by role: the assigned technician, whoever is on "
        "shift for the company, the company's admins, its contacts, the MSP's admins.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    notify: list[Email] = Field(
        default_factory=list, max_length=16, description="Who else hears about it."
    )
    notify_company_contacts: bool = Field(
        default=False, description="Also tell the company's escalation contacts."
    )


class SLAPolicySpec(Schema):
    """The promises made to the companies that follow this policy."""

    description: str = Field(default="", max_length=1024, description="What the policy is.")
    targets: list[SeverityTarget] = Field(
        default_factory=list,
        max_length=5,
        description="Targets per severity. None given: critical 30 min / 4 h, high 2 h / 8 h, "
        "medium 8 h / 24 h, low 24 h / 48 h; a severity the list leaves out has no deadlines.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["severity"],
        },
    )
    warning_lead_minutes: int | None = Field(
        default=None,
        ge=0,
        le=10080,
        description="Warn this many minutes of covered time before a deadline (default 30, "
        "unless warningLeadPercent is given).",
    )
    warning_lead_percent: int | None = Field(
        default=None,
        ge=0,
        le=90,
        description="Warn when this share of the time to a deadline is left (instead of "
        "warningLeadMinutes).",
    )
    coverage: Coverage = Field(description="When the SLA clock runs.")
    escalation_repeat_minutes: int = Field(
        default=30,
        ge=0,
        le=1440,
        description="While the incident stays unacknowledged after the last level, notify "
        "that level again this often (0: never).",
    )
    escalation: list[EscalationLevel] = Field(
        default_factory=list,
        max_length=10,
        description="The escalation ladder, from the breach on. None given: level 1 at the "
        "breach (the assignee and whoever is on shift), level 2 30 minutes later (the "
        "company's admins and contacts), level 3 an hour later (the MSP admins).",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["level"],
        },
    )


class SLAPolicyStatus(StatusBase):
    """What the operator made of the policy."""

    companies: int | None = Field(default=None, ge=0, description="Companies that follow it.")


class SLAPolicy(Resource):
    """Per-severity SLA targets, business hours and escalation."""

    info: ClassVar[ResourceInfo] = ResourceInfo(
        kind="SLAPolicy",
        plural="slapolicies",
        singular="slapolicy",
        short_names=["sla"],
        namespaced=False,
        description="Response and resolution targets per severity, business hours or 24x7, "
        "and the escalation ladder.",
        columns=[
            PrinterColumn(name="Coverage", json_path=".spec.coverage.type"),
            PrinterColumn(name="Time Zone", json_path=".spec.coverage.timeZone"),
            ready_column(),
            age_column(),
        ],
    )
    kind: str = "SLAPolicy"
    spec: SLAPolicySpec
    status: SLAPolicyStatus | None = None
