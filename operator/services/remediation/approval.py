"""Who may approve a run, decided again by the operator before it dispatches (the admission
policy is the first gate; this one also knows the Company's settings, which admission cannot
read): low risk runs by itself when the company allows it; medium needs a company admin
(only when `allowMediumRiskByCompanyAdmin`) or an MSP admin; high an MSP admin; nobody
approves their own request; no decision within the company's approval timeout expires the
run. An approval the rules would accept is carried out only once RBAC (a SubjectAccessReview
for the approver and the groups recorded with the approval, asked by the caller) says the
approver holds `approve` on the risk: the verdict comes in as `authorized`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from whisperer.operator.models.v1alpha1 import RunbookExecution

AUTO_ACTOR = "operator:auto-remediation"
UNVERIFIED = "ApprovalUnverified"
"""The reason of a decision that waits for RBAC's verdict on the approver (never written)."""


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

    @property
    def unverified(self) -> bool:
        """Whether the rules accept the approval and RBAC must now be asked about the
        approver (`decide` again with its verdict)."""
        return self.reason == UNVERIFIED


def role_of(
    user: str,
    *,
    company_admins: Collection[str],
    technicians: Collection[str],
    authorized: bool | None,
) -> str | None:
    """`company-admin` (in the Company's `spec.admins`), `technician` (a Technician's user
    name), `msp-admin` when RBAC says the user (with the approval's groups) holds `approve`
    on the risk, which only MSP admins hold beyond low and medium; otherwise None: nobody
    the operator knows may approve."""
    if user in company_admins:
        return "company-admin"
    if user in technicians:
        return "technician"
    if authorized:
        return "msp-admin"
    return None


def allowed(risk: str, role: str | None, *, medium_by_company_admin: bool) -> bool:
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
    authorized: bool | None,
    denial: str = "",
    paused: bool = False,
) -> Decision:
    """The approve step: the decision in the spec checked against the rules and RBAC's
    verdict (`authorized`, None while not asked: the decision is then `ApprovalUnverified`,
    and the caller asks and decides again; `denial` is RBAC's reason for a refusal), the
    company's policy for low risk, or waiting until the approval timeout. While the company's
    automatic runs are `paused` (the circuit breaker), an automatic run waits for a person."""
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
        known = role_of(
            approval.by, company_admins=company_admins, technicians=technicians, authorized=None
        )
        if known is not None and not allowed(
            risk, known, medium_by_company_admin=medium_by_company_admin
        ):
            extra = (
                " (the company does not allow its admins to approve medium risk)"
                if risk == "medium" and known == "company-admin"
                else ""
            )
            return Decision(
                "Rejected",
                "ApproverNotAllowed",
                approval.by,
                f"a {known} may not approve a {risk}-risk run{extra}",
            )
        if authorized is None:
            return Decision(
                "AwaitingApproval",
                UNVERIFIED,
                approval.by,
                f"approval by {approval.by} waits for RBAC's answer",
            )
        if not authorized:
            why = f": {denial}" if denial else ""
            return Decision(
                "Rejected",
                "ApproverNotAllowed",
                approval.by,
                f"RBAC does not let {approval.by} approve a {risk}-risk run in "
                f"{run.metadata.namespace}{why}",
            )
        role = role_of(
            approval.by, company_admins=company_admins, technicians=technicians, authorized=True
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


__all__ = ["AUTO_ACTOR", "UNVERIFIED", "Decision", "allowed", "decide", "role_of"]
