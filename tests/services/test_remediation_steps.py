"""A run's step decisions, pure: approvals (each risk by each role, self-approval, expiry),
admission (inventory, parameters, platform), the polls' verdict (every outcome), verification
(healed within the window, or not), the intent token, and the incident's run summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from whisperer.operator.models.v1alpha1 import Company, Runbook, RunbookExecution
from whisperer.operator.remote import Outcome
from whisperer.operator.services.remediation import approval, report, steps
from whisperer.operator.services.remediation.steps import StepFailedError, TargetState

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
CREATED = NOW - timedelta(minutes=5)


def run(approval_: dict[str, Any] | None = None, **spec: Any) -> RunbookExecution:
    body: dict[str, Any] = {
        "runbookRef": {"name": "restart"},
        "targets": ["web-1"],
        "requestedBy": "tina@msp.example",
        **spec,
    }
    if approval_ is not None:
        body["approval"] = {"at": "2026-01-01T11:58:00Z", **approval_}
    return RunbookExecution.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "RunbookExecution",
            "metadata": {"name": "run-1", "namespace": "company-acme"},
            "spec": body,
        }
    )


def decide(
    r: RunbookExecution,
    risk: str,
    *,
    auto: bool = False,
    medium_ok: bool = True,
    now: datetime = NOW,
    authorized: bool | None = True,
    denial: str = "",
) -> approval.Decision:
    return approval.decide(
        r,
        risk=risk,
        company="acme",
        auto_run_low_risk=auto,
        medium_by_company_admin=medium_ok,
        approval_timeout=timedelta(hours=1),
        company_admins=["ann@acme.example"],
        technicians=["tina@msp.example", "tom@msp.example"],
        created_at=CREATED,
        now=now,
        authorized=authorized,
        denial=denial,
    )


@pytest.mark.parametrize(
    ("risk", "by", "medium_ok", "phase", "reason"),
    [
        ("low", "ann@acme.example", True, "Approved", "Approved"),
        ("medium", "ann@acme.example", True, "Approved", "Approved"),
        ("medium", "ann@acme.example", False, "Rejected", "ApproverNotAllowed"),
        ("medium", "boss@msp.example", False, "Approved", "Approved"),
        ("high", "ann@acme.example", True, "Rejected", "ApproverNotAllowed"),
        ("high", "boss@msp.example", True, "Approved", "Approved"),
        ("medium", "tom@msp.example", True, "Rejected", "ApproverNotAllowed"),
        ("high", "tina@msp.example", True, "Rejected", "SelfApproval"),
    ],
)
def test_who_may_approve_which_risk(
    risk: str, by: str, medium_ok: bool, phase: str, reason: str
) -> None:
    d = decide(run({"decision": "Approved", "by": by}), risk, medium_ok=medium_ok)
    assert (d.phase, d.reason, d.actor) == (phase, reason, by)


def test_an_approver_known_by_no_role_is_an_msp_admin_only_when_rbac_says_so() -> None:
    given = run({"decision": "Approved", "by": "boss@msp.example"})
    unasked = decide(given, "high", authorized=None)
    assert (unasked.phase, unasked.reason, unasked.unverified) == (
        "AwaitingApproval",
        approval.UNVERIFIED,
        True,
    )
    allowed = decide(given, "high", authorized=True)
    assert (allowed.phase, allowed.reason) == ("Approved", "Approved")
    assert allowed.message == "high-risk run approved by boss@msp.example (msp-admin)"
    refused = decide(given, "high", authorized=False, denial="no RBAC policy matched")
    assert (refused.phase, refused.reason, refused.actor) == (
        "Rejected",
        "ApproverNotAllowed",
        "boss@msp.example",
    )
    assert refused.message == (
        "RBAC does not let boss@msp.example approve a high-risk run in company-acme: "
        "no RBAC policy matched"
    )
    assert decide(given, "medium", authorized=False).message == (
        "RBAC does not let boss@msp.example approve a medium-risk run in company-acme"
    )


def test_a_company_admin_rbac_no_longer_allows_is_refused() -> None:
    given = run({"decision": "Approved", "by": "ann@acme.example"})
    assert decide(given, "medium", authorized=None).unverified
    d = decide(given, "medium", authorized=False)
    assert (d.phase, d.reason) == ("Rejected", "ApproverNotAllowed")
    assert "RBAC does not let ann@acme.example" in d.message


def test_the_company_setting_refuses_its_admin_medium_risk_even_when_rbac_allows() -> None:
    given = run({"decision": "Approved", "by": "ann@acme.example"})
    for authorized in (True, None):
        d = decide(given, "medium", medium_ok=False, authorized=authorized)
        assert (d.phase, d.reason) == ("Rejected", "ApproverNotAllowed")
        assert d.message == (
            "a company-admin may not approve a medium-risk run "
            "(the company does not allow its admins to approve medium risk)"
        )


def test_what_the_rules_refuse_needs_no_answer_from_rbac() -> None:
    technician = decide(
        run({"decision": "Approved", "by": "tom@msp.example"}), "low", authorized=None
    )
    assert (technician.phase, technician.reason) == ("Rejected", "ApproverNotAllowed")
    own = decide(run({"decision": "Approved", "by": "tina@msp.example"}), "low", authorized=None)
    assert own.reason == "SelfApproval"
    no = decide(run({"decision": "Rejected", "by": "ann@acme.example"}), "low", authorized=None)
    assert no.reason == "Rejected"
    assert decide(run(), "low", auto=True, authorized=None).reason == "AutoApproved"


def test_low_risk_runs_by_itself_only_when_the_company_allows() -> None:
    assert decide(run(), "low", auto=True).reason == "AutoApproved"
    waiting = decide(run(), "low", auto=False)
    assert (waiting.phase, waiting.expires_at) == ("AwaitingApproval", CREATED + timedelta(hours=1))
    assert decide(run(), "medium", auto=True).phase == "AwaitingApproval"


def test_no_decision_within_the_approval_timeout_expires_the_run() -> None:
    assert decide(run(), "high", now=CREATED + timedelta(minutes=59)).phase == "AwaitingApproval"
    expired = decide(run(), "high", now=CREATED + timedelta(hours=1))
    assert (expired.phase, expired.reason) == ("Expired", "ApprovalExpired")


def test_a_rejection_is_final() -> None:
    d = decide(run({"decision": "Rejected", "by": "ann@acme.example", "reason": "not now"}), "low")
    assert (d.phase, d.message) == ("Rejected", "rejected by ann@acme.example: not now")


def company(**asset: Any) -> Company:
    return Company.model_validate(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Company",
            "metadata": {"name": "acme"},
            "spec": {
                "displayName": "Acme",
                "slaPolicyRef": {"name": "x"},
                "assets": [{"name": "web-1", **asset}],
            },
        }
    )


def runbook(**spec: Any) -> Runbook:
    return Runbook.model_validate(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Runbook",
            "metadata": {"name": "restart", "namespace": "alert-whisperer"},
            "spec": {
                "title": "t",
                "risk": "low",
                "platform": "linux",
                "shell": "bash",
                "script": "echo ok",
                "parameters": [
                    {"name": "SERVICE", "required": True, "pattern": "^[a-z]+$"},
                    {"name": "MODE", "default": "soft", "allowedValues": ["soft", "hard"]},
                ],
                **spec,
            },
        }
    )


AWS = {"cloud": "aws", "instanceId": "i-0123456789abcdef0", "region": "us-east-1"}


def test_admission_finds_targets_and_parameters() -> None:
    a = steps.admit(run(parameters={"SERVICE": "nginx"}), runbook=runbook(), company=company(**AWS))
    assert (a.provider, a.risk, a.parameters) == (
        "aws-ssm",
        "low",
        {"SERVICE": "nginx", "MODE": "soft"},
    )
    assert [t.instance_id for t in a.targets] == ["i-0123456789abcdef0"]
    assert a.verify_window == timedelta(minutes=10)


@pytest.mark.parametrize(
    ("r", "asset", "rb", "reason"),
    [
        (
            run(targets=["db-9"], parameters={"SERVICE": "x"}),
            AWS,
            runbook(),
            "TargetNotInInventory",
        ),
        (run(parameters={"SERVICE": "x"}), {"cloud": "onprem"}, runbook(), "TargetNotReachable"),
        (
            run(parameters={"SERVICE": "x"}),
            {**AWS, "platform": "windows"},
            runbook(),
            "PlatformMismatch",
        ),
        (run(), AWS, runbook(), "InvalidParameters"),
        (run(parameters={"SERVICE": "NGINX"}), AWS, runbook(), "InvalidParameters"),
        (run(parameters={"SERVICE": "x", "MODE": "nuke"}), AWS, runbook(), "InvalidParameters"),
        (run(parameters={"SERVICE": "x", "OTHER": "1"}), AWS, runbook(), "InvalidParameters"),
        (run(parameters={"SERVICE": "x"}), AWS, None, "RunbookNotFound"),
    ],
)
def test_admission_refuses_with_its_own_reason(
    r: RunbookExecution, asset: dict[str, Any], rb: Runbook | None, reason: str
) -> None:
    with pytest.raises(StepFailedError) as failed:
        steps.admit(r, runbook=rb, company=company(**asset))
    assert (failed.value.step, failed.value.reason) == ("admit", reason)
    assert failed.value.waiting == (reason == "RunbookNotFound")


def s(outcome: Outcome | None, *, delivery: bool = False, code: int | None = None) -> TargetState:
    return TargetState("web-1", "x", outcome, exit_code=code, delivery_timed_out=delivery)


@pytest.mark.parametrize(
    ("states", "attempt", "expected"),
    [
        ([s(Outcome.SUCCEEDED), s(None)], 1, (False, "Running", "", False)),
        ([s(Outcome.SUCCEEDED)], 1, (True, "Verifying", "Succeeded", False)),
        (
            [s(Outcome.SUCCEEDED), s(Outcome.RESULT_UNKNOWN)],
            1,
            (True, "Failed", "ResultUnknown", False),
        ),
        ([s(Outcome.FAILED, code=3)], 1, (True, "Failed", "CommandFailed", False)),
        ([s(Outcome.NOT_RUN, delivery=True)], 1, (True, "Dispatching", "DeliveryTimedOut", True)),
        ([s(Outcome.NOT_RUN, delivery=True)], 3, (True, "Failed", "Undeliverable", False)),
        ([s(Outcome.NOT_RUN)], 1, (True, "Failed", "Undeliverable", False)),
        ([s(Outcome.CANCELLED)], 1, (True, "Cancelled", "Cancelled", False)),
    ],
)
def test_the_polls_verdict(
    states: list[TargetState], attempt: int, expected: tuple[Any, ...]
) -> None:
    v = steps.judge(states, attempt=attempt)
    assert (v.done, v.phase, v.reason, v.retry) == expected


def incident(firing: int, quiet: str | None = None, phase: str = "Open") -> dict[str, Any]:
    alerts = {"count": 1, "firing": firing, "quietSince": quiet}
    return {"status": {"phase": phase, "alerts": alerts}}


def test_verification_on_event_time() -> None:
    until = NOW + timedelta(minutes=10)
    assert steps.verify(incident(1), until=until, now=NOW) is None
    assert (
        steps.verify(incident(0, "2026-01-01T12:05:00Z"), until=until, now=NOW)[0] == "SelfHealed"
    )  # type: ignore[index]
    assert steps.verify(incident(1), until=until, now=until)[0] == "Ineffective"  # type: ignore[index]
    assert steps.verify({"status": {}}, until=until, now=NOW) is None  # no alerts known yet
    late = incident(0, "2026-01-01T12:30:00Z")
    assert steps.verify(late, until=until, now=until)[0] == "Ineffective"  # type: ignore[index]


def test_the_intent_token_is_deterministic_per_run_and_attempt() -> None:
    one = steps.intent_token("company-acme", "run-1", 1)
    assert one == steps.intent_token("company-acme", "run-1", 1)
    assert one != steps.intent_token("company-acme", "run-1", 2)
    assert one != steps.intent_token("company-acme", "run-2", 1)
    assert len(one) + len(" 1/1") <= 80


def test_polls_back_off_from_2_to_5_seconds() -> None:
    gaps = [(steps.next_poll(n, now=NOW) - NOW).total_seconds() for n in range(6)]
    assert gaps == [2, 3, 4, 5, 5, 5]


def test_run_summaries_merge_by_name_and_say_what_happened() -> None:
    first = report.summary(
        name="a", runbook="ns/rb", requested_by="x", phase="Running", outcome=None, finished_at=None
    )
    done = report.summary(
        name="a",
        runbook="ns/rb",
        requested_by="x",
        phase="Failed",
        outcome="Failed",
        finished_at=NOW,
    )
    other = report.summary(
        name="b",
        runbook="ns/rb",
        requested_by="x",
        phase="AwaitingApproval",
        outcome=None,
        finished_at=None,
    )
    runs = report.merged(report.merged([first, other], done), other)
    assert [(r["name"], r["phase"]) for r in runs] == [("a", "Failed"), ("b", "AwaitingApproval")]
    change = report.incident_change(done, at=NOW, actor="RunbookExecution/a", message="m")
    assert [e["type"] for e in change.timeline] == ["RemediationFailed"]
    assert change.compute is not None
    assert change.compute({"status": {"runs": [done]}}) is None
    update = change.compute({"status": {"runs": [first]}})
    assert update is not None and update.fields == {"runs": [done]}


def test_an_automatic_run_is_named_after_its_incident() -> None:
    body = {
        "status": {
            "rootCause": {"asset": "web-1"},
            "timeline": [
                {
                    "type": "RunbookSuggested",
                    "message": "alert-whisperer/restart (low risk) fits; it would start by itself",
                }
            ],
        }
    }
    assert report.suggested(body) == ("alert-whisperer/restart", "web-1")
    made = report.auto_run_body(
        namespace="company-acme",
        incident="inc-1",
        runbook="alert-whisperer/restart",
        target="web-1",
        reason="r",
    )
    assert made["metadata"]["name"] == "auto-inc-1"
    assert made["spec"]["requestedBy"] == "operator:auto-remediation"
    assert made["spec"]["runbookRef"] == {"name": "restart", "namespace": "alert-whisperer"}
    body["status"]["timeline"][0]["message"] = "x/y (medium risk) fits; it needs approval"
    assert report.suggested(body) is None


def test_blast_radius_one_run_per_target_and_a_limit_per_company() -> None:
    from whisperer.operator.services.remediation import blast

    holding = {
        ("company-acme", "a"): blast.Holding("company-acme", frozenset({"web-1"})),
        ("company-beta", "b"): blast.Holding("company-beta", frozenset({"web-2"})),
    }
    key = ("company-acme", "new")
    with pytest.raises(StepFailedError) as busy:
        blast.check(key, targets=frozenset({"web-1", "web-3"}), holding=holding, per_company=5)
    assert (busy.value.reason, busy.value.waiting) == ("TargetBusy", True)
    blast.check(key, targets=frozenset({"web-2"}), holding=holding, per_company=5)  # other company
    with pytest.raises(StepFailedError) as full:
        blast.check(key, targets=frozenset({"web-9"}), holding=holding, per_company=1)
    assert full.value.reason == "CompanyBusy"
    blast.check(("company-acme", "a"), targets=frozenset({"web-1"}), holding=holding, per_company=1)
