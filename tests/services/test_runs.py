"""Where a run's runbook is looked up (the decisions are in test_remediation_steps.py)."""

from __future__ import annotations

from typing import Any

import pytest

from whisperer.operator.models.v1alpha1 import RunbookExecution
from whisperer.operator.services.runs import runbook_candidates

AT = "2026-01-01T12:00:00Z"


def run(
    *, runbook: dict[str, str] | None = None, approval: dict[str, str] | None = None
) -> RunbookExecution:
    spec: dict[str, Any] = {
        "runbookRef": runbook or {"name": "restart-nginx"},
        "targets": ["web-1"],
        "requestedBy": "alice@acme.example",
    }
    if approval is not None:
        spec["approval"] = approval
    return RunbookExecution.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "RunbookExecution",
            "metadata": {"name": "run-1", "namespace": "company-acme"},
            "spec": spec,
        }
    )


@pytest.mark.parametrize(
    ("runbook", "expected"),
    [
        (
            {"name": "restart-nginx", "namespace": "shared-runbooks"},
            [("shared-runbooks", "restart-nginx")],
        ),
        (
            {"name": "restart-nginx", "namespace": "alert-whisperer"},
            [("alert-whisperer", "restart-nginx")],
        ),
        (
            {"name": "restart-nginx"},
            [("company-acme", "restart-nginx"), ("alert-whisperer", "restart-nginx")],
        ),
    ],
    ids=["explicit", "explicit-platform", "own-then-platform"],
)
def test_runbook_candidates(runbook: dict[str, str], expected: list[tuple[str, str]]) -> None:
    assert runbook_candidates(run(runbook=runbook)) == expected


APPROVED = {"decision": "Approved", "by": "bob@msp.example", "at": AT}
REJECTED = {
    "decision": "Rejected",
    "by": "bob@msp.example",
    "at": AT,
    "reason": "not during business hours",
}
POLICY = "policy:Company/acme/spec.remediation.autoRunLowRisk"
