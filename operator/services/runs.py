"""Runbook executions before they run: the risk comes from the Runbook, the decision from
an approver (or, for low risk, from the company's policy)."""

from __future__ import annotations

from dataclasses import dataclass

from whisperer.operator.models.v1alpha1 import RunbookExecution
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE


@dataclass(frozen=True)
class RunbookFacts:
    """What a run needs to know about its Runbook."""

    risk: str
    platform: str


@dataclass(frozen=True)
class Decision:
    """Where the run stands, and who or what put it there."""

    phase: str
    actor: str
    message: str


def runbook_candidates(run: RunbookExecution) -> list[tuple[str, str]]:
    """(namespace, name) to look the runbook up at: as given, else the company's, then the
    platform library."""
    ref = run.spec.runbook_ref
    if ref.namespace:
        return [(ref.namespace, ref.name)]
    own = run.metadata.namespace or ""
    return [(own, ref.name), (PLATFORM_NAMESPACE, ref.name)]


def decide(run: RunbookExecution, *, risk: str, auto_run_low_risk: bool, company: str) -> Decision:
    """The run's phase before execution."""
    approval = run.spec.approval
    if approval is not None:
        if approval.decision == "Approved":
            return Decision("Approved", approval.by, f"{risk}-risk run approved by {approval.by}")
        reason = f": {approval.reason}" if approval.reason else ""
        return Decision("Rejected", approval.by, f"rejected by {approval.by}{reason}")
    if risk == "low" and auto_run_low_risk:
        policy = f"policy:Company/{company}/spec.remediation.autoRunLowRisk"
        return Decision("Approved", policy, "low-risk run approved by the company's policy")
    return Decision(
        "AwaitingApproval",
        run.spec.requested_by,
        f"{risk}-risk run requested by {run.spec.requested_by}; waiting for approval",
    )
