"""Runbook executions before they run: where the runbook is looked up, and who decided."""

from __future__ import annotations

from typing import Any

import pytest

from whisperer.operator.models.v1alpha1 import RunbookExecution
from whisperer.operator.services.runs import Decision, decide, runbook_candidates

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


@pytest.mark.parametrize(
    ("approval", "risk", "auto_run", "expected"),
    [
        (
            APPROVED,
            "high",
            False,
            Decision("Approved", "bob@msp.example", "high-risk run approved by bob@msp.example"),
        ),
        (
            APPROVED,
            "low",
            True,
            Decision("Approved", "bob@msp.example", "low-risk run approved by bob@msp.example"),
        ),
        (
            REJECTED,
            "medium",
            False,
            Decision(
                "Rejected",
                "bob@msp.example",
                "rejected by bob@msp.example: not during business hours",
            ),
        ),
        (
            REJECTED,
            "low",
            True,
            Decision(
                "Rejected",
                "bob@msp.example",
                "rejected by bob@msp.example: not during business hours",
            ),
        ),
        (
            None,
            "low",
            True,
            Decision("Approved", POLICY, "low-risk run approved by the company's policy"),
        ),
        (
            None,
            "low",
            False,
            Decision(
                "AwaitingApproval",
                "alice@acme.example",
                "low-risk run requested by alice@acme.example; waiting for approval",
            ),
        ),
        (
            None,
            "medium",
            True,
            Decision(
                "AwaitingApproval",
                "alice@acme.example",
                "medium-risk run requested by alice@acme.example; waiting for approval",
            ),
        ),
        (
            None,
            "high",
            True,
            Decision(
                "AwaitingApproval",
                "alice@acme.example",
                "high-risk run requested by alice@acme.example; waiting for approval",
            ),
        ),
        (
            None,
            "medium",
            False,
            Decision(
                "AwaitingApproval",
                "alice@acme.example",
                "medium-risk run requested by alice@acme.example; waiting for approval",
            ),
        ),
    ],
    ids=[
        "approved-high",
        "approved-low-approval-wins-over-policy",
        "rejected",
        "rejected-low-despite-policy",
        "low-auto-run",
        "low-without-auto-run",
        "medium-ignores-auto-run",
        "high-ignores-auto-run",
        "medium",
    ],
)
def test_decide(
    approval: dict[str, str] | None, risk: str, auto_run: bool, expected: Decision
) -> None:
    assert decide(
        run(approval=approval), risk=risk, auto_run_low_risk=auto_run, company="acme"
    ) == (expected)


def test_decide_policy_actor_names_the_company() -> None:
    decision = decide(run(), risk="low", auto_run_low_risk=True, company="globex")
    assert decision.actor == "policy:Company/globex/spec.remediation.autoRunLowRisk"
