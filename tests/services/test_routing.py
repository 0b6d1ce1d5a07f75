"""Routing: rules by order, skills, company, shifts (overnight, time zones), leave, workload,
preferred technicians, and a reason when nobody can take the incident."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from whisperer.operator.models.v1alpha1 import RoutingRule, Technician
from whisperer.operator.services.routing import IncidentTraits, available, route

API = "alertwhisperer.io/v1alpha1"
# A Wednesday, 15:00 UTC (10:00 in New York, 15:00 in London).
WED_1500 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def rule(name: str, order: int, **spec: Any) -> RoutingRule:
    return RoutingRule.model_validate(
        {
            "apiVersion": API,
            "kind": "RoutingRule",
            "metadata": {"name": name},
            "spec": {"order": order, **spec},
        }
    )


def tech(name: str, **spec: Any) -> Technician:
    base = {
        "username": f"{name}@msp.example",
        "displayName": name,
        "email": f"{name}@msp.example",
        "companies": ["acme"],
    }
    return Technician.model_validate(
        {
            "apiVersion": API,
            "kind": "Technician",
            "metadata": {"name": name},
            "spec": {**base, **spec},
        }
    )


def traits(**kw: Any) -> IncidentTraits:
    return IncidentTraits(
        **{"company": "acme", "severity": "high", "category": "database", "asset_tags": {}, **kw}
    )


def test_the_first_matching_rule_decides_its_skills_and_preferred_technician() -> None:
    rules = [
        rule("default", 1000),
        rule(
            "db",
            10,
            match={"signalCategories": ["database"]},
            requiredSkills=["databases"],
            preferredTechnicians=["ana"],
        ),
    ]
    techs = [tech("bob", skills=["databases"]), tech("ana", skills=["databases"]), tech("cy")]
    got = route(traits(), rules, techs, at=WED_1500, workload={})
    assert got.technician == "ana"
    assert got.rules == ("db",)
    assert got.skills == ("databases",)
    assert "preferred by rule db" in got.reason
    other = route(traits(category="disk"), rules, techs, at=WED_1500, workload={})
    assert other.rules == ("default",)


def test_without_a_preferred_technician_the_least_loaded_takes_it() -> None:
    rules = [rule("default", 1)]
    techs = [tech("a", maxOpenIncidents=10), tech("b", maxOpenIncidents=4), tech("c")]
    # loads: a 5/10, b 1/4, c 3/10 -> b
    got = route(traits(), rules, techs, at=WED_1500, workload={"a": 5, "b": 1, "c": 3})
    assert got.technician == "b"
    assert "least loaded" in got.reason


def test_continue_matching_adds_the_next_rules_skills() -> None:
    rules = [
        rule(
            "windows",
            20,
            match={"assetTags": {"role": "fileserver"}},
            requiredSkills=["windows"],
            continueMatching=True,
        ),
        rule("db", 30, match={"signalCategories": ["database"]}, requiredSkills=["databases"]),
    ]
    techs = [tech("w", skills=["windows"]), tech("both", skills=["windows", "databases"])]
    got = route(traits(asset_tags={"role": "fileserver"}), rules, techs, at=WED_1500, workload={})
    assert got.rules == ("windows", "db")
    assert got.skills == ("windows", "databases")
    assert got.technician == "both"


def test_only_technicians_serving_the_company_with_room_on_shift_and_not_on_leave() -> None:
    rules = [rule("default", 1)]
    techs = [
        tech("elsewhere", companies=["globex"]),
        tech("full", maxOpenIncidents=2),
        tech("asleep", shifts=[{"days": ["Wed"], "start": "22:00", "end": "06:00"}]),
        tech(
            "away",
            leave=[{"start": "2026-11-20T00:00:00Z", "end": "2026-11-30T00:00:00Z"}],
        ),
        tech(
            "here",
            shifts=[
                {
                    "days": ["Mon", "Wed"],
                    "start": "09:00",
                    "end": "17:00",
                    "timeZone": "America/New_York",
                }
            ],
        ),
    ]
    got = route(traits(), rules, techs, at=WED_1500, workload={"full": 2})
    assert got.technician == "here"


def test_nobody_available_leaves_it_unassigned_with_the_reason() -> None:
    rules = [rule("db", 1, requiredSkills=["databases"])]
    assert (
        route(traits(), rules, [tech("x", companies=["globex"])], at=WED_1500, workload={}).reason
        == "no technician serves acme"
    )
    assert (
        "has the skills with databases"
        in route(traits(), rules, [tech("x")], at=WED_1500, workload={}).reason
    )
    busy = route(
        traits(),
        rules,
        [tech("x", skills=["databases"], maxOpenIncidents=1)],
        at=WED_1500,
        workload={"x": 1},
    )
    assert busy.technician is None and "at their limit" in busy.reason
    assert (
        route(traits(), [], [tech("x")], at=WED_1500, workload={}).reason
        == "no routing rule matches"
    )


def test_an_overnight_shift_runs_into_the_next_day_in_its_time_zone() -> None:
    night = tech(
        "night",
        shifts=[{"days": ["Tue"], "start": "22:00", "end": "07:00", "timeZone": "Europe/London"}],
    )
    assert available(night, datetime(2026, 11, 24, 23, 30, tzinfo=UTC))  # Tue 23:30
    assert available(night, datetime(2026, 11, 25, 6, 59, tzinfo=UTC))  # Wed 06:59
    assert not available(night, datetime(2026, 11, 25, 7, 0, tzinfo=UTC))  # Wed 07:00
    assert not available(night, datetime(2026, 11, 25, 23, 0, tzinfo=UTC))  # Wed night: no shift
    # London is UTC+1 in summer: 21:30 UTC on a Tuesday in July is 22:30 local.
    assert available(night, datetime(2026, 7, 14, 21, 30, tzinfo=UTC))
