"""Types shared by every v1alpha1 kind: names, durations, severities, conditions."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP = "alertwhisperer.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "whisperer"

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# Go-style durations as Flux writes them: 30s, 5m, 1h30m.
DURATION = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_E164 = r"^\+[1-9][0-9]{6,14}$"
TIME_ZONE = r"^(UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+){1,2})$"


def _cron_field(number: str, names: str = "") -> str:
    """One cron field: `*`, a number, a range or a name, with an optional step, comma-joined."""
    atom = rf"(\*|{number}(-{number})?{names})(/[0-9]{{1,2}})?"
    return rf"{atom}(,{atom})*"


# Five standard fields: minute, hour, day of month, month, day of week.
CRON = (
    "^"
    + r"\s+".join(
        [
            _cron_field(r"[0-5]?[0-9]"),
            _cron_field(r"(1[0-9]|2[0-3]|0?[0-9])"),
            _cron_field(r"(3[01]|[12][0-9]|0?[1-9])"),
            _cron_field(r"(1[0-2]|0?[1-9])", r"|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"),
            _cron_field(r"[0-7]", r"|SUN|MON|TUE|WED|THU|FRI|SAT"),
        ]
    )
    + "$"
)

Name = Annotated[str, Field(pattern=DNS_LABEL, min_length=1, max_length=63)]
Duration = Annotated[str, Field(pattern=DURATION, max_length=32)]
Clock = Annotated[str, Field(pattern=CLOCK, description="A wall-clock time, HH:MM (24 h).")]
Email = Annotated[str, Field(pattern=EMAIL, max_length=254)]
PhoneNumber = Annotated[str, Field(pattern=PHONE_E164, description="An E.164 phone number.")]
UserName = Annotated[
    str, Field(min_length=1, max_length=253, description="A Kubernetes user name, as RBAC sees it.")
]
ShortText = Annotated[str, Field(max_length=256)]
Tags = Annotated[
    dict[str, Annotated[str, Field(max_length=256)]],
    Field(max_length=32, description="Free key/value tags (team, environment, role...)."),
]


class Schema(BaseModel):
    """Base of every API model: camelCase on the wire, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_enum_values=True,
    )


class Severity(enum.StrEnum):
    """The one severity scale every monitoring tool is mapped onto."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


SEVERITY_RANK: dict[str, int] = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
"""The scale's order (an unknown word ranks with info)."""


class RiskLevel(enum.StrEnum):
    """How much harm a runbook can do, which decides who must approve it."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Weekday(enum.StrEnum):
    """A day of the week, in the three-letter form cron and calendars use."""

    MON = "Mon"
    TUE = "Tue"
    WED = "Wed"
    THU = "Thu"
    FRI = "Fri"
    SAT = "Sat"
    SUN = "Sun"


class LocalObjectReference(Schema):
    """A reference to another object by name (cluster-scoped, or in the same namespace)."""

    name: Name = Field(description="The name of the referenced object.")


class SecretReference(Schema):
    """A Secret in the platform namespace; tenants cannot read it."""

    name: Name = Field(description="The Secret's name.")


class Matcher(Schema):
    """An Alertmanager-style label matcher."""

    name: str = Field(
        min_length=1,
        max_length=128,
        description="The label or field to match: a label name, or one of asset, signal, "
        "severity, source.",
    )
    value: str = Field(max_length=1024, description="The value, or an RE2 regex for =~ and !~.")
    op: Literal["=", "!=", "=~", "!~"] = Field(default="=", description="How to compare.")


class Condition(Schema):
    """A Kubernetes-style condition (metav1.Condition), as Flux reports them."""

    type: str = Field(
        pattern=r"^[A-Z][A-Za-z0-9]*$", max_length=64, description="The condition, e.g. Ready."
    )
    status: Literal["True", "False", "Unknown"] = Field(description="Whether it holds.")
    reason: str = Field(
        pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
        max_length=1024,
        description="A CamelCase machine-readable reason for the last transition.",
    )
    message: str = Field(default="", max_length=32768, description="A human-readable message.")
    last_transition_time: datetime = Field(description="When the status last changed.")
    observed_generation: int | None = Field(
        default=None, ge=0, description="The generation the condition was computed for."
    )


class OperatorState(Schema):
    """The operator's own bookkeeping (Kopf progress and diff base); opaque to users."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"x-kubernetes-preserve-unknown-fields": True}
    )


Conditions = Annotated[
    list[Condition],
    Field(
        max_length=16,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
        description="The latest observations of the object's state; Ready is always present "
        "once the operator has seen the object.",
    ),
]


class StatusBase(Schema):
    """What every status has: the generation seen, the conditions, the operator's state."""

    observed_generation: int | None = Field(
        default=None, ge=0, description="The metadata.generation the operator last acted on."
    )
    conditions: Conditions = Field(default_factory=list)
    operator: OperatorState | None = Field(
        default=None,
        description="The operator's own state (handler progress and the last handled "
        "spec). Only the operator writes it.",
    )


class ObjectMeta(Schema):
    """The part of metadata the models care about; everything else is kept as is."""

    model_config = ConfigDict(extra="allow")
    name: str = Field(description="The object's name.")
    namespace: str | None = Field(default=None, description="The namespace, if namespaced.")
    generation: int | None = Field(default=None, description="The spec's generation.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Annotations.")


class PrinterColumn(BaseModel):
    """A `kubectl get` column."""

    name: str
    json_path: str
    type: Literal["string", "integer", "number", "boolean", "date"] = "string"
    priority: int = 0
    description: str = ""


class ResourceInfo(BaseModel):
    """How a kind is served: names, scope, columns."""

    kind: str
    plural: str
    singular: str
    short_names: list[str]
    namespaced: bool
    columns: list[PrinterColumn] = []
    description: str = ""


def ready_column() -> PrinterColumn:
    """The Ready condition's status as a column, as Flux shows it."""
    return PrinterColumn(name="Ready", json_path='.status.conditions[?(@.type=="Ready")].status')


def age_column() -> PrinterColumn:
    """The standard Age column."""
    return PrinterColumn(name="Age", json_path=".metadata.creationTimestamp", type="date")
