"""Readiness of config objects: a table of inputs and the full verdict each gives."""

from __future__ import annotations

from typing import Any

import pytest

from whisperer.operator.models.v1alpha1 import Company, Technician
from whisperer.operator.services.readiness import (
    READY,
    Verdict,
    company_verdict,
    technician_verdict,
)


def company(policy: str = "gold", assets: list[dict[str, Any]] | None = None) -> Company:
    return Company.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Company",
            "metadata": {"name": "c"},
            "spec": {"displayName": "C", "slaPolicyRef": {"name": policy}, "assets": assets or []},
        }
    )


@pytest.mark.parametrize(
    ("subject", "policies", "expected"),
    [
        (company(), {"gold"}, READY),
        (
            company(policy="silver"),
            {"gold"},
            Verdict(
                False,
                "SLAPolicyNotFound",
                "SLAPolicy 'silver' does not exist; incidents would have no deadlines.",
                waiting=True,
            ),
        ),
        (
            company(assets=[{"name": "web", "dependsOn": ["db"]}]),
            {"gold"},
            Verdict(
                False,
                "UnknownDependency",
                "assets depend on assets not in the inventory: web -> db",
            ),
        ),
        (company(assets=[{"name": "web", "dependsOn": ["db"]}, {"name": "db"}]), {"gold"}, READY),
    ],
    ids=["ready", "missing-policy", "dangling-dependency", "dependency-present"],
)
def test_company_verdict(subject: Company, policies: set[str], expected: Verdict) -> None:
    assert company_verdict(subject, sla_policies=policies) == expected


def test_technician_verdict() -> None:
    tech = Technician.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Technician",
            "metadata": {"name": "t"},
            "spec": {
                "username": "t@x.example",
                "displayName": "T",
                "email": "t@x.example",
                "companies": ["a", "b"],
            },
        }
    )
    assert technician_verdict(tech, companies={"a", "b", "c"}) == READY
    assert technician_verdict(tech, companies={"a"}) == Verdict(
        False, "CompanyNotFound", "serves companies that do not exist: b", waiting=True
    )
