"""MonthlySummary: the compact numbers of one company's month, kept on the Company so the
monthly client report outlives the incidents it was computed from (docs/plugin.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from whisperer.operator.models.v1alpha1.common import Schema

MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


class Tally(Schema):
    """How many deadlines were met and how many breached."""

    met: int = Field(default=0, ge=0, description="Met.")
    breached: int = Field(default=0, ge=0, description="Breached.")


class DurationTally(Schema):
    """A sum of durations and how many were summed (their mean is total / count)."""

    severity: str = Field(max_length=16, description="The incidents' severity.")
    count: int = Field(default=0, ge=0, description="Incidents measured.")
    total_seconds: int = Field(default=0, ge=0, description="Their durations, added up.")


class SeverityCount(Schema):
    """Incidents of one severity."""

    severity: str = Field(max_length=16, description="critical, high, medium or low.")
    count: int = Field(default=0, ge=0, description="Incidents.")


class Ranked(Schema):
    """An asset or signal and how many alerts it raised."""

    name: str = Field(max_length=253, description="The asset or signal.")
    count: int = Field(default=0, ge=0, description="Alerts.")


class WeekCount(Schema):
    """Incidents opened in one ISO week (Monday to Sunday, UTC)."""

    week: str = Field(max_length=10, description="The week's Monday, YYYY-MM-DD.")
    count: int = Field(default=0, ge=0, description="Incidents opened.")


class MajorIncident(Schema):
    """A P1 or critical incident of the month."""

    name: str = Field(max_length=253, description="The Incident.")
    title: str = Field(default="", max_length=256, description="Its title.")
    severity: str = Field(default="", max_length=16, description="Its severity.")
    priority: str = Field(default="", max_length=4, description="Its priority.")
    opened_at: datetime | None = Field(default=None, description="When it opened.")
    resolved_at: datetime | None = Field(default=None, description="When it resolved.")
    resolved_by: str = Field(default="", max_length=32, description="What resolved it.")


class MonthlySummary(Schema):
    """One month of one company, as the monthly report needs it."""

    month: str = Field(pattern=MONTH, description="YYYY-MM (UTC).")
    computed_at: datetime = Field(description="When it was computed.")
    final: bool = Field(
        default=False,
        description="The month had ended when it was computed: it is not computed again.",
    )
    incidents: int = Field(default=0, ge=0, description="Incidents opened in the month.")
    resolved: int = Field(default=0, ge=0, description="Of those, resolved.")
    by_severity: list[SeverityCount] = Field(
        default_factory=list, max_length=8, description="Incidents by severity."
    )
    response: Tally = Field(default_factory=Tally, description="Response deadlines.")
    resolution: Tally = Field(default_factory=Tally, description="Resolution deadlines.")
    acknowledge: list[DurationTally] = Field(
        default_factory=list, max_length=8, description="Opening to response, by severity."
    )
    resolve: list[DurationTally] = Field(
        default_factory=list, max_length=8, description="Opening to resolution, by severity."
    )
    alerts: int = Field(default=0, ge=0, description="Alerts the incidents took in.")
    self_healed: int = Field(default=0, ge=0, description="Incidents a runbook resolved.")
    runs: int = Field(default=0, ge=0, description="Runbook runs for the incidents.")
    runs_self_healed: int = Field(default=0, ge=0, description="Runs that healed.")
    escalated: int = Field(default=0, ge=0, description="Incidents escalated at least once.")
    weeks: list[WeekCount] = Field(
        default_factory=list, max_length=6, description="Incidents per week."
    )
    noisy_assets: list[Ranked] = Field(
        default_factory=list, max_length=10, description="The assets with the most alerts."
    )
    noisy_signals: list[Ranked] = Field(
        default_factory=list, max_length=10, description="The signals with the most alerts."
    )
    major: list[MajorIncident] = Field(
        default_factory=list, max_length=10, description="The month's major incidents."
    )
