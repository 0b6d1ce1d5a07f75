"""RoutingRule: which incidents need which skills, and who is preferred or escalated to."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from whisperer.operator.models.v1alpha1.common import (
    Email,
    Name,
    PrinterColumn,
    ResourceInfo,
    Schema,
    Severity,
    StatusBase,
    Tags,
    age_column,
    ready_column,
)
from whisperer.operator.models.v1alpha1.resource import Resource

Skill = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=63)]


class RouteMatch(Schema):
    """What an incident must have for the rule to apply; an empty list matches everything."""

    companies: list[Name] = Field(default_factory=list, max_length=100, description="Companies.")
    severities: list[Severity] = Field(
        default_factory=list, max_length=5, description="Severities."
    )
    signal_categories: list[Skill] = Field(
        default_factory=list,
        max_length=32,
        description="Signal categories (host, disk, network, database, security, ...).",
    )
    asset_tags: Tags = Field(default_factory=dict, description="Tags every asset must carry.")


class RoutingRuleSpec(Schema):
    """One routing rule; rules are tried in ascending order."""

    order: int = Field(ge=0, le=10000, description="Lower orders are tried first.")
    match: RouteMatch = Field(default_factory=RouteMatch, description="What the rule applies to.")
    required_skills: list[Skill] = Field(
        default_factory=list, max_length=16, description="Skills the technician must have."
    )
    preferred_technicians: list[Name] = Field(
        default_factory=list, max_length=16, description="Technicians tried first, in order."
    )
    escalation_contacts: list[Email] = Field(
        default_factory=list, max_length=16, description="Who hears of escalations."
    )
    continue_matching: bool = Field(
        default=False, description="Also try later rules (their skills are added)."
    )


class RoutingRule(Resource):
    """Matches incidents to skills and technicians."""

    info: ClassVar[ResourceInfo] = ResourceInfo(
        kind="RoutingRule",
        plural="routingrules",
        singular="routingrule",
        short_names=["rr"],
        namespaced=False,
        description="Matches incidents (company, severity, signal category, asset tags) to "
        "required skills, preferred technicians and escalation contacts.",
        columns=[
            PrinterColumn(name="Order", json_path=".spec.order", type="integer"),
            PrinterColumn(name="Skills", json_path=".spec.requiredSkills"),
            ready_column(),
            age_column(),
        ],
    )
    kind: str = "RoutingRule"
    spec: RoutingRuleSpec
    status: StatusBase | None = None
