"""Alert: one per fingerprint (source, asset, signal), as the webhook shim last heard it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field

from whisperer.operator.models.v1alpha1.common import (
    LocalObjectReference,
    PrinterColumn,
    ResourceInfo,
    Schema,
    Severity,
    ShortText,
    StatusBase,
    age_column,
)
from whisperer.operator.models.v1alpha1.resource import Resource


class SourceTool(enum.StrEnum):
    """The monitoring tool (or format) an alert came from."""

    ALERTMANAGER = "alertmanager"
    GRAFANA = "grafana"
    DATADOG = "datadog"
    CLOUDWATCH = "cloudwatch"
    ZABBIX = "zabbix"
    PAGERDUTY = "pagerduty"
    AZURE_MONITOR = "azure-monitor"
    GENERIC = "generic"


class AlertAsset(Schema):
    """The asset the alert is about, as resolved against the company's inventory."""

    name: str = Field(min_length=1, max_length=253, description="The asset name (or as given).")
    known: bool = Field(description="Whether the name was found in the inventory.")


class AlertSpec(Schema):
    """What the monitoring tool reported. The shim writes it; nobody else does.

    The report is the input to the operator, so it lives in spec (one write per delivery);
    what the operator decided about it lives in status.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.lastSeen >= self.firstSeen",
                    "message": "lastSeen must not be before firstSeen",
                },
                {
                    "rule": "self.fingerprint == oldSelf.fingerprint",
                    "message": "fingerprint is immutable",
                },
                {
                    "rule": "self.state == 'firing' || has(self.resolvedAt)",
                    "message": "a resolved alert needs resolvedAt",
                },
            ]
        }
    )
    fingerprint: str = Field(
        pattern=r"^[0-9a-f]{16,64}$", description="Stable hash of source, asset and signal."
    )
    source: SourceTool = Field(description="The tool that sent it.")
    asset: AlertAsset = Field(description="The asset it is about.")
    signal: ShortText = Field(min_length=1, description="The canonical signal, or the tool's.")
    raw_signal: ShortText = Field(default="", description="What the tool called it.")
    severity: Severity = Field(description="On our scale.")
    state: Literal["firing", "resolved"] = Field(description="As last reported.")
    message: str = Field(default="", max_length=4096, description="The tool's text.")
    labels: dict[str, Annotated[str, Field(max_length=1024)]] = Field(
        default_factory=dict, max_length=64, description="The tool's labels, normalized."
    )
    first_seen: datetime = Field(description="When the tool says it started (event time).")
    last_seen: datetime = Field(description="The latest event time reported.")
    resolved_at: datetime | None = Field(default=None, description="When it resolved.")
    ends_at: datetime | None = Field(
        default=None,
        description="When the tool says the firing alert ends unless renewed (Alertmanager's "
        "endsAt): past it without a new report, the alert is stale.",
    )
    occurrences: int = Field(default=1, ge=1, description="Reports folded into this alert.")
    deliveries: list[Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]] = Field(
        default_factory=list,
        max_length=20,
        description="Digests of the latest deliveries folded in, so a redelivery (a sender's "
        "retry, an HA peer's copy) is recognised and not counted twice.",
    )


class AlertStatus(StatusBase):
    """What the operator decided about the alert."""

    incident_ref: LocalObjectReference | None = Field(
        default=None, description="The incident it joined."
    )
    silenced_by: str | None = Field(
        default=None, max_length=253, description="namespace/name of the silence that muted it."
    )
    inhibited_by: str | None = Field(
        default=None, max_length=253, description="The alert that inhibits it."
    )
    flapping: bool | None = Field(
        default=None,
        description="Whether it changed state the company's flapThreshold times within "
        "its flapWindow.",
    )
    state_changes: list[datetime] = Field(
        default_factory=list,
        max_length=100,
        description="Event times of its latest changes of state (firing to resolved or "
        "back) within the company's flapWindow.",
    )
    placed_at: datetime | None = Field(
        default=None,
        description="The event time it was last placed at (it counts in its company's storm "
        "window from then).",
    )
    reported_at: datetime | None = Field(
        default=None,
        description="The latest report (event time, the spec's lastSeen) correlation has "
        "accounted for.",
    )
    resolved_by: Literal["source", "stale"] | None = Field(
        default=None,
        description="How its latest resolution came: reported by the tool (source), or no "
        "report within its staleness timeout (stale).",
    )
    stale_at: datetime | None = Field(
        default=None, description="When (event time) it went stale, if it did."
    )
    resolution_counted: bool | None = Field(
        default=None,
        description="Whether its resolution was counted on its incident (set once, so a "
        "handler rerun does not count it twice).",
    )


class Alert(Resource):
    """One alert, deduplicated by fingerprint."""

    info: ClassVar[ResourceInfo] = ResourceInfo(
        kind="Alert",
        plural="alerts",
        singular="alert",
        short_names=["al"],
        namespaced=True,
        description="One alert per fingerprint: first and last seen, occurrences, firing or "
        "resolved.",
        columns=[
            PrinterColumn(name="Asset", json_path=".spec.asset.name"),
            PrinterColumn(name="Signal", json_path=".spec.signal"),
            PrinterColumn(name="Severity", json_path=".spec.severity"),
            PrinterColumn(name="State", json_path=".spec.state"),
            PrinterColumn(name="Source", json_path=".spec.source", priority=1),
            PrinterColumn(name="Count", json_path=".spec.occurrences", type="integer"),
            PrinterColumn(name="Incident", json_path=".status.incidentRef.name"),
            PrinterColumn(name="Last Seen", json_path=".spec.lastSeen", type="date", priority=1),
            age_column(),
        ],
    )
    kind: str = "Alert"
    spec: AlertSpec
    status: AlertStatus | None = None
