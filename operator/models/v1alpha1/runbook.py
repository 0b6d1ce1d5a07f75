"""Runbook: a script that fixes a known problem, with its risk and what it applies to."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from whisperer.operator.models.v1alpha1.common import (
    DURATION,
    PrinterColumn,
    ResourceInfo,
    RiskLevel,
    Schema,
    Severity,
    ShortText,
    StatusBase,
    Tags,
    age_column,
    ready_column,
)
from whisperer.operator.models.v1alpha1.resource import Resource


class RunbookParameter(Schema):
    """A value the script takes; it reaches the script as an environment variable."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.default) || !has(self.allowedValues) "
                    "|| self.default in self.allowedValues",
                    "message": "default must be one of allowedValues",
                }
            ]
        }
    )
    name: str = Field(
        pattern=r"^[A-Z][A-Z0-9_]{0,63}$",
        description="The parameter's name, as an environment variable (UPPER_SNAKE).",
    )
    description: ShortText = Field(default="", description="What it is for.")
    required: bool = Field(default=False, description="Whether a run must give it.")
    default: str | None = Field(default=None, max_length=1024, description="Its default value.")
    pattern: str | None = Field(
        default=None, max_length=256, description="An RE2 regex every value must match."
    )
    allowed_values: list[ShortText] | None = Field(
        default=None, max_length=32, description="The only values allowed."
    )


class RunbookMatch(Schema):
    """Which incidents the runbook is proposed for."""

    signals: list[ShortText] = Field(
        default_factory=list, max_length=32, description="Canonical signals it fixes."
    )
    severities: list[Severity] = Field(
        default_factory=list, max_length=5, description="Severities; empty means any."
    )
    asset_tags: Tags = Field(default_factory=dict, description="Tags the target must carry.")


class RunbookSpec(Schema):
    """The script and the rules around running it."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "(self.platform == 'windows') == (self.shell == 'powershell')",
                    "message": "windows runbooks use powershell, linux runbooks use bash or sh",
                }
            ]
        }
    )
    title: ShortText = Field(min_length=1, description="What the runbook does, in a line.")
    description: str = Field(default="", max_length=4096, description="When and why to run it.")
    risk: RiskLevel = Field(description="low, medium or high: decides who must approve a run.")
    platform: Literal["linux", "windows"] = Field(description="The target operating system.")
    shell: Literal["bash", "sh", "powershell"] = Field(description="The script's interpreter.")
    script: str = Field(min_length=1, max_length=65536, description="The script itself.")
    parameters: list[RunbookParameter] = Field(
        default_factory=list,
        max_length=16,
        description="The values the script takes.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    matches: RunbookMatch = Field(default_factory=RunbookMatch, description="What it applies to.")
    timeout: str = Field(
        default="10m",
        pattern=DURATION,
        description="How long a run may take on one target before it is stopped.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "duration(self) >= duration('30s') && duration(self) <= duration('2h')",
                    "message": "timeout must be between 30s and 2h",
                }
            ]
        },
    )
    max_targets: int = Field(default=10, ge=1, le=50, description="Targets one run may touch.")
    verify_window: str = Field(
        default="10m",
        pattern=DURATION,
        description="After a successful run, how long (event time) the incident's alerts have "
        "to resolve for the run to count as having healed it.",
    )


class Runbook(Resource):
    """A remediation script with a risk level."""

    info: ClassVar[ResourceInfo] = ResourceInfo(
        kind="Runbook",
        plural="runbooks",
        singular="runbook",
        short_names=["rb"],
        namespaced=True,
        description="A remediation script (bash or PowerShell) with its risk level, parameters, "
        "what it matches and its timeout.",
        columns=[
            PrinterColumn(name="Title", json_path=".spec.title"),
            PrinterColumn(name="Risk", json_path=".spec.risk"),
            PrinterColumn(name="Platform", json_path=".spec.platform"),
            PrinterColumn(name="Timeout", json_path=".spec.timeout", priority=1),
            ready_column(),
            age_column(),
        ],
    )
    kind: str = "Runbook"
    spec: RunbookSpec
    status: StatusBase | None = None
