"""Technician: a person who works incidents, with skills, companies, shifts and leave."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import ConfigDict, Field

from whisperer.operator.models.v1alpha1.common import (
    TIME_ZONE,
    Clock,
    Email,
    Name,
    PhoneNumber,
    PrinterColumn,
    ResourceInfo,
    Schema,
    ShortText,
    StatusBase,
    UserName,
    Weekday,
    age_column,
    ready_column,
)
from whisperer.operator.models.v1alpha1.resource import Resource
from whisperer.operator.models.v1alpha1.routing import Skill


class Shift(Schema):
    """A weekly working window; a shift that ends before it starts runs past midnight."""

    days: list[Weekday] = Field(
        min_length=1,
        max_length=7,
        description="Days the shift starts on.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    start: Clock = Field(description="When the shift starts.")
    end: Clock = Field(description="When the shift ends.")
    time_zone: str = Field(default="UTC", pattern=TIME_ZONE, description="The IANA time zone.")


class Leave(Schema):
    """A period the technician is away."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self.end > self.start", "message": "leave must end after it starts"}
            ]
        }
    )
    start: datetime = Field(description="When the leave starts.")
    end: datetime = Field(description="When the leave ends.")
    reason: ShortText = Field(default="", description="Why (optional).")


class QuietHours(Schema):
    """A daily window in which messages about non-critical incidents wait; one that ends
    before it starts runs past midnight."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self.start != self.end", "message": "quiet hours must not be empty"}
            ]
        }
    )
    start: Clock = Field(description="When the quiet hours start.")
    end: Clock = Field(description="When they end (the held messages go out then).")
    time_zone: str = Field(default="UTC", pattern=TIME_ZONE, description="The IANA time zone.")


class NotificationPreferences(Schema):
    """How the technician wants to be told."""

    channels: list[Name] = Field(
        default_factory=list,
        max_length=8,
        description="NotificationChannels to use, by name: an email channel writes to `email`, "
        "an sms channel texts `phone` (critical incidents only), a chat room or webhook posts "
        "there. Empty: the default email channel.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    quiet_hours: QuietHours | None = Field(
        default=None,
        description="Messages about incidents that are not critical wait until these end.",
    )


class TechnicianSpec(Schema):
    """Who the technician is and what they can take."""

    username: UserName = Field(description="The Kubernetes user name RBAC knows them by.")
    display_name: ShortText = Field(min_length=1, description="Their name.")
    email: Email = Field(description="Where notifications go.")
    phone: PhoneNumber | None = Field(default=None, description="For urgent escalations.")
    skills: list[Skill] = Field(
        default_factory=list,
        max_length=32,
        description="What they can work on.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    companies: list[Name] = Field(
        default_factory=list,
        max_length=200,
        description="Companies they serve; they get access to those namespaces.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    max_open_incidents: int = Field(
        default=10, ge=1, le=100, description="They are not assigned more than this."
    )
    shifts: list[Shift] = Field(
        default_factory=list, max_length=14, description="Weekly shifts; none means always on."
    )
    leave: list[Leave] = Field(default_factory=list, max_length=32, description="Time off.")
    notifications: NotificationPreferences = Field(
        default_factory=NotificationPreferences,
        description="Which channels reach them, and their quiet hours.",
    )


class TechnicianStatus(StatusBase):
    """What the operator knows of the technician now."""

    open_incidents: int | None = Field(default=None, ge=0, description="Incidents assigned now.")
    on_shift: bool | None = Field(default=None, description="Whether they are on shift now.")


class Technician(Resource):
    """A person who works incidents."""

    info: ClassVar[ResourceInfo] = ResourceInfo(
        kind="Technician",
        plural="technicians",
        singular="technician",
        short_names=["tech"],
        namespaced=False,
        description="A technician: Kubernetes user name, contact, skills, companies served, "
        "workload limit, shifts and leave.",
        columns=[
            PrinterColumn(name="User", json_path=".spec.username"),
            PrinterColumn(name="Email", json_path=".spec.email", priority=1),
            PrinterColumn(name="Skills", json_path=".spec.skills", priority=1),
            PrinterColumn(name="Open", json_path=".status.openIncidents", type="integer"),
            PrinterColumn(name="Max", json_path=".spec.maxOpenIncidents", type="integer"),
            ready_column(),
            age_column(),
        ],
    )
    kind: str = "Technician"
    spec: TechnicianSpec
    status: TechnicianStatus | None = None
