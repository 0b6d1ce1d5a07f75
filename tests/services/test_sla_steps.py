"""An incident's SLA clocks as a function of the incident, its policy and the time
(`services/sla/clocks.evaluate`): the steps it calls for and when to look again. The
operator test (tests/operator/test_sla_clocks.py) runs the same rule on the real operator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from whisperer.operator.models.v1alpha1.sla import SLAPolicySpec
from whisperer.operator.services.sla.clocks import evaluate

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # a Tuesday
SAM = "sam@northwind-msp.example"


def policy(**spec: Any) -> SLAPolicySpec:
    return SLAPolicySpec.model_validate(
        {
            "targets": [
                {"severity": "high", "responseMinutes": 60, "resolutionMinutes": 240},
                {"severity": "critical", "responseMinutes": 15, "resolutionMinutes": 120},
            ],
            "coverage": {"type": "24x7"},
            **spec,
        }
    )


def z(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def incident(**status: Any) -> dict[str, Any]:
    return {
        "phase": "Open",
        "openedAt": z(0),
        "severity": "high",
        "rules": {"severity": "high"},
        "assignee": "sam",
        **status,
    }


def at(
    minutes: float, status: dict[str, Any], spec: dict[str, Any] | None = None, **kw: Any
) -> Any:
    found = evaluate(
        spec or {},
        status,
        policy_name="p",
        policy=kw.pop("p", policy()),
        technicians={SAM},
        now=T0 + timedelta(minutes=minutes),
    )
    assert found is not None
    return found


def stored(status: dict[str, Any], found: Any) -> dict[str, Any]:
    """The status after the SLA's write."""
    return {**status, "sla": found.sla, "escalationLevel": found.escalation_level}


def kinds(found: Any) -> list[str]:
    return [f"{s.kind}:{s.clock}:{s.level}.{s.repeat}" for s in found.steps]


def test_the_steps_of_an_unanswered_incident_each_once() -> None:
    status = incident()
    first = at(0, status)
    assert first.steps == []
    assert first.sla["responseDueAt"] == z(60) and first.sla["resolutionDueAt"] == z(240)
    assert first.next_at == T0 + timedelta(minutes=30)  # the warning, 30 minutes before
    status = stored(status, first)
    warned = at(30, status)
    assert kinds(warned) == ["warning:response:0.0"]
    status = stored(status, warned)
    assert at(31, status).steps == []  # recorded: not again
    breached = at(60, status)
    # The breach, and level 1 of the default ladder at once.
    assert kinds(breached) == ["breach:response:0.0", "escalation:response:1.0"]
    assert breached.sla["escalationReason"] == "ResponseMissed"
    status = stored(status, breached)
    assert at(89, status).steps == []
    assert kinds(at(90, status)) == ["escalation:response:2.0"]
    status = stored(status, at(90, status))
    assert kinds(at(120, status)) == ["escalation:response:3.0"]
    status = stored(status, at(120, status))
    # The last level repeats every 30 minutes while nobody responds.
    assert at(149, status).steps == []
    again = at(150, status)
    assert kinds(again) == ["escalation:response:3.1"]
    assert again.next_at == T0 + timedelta(minutes=180)


def test_an_acknowledgement_stops_escalation_and_records_the_outcome() -> None:
    status = stored(incident(), at(60, incident()))
    spec = {"acknowledgement": {"by": SAM, "at": z(70)}}
    found = at(215, status, spec)
    assert found.steps[0].kind == "warning" and found.steps[0].clock == "resolution"
    assert [s for s in found.steps if s.kind == "escalation"] == []
    assert found.sla["respondedAt"] == z(70)
    assert found.sla["responseOutcome"] == "breached"
    assert found.sla["responseMarginMinutes"] == -10


def test_nobody_to_assign_escalates_at_once() -> None:
    status = incident(
        assignee=None,
        timeline=[{"type": "Unassigned", "at": z(0), "actor": "policy:RoutingRule/none"}],
    )
    found = at(0, status)
    assert kinds(found) == ["escalation:response:1.0"]
    assert found.sla["escalationReason"] == "NoTechnicianAvailable"


def test_a_severity_rise_tightens_the_deadlines_and_a_fall_never_loosens_them() -> None:
    raised = at(0, incident(severity="critical"))  # the AI raised it
    assert raised.sla["responseDueAt"] == z(15)
    lowered = at(0, incident(severity="medium"))  # the AI lowered it: the rules' stands
    assert lowered.sla["responseDueAt"] == z(60)


def test_a_wait_on_the_customer_stops_the_clocks_and_moves_the_deadlines() -> None:
    spec: dict[str, Any] = {"customerWaits": [{"by": SAM, "at": z(20)}]}
    waiting = at(50, incident(), spec)
    assert waiting.steps == [] and waiting.next_at is None
    assert waiting.sla["pausedSince"] == z(20)
    assert waiting.sla["respondedAt"] == z(20)  # a wait is a response
    spec["customerWaits"][0].update(resumedBy=SAM, resumedAt=z(80))
    resumed = at(81, incident(), spec)
    assert resumed.sla["resolutionDueAt"] == z(300)  # 60 minutes waited
    assert resumed.sla["pausedMinutes"] == 60


def test_a_reopened_incident_starts_its_clocks_again() -> None:
    old = stored(incident(), at(60, incident()))
    reopened = {**old, "reopened": 1, "openedAt": z(300), "escalationLevel": 1}
    found = at(300, reopened)
    assert found.sla["episode"] == 1
    assert found.sla["responseDueAt"] == z(360)
    assert found.escalation_level == 0 and found.steps == []


def test_the_warning_lead_may_be_a_share_and_is_at_most_half_the_target() -> None:
    share = at(0, incident(), p=policy(warningLeadPercent=25))
    assert share.next_at == T0 + timedelta(minutes=45)
    critical = at(0, incident(severity="critical", rules={"severity": "critical"}))
    assert critical.next_at == T0 + timedelta(minutes=7.5)  # half of 15, not 30 before


def test_the_lead_counts_covered_time_across_a_closed_night() -> None:
    hours = policy(
        coverage={
            "type": "BusinessHours",
            "timeZone": "UTC",
            "days": ["Mon", "Tue", "Wed", "Thu", "Fri"],
            "start": "09:00",
            "end": "17:00",
        }
    )
    # Opened Tuesday 16:45: 15 minutes today, 45 on Wednesday: due Wednesday 09:45; the
    # warning with 30 minutes left is Wednesday 09:15, not Tuesday night.
    late = {**incident(), "openedAt": z(405)}
    found = at(405, late, p=hours)
    assert found.sla["responseDueAt"] == "2026-12-02T09:45:00Z"
    assert found.next_at == datetime(2026, 12, 2, 9, 15, tzinfo=UTC)


def test_a_resolved_incident_calls_for_nothing_more() -> None:
    status = stored(incident(), at(60, incident()))
    resolved = {**status, "phase": "Resolved", "resolvedAt": z(100)}
    found = at(500, resolved)
    assert found.steps == [] and found.next_at is None
    assert found.sla["resolutionOutcome"] == "met"
    assert found.sla["resolvedAt"] == z(100)
