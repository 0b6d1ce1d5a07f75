"""Silence: a maintenance window during which matching alerts open no incident."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import ConfigDict, Field

from whisperer.operator.models.v1alpha1.common import (
    CRON,
    DURATION,
    Matcher,
    PrinterColumn,
    ResourceInfo,
    Schema,
    StatusBase,
    UserName,
    age_column,
)
from whisperer.operator.models.v1alpha1.resource import Resource


class Recurrence(Schema):
    """A window that repeats, such as a weekly patch night."""

    cron: str = Field(
        pattern=CRON,
        max_length=128,
        description="When each window starts: five cron fields (minute hour day month weekday).",
    )
    duration: str = Field(
        pattern=DURATION,
        description="How long each window lasts.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "duration(self) > duration('0s') && duration(self) <= duration('168h')",
                    "message": "duration must be more than 0 and at most 168h",
                }
            ]
        },
    )
    time_zone: str = Field(default="UTC", max_length=64, description="The cron's time zone.")


class SilenceSpec(Schema):
    """What to silence and when."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "(has(self.startsAt) && has(self.endsAt)) || has(self.recurrence)",
                    "message": "a silence needs startsAt and endsAt, or a recurrence",
                },
                {
                    "rule": "!has(self.startsAt) || !has(self.endsAt) "
                    "|| self.endsAt > self.startsAt",
                    "message": "endsAt must be after startsAt",
                },
            ]
        }
    )
    matchers: list[Matcher] = Field(
        min_length=1, max_length=16, description="All must match for an alert to be silenced."
    )
    starts_at: datetime | None = Field(default=None, description="When the silence starts.")
    ends_at: datetime | None = Field(default=None, description="When it ends.")
    recurrence: Recurrence | None = Field(
        default=None, description="A repeating window (within startsAt..endsAt when given)."
    )
    created_by: UserName | None = Field(default=None, description="Who created it.")
    comment: str = Field(min_length=1, max_length=1024, description="Why: a change ticket, say.")


class SilenceStatus(StatusBase):
    """Whether the silence is in force."""

    active: bool | None = Field(default=None, description="Whether it applies right now.")
    silenced_alerts: int | None = Field(default=None, ge=0, description="Alerts it has muted.")


class Silence(Resource):
    """A maintenance window."""

    info: ClassVar[ResourceInfo] = ResourceInfo(
        kind="Silence",
        plural="silences",
        singular="silence",
        short_names=["sil"],
        namespaced=True,
        description="Matchers plus a start and end (or a recurrence): a maintenance window. In "
        "the platform namespace it applies to every company.",
        columns=[
            PrinterColumn(name="Starts", json_path=".spec.startsAt", type="date"),
            PrinterColumn(name="Ends", json_path=".spec.endsAt", type="date"),
            PrinterColumn(name="Cron", json_path=".spec.recurrence.cron", priority=1),
            PrinterColumn(name="Active", json_path=".status.active", type="boolean"),
            PrinterColumn(name="Comment", json_path=".spec.comment", priority=1),
            age_column(),
        ],
    )
    kind: str = "Silence"
    spec: SilenceSpec
    status: SilenceStatus | None = None
