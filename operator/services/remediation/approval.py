"""Who may approve a run, decided again by the operator before it dispatches (the admission
policy is the first gate; this one also knows the Company's settings, which admission cannot
read): low risk runs by itself when the company allows it; medium needs a company admin
(only when `allowMediumRiskByCompanyAdmin`) or an MSP admin; high an MSP admin; nobody
approves their own request; no decision within the company's approval timeout expires the
run."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from whisperer.operator.models.v1alpha1 import RunbookExecution

AUTO_ACTOR = "operator:auto-remediation"


@dataclass(frozen=True)
class Decision:
    """Where the approve step leaves the run: `phase` (Approved, AwaitingApproval, Rejected,
    Expired), the step's `reason`, who decided, and until when it waits."""

    phase: str
    reason: str
    actor: str
    message: str
    expires_at: datetime | None = None

    @property
    def approved(self) -> bool:
        """Whether the run may go on to its credentials and dispatch."""
        return self.phase == "Approved"


def role_of(user: str, *, company_admins: Collection[str], technicians: Collection[str]) -> str:
    """`company-admin`, `technician`, or `msp-admin`: anyone else the admission policy let
    approve holds `approve` through the MSP admins' group (the operator cannot see groups)."""
    if user in company_admins:
        return "company-admin"
    if user in technicians:
        return "technician"
    return "msp-admin"


def allowed(risk: str, role: str, *, medium_by_company_admin: bool) -> bool:
    """The approvals table (docs/remediation.md)."""
    if role == "msp-admin":
        return True
    if role == "company-admin":
        return risk == "low" or (risk == "medium" and medium_by_company_admin)
    return False


def decide(
    run: RunbookExecution,
    *,
    risk: str,
    company: str,
    auto_run_low_risk: bool,
    medium_by_company_admin: bool,
    approval_timeout: timedelta,
    company_admins: Collection[str],
    technicians: Collection[str],
    created_at: datetime,
    now: datetime,
    paused: bool = False,
) -> Decision:
    """The approve step: the decision in the spec checked against the rules, the company's
    policy for low risk, or waiting until the approval timeout. While the company's automatic
    runs are `paused` (the circuit breaker), an automatic run waits for a person instead."""
    requested_by = run.spec.requested_by
    approval = run.spec.approval
    if approval is not None:
        if approval.decision == "Rejected":
            why = f": {approval.reason}" if approval.reason else ""
            return Decision("Rejected", "Rejected", approval.by, f"rejected by {approval.by}{why}")
        if approval.by == requested_by:
            return Decision(
                "Rejected",
                "SelfApproval",
                approval.by,
                f"{approval.by} requested this run and cannot approve it",
            )
        role = role_of(approval.by, company_admins=company_admins, technicians=technicians)
        if not allowed(risk, role, medium_by_company_admin=medium_by_company_admin):
            extra = (
                " (the company does not allow its admins to approve medium risk)"
                if risk == "medium" and role == "company-admin"
                else ""
            )
            return Decision(
                "Rejected",
                "ApproverNotAllowed",
                approval.by,
                f"a {role} may not approve a {risk}-risk run{extra}",
            )
        return Decision(
            "Approved",
            "Approved",
            approval.by,
            f"{risk}-risk run approved by {approval.by} ({role})",
        )
    held = paused and requested_by == AUTO_ACTOR
    if risk == "low" and auto_run_low_risk and not held:
        policy = f"policy:Company/{company}/spec.remediation.autoRunLowRisk"
        return Decision(
            "Approved", "AutoApproved", policy, "low-risk run approved by the company's policy"
        )
    expires = created_at + approval_timeout
    if now >= expires:
        return Decision(
            "Expired",
            "ApprovalExpired",
            "operator",
            f"no decision within the company's approval timeout ({approval_timeout})",
        )
    who = (
        "an MSP admin"
        if risk == "high" or not medium_by_company_admin
        else "a company admin or an MSP admin"
    )
    if risk == "low":
        who = "a company admin or an MSP admin"
    if held:
        return Decision(
            "AwaitingApproval",
            "AutoRemediationPaused",
            requested_by,
            f"automatic runs of this company are paused (too many failed): waiting for {who} "
            "to approve this one",
            expires_at=expires,
        )
    return Decision(
        "AwaitingApproval",
        "AwaitingApproval",
        requested_by,
        f"{risk}-risk run requested by {requested_by}; waiting for {who} to approve",
        expires_at=expires,
    )


__all__ = ["AUTO_ACTOR", "Decision", "allowed", "decide", "role_of"]
