"""The automatic runs' circuit breaker, as a pure decision: which runs count, when it trips,
that it stays tripped until a resume request, and that a resume forgets what came before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from whisperer.operator.models.v1alpha1 import RunbookExecution
from whisperer.operator.services.remediation import approval, breaker

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SETTINGS = breaker.Settings(threshold=3, window=timedelta(hours=1))


def body(phase: str, outcome: str | None, *, by: str = approval.AUTO_ACTOR) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase, "finishedAt": "2026-12-03T11:30:00Z"}
    if outcome:
        status["outcome"] = outcome
    return {
        "metadata": {"name": "auto-inc-1", "namespace": "company-acme"},
        "spec": {"requestedBy": by},
        "status": status,
    }


def test_only_automatic_runs_that_failed_or_did_not_heal_count() -> None:
    at = datetime(2026, 12, 3, 11, 30, tzinfo=UTC)
    assert breaker.failed_at(body("Failed", "Failed"), seen=NOW) == at
    assert breaker.failed_at(body("Succeeded", "Ineffective"), seen=NOW) == at
    assert breaker.failed_at(body("TimedOut", None), seen=NOW) == at
    assert breaker.failed_at(body("Succeeded", "SelfHealed"), seen=NOW) is None
    assert breaker.failed_at(body("Running", None), seen=NOW) is None
    assert breaker.failed_at(body("Rejected", "Rejected"), seen=NOW) is None
    assert breaker.failed_at(body("Failed", "Failed", by="tina@msp.example"), seen=NOW) is None
    unstamped = body("Failed", "Failed")
    del unstamped["status"]["finishedAt"]
    assert breaker.failed_at(unstamped, seen=NOW) == NOW


def test_it_trips_at_the_threshold_within_the_window_and_names_the_runs() -> None:
    two = {"a": NOW - timedelta(minutes=50), "b": NOW - timedelta(minutes=10)}
    assert breaker.decide(SETTINGS, breaker.State(), two, resume=None, now=NOW).change is None
    old = {**two, "old": NOW - timedelta(minutes=61)}
    assert breaker.decide(SETTINGS, breaker.State(), old, resume=None, now=NOW).change is None
    three = {**two, "c": NOW}
    verdict = breaker.decide(SETTINGS, breaker.State(), three, resume=None, now=NOW)
    assert verdict.change == "paused"
    assert verdict.state.paused and verdict.state.paused_at == NOW
    assert verdict.state.failed_runs == ("a", "b", "c")
    assert "3 automatic runs failed or were ineffective within 1h" in verdict.state.message
    assert "(the limit is 3)" in verdict.state.message


def test_a_pause_stays_until_a_resume_request_and_failures_before_it_are_forgotten() -> None:
    failures = {n: NOW - timedelta(minutes=i) for i, n in enumerate("abc")}
    paused = breaker.decide(SETTINGS, breaker.State(), failures, resume=None, now=NOW).state
    later = NOW + timedelta(hours=5)
    assert breaker.decide(SETTINGS, paused, {}, resume=None, now=later).state == paused
    resumed = breaker.decide(SETTINGS, paused, failures, resume="r1", now=NOW)
    assert resumed.change == "resumed"
    assert not resumed.state.paused
    assert resumed.state.resumed == "r1" and resumed.state.resumed_at == NOW
    # The same failures again (still within the window) do not trip it again.
    again = breaker.decide(SETTINGS, resumed.state, failures, resume="r1", now=NOW)
    assert again.change is None and not again.state.paused
    # Three new ones do.
    news = {**failures, **{f"n{i}": NOW + timedelta(minutes=i + 1) for i in range(3)}}
    tripped = breaker.decide(
        SETTINGS, resumed.state, news, resume="r1", now=NOW + timedelta(minutes=5)
    )
    assert tripped.change == "paused"
    assert tripped.state.failed_runs == ("n0", "n1", "n2")
    assert tripped.state.resumed == "r1"


def test_a_resume_request_while_running_is_recorded_without_a_change() -> None:
    verdict = breaker.decide(SETTINGS, breaker.State(), {}, resume="r0", now=NOW)
    assert verdict.change is None
    assert verdict.state.resumed == "r0"


def test_disabled_it_never_trips() -> None:
    off = breaker.Settings(enabled=False)
    failures = {str(i): NOW for i in range(10)}
    assert breaker.decide(off, breaker.State(), failures, resume=None, now=NOW).change is None


def test_the_status_it_writes() -> None:
    state = breaker.State(paused=True, paused_at=NOW, message="m", failed_runs=("a",))
    assert state.to_status() == {
        "paused": True,
        "pausedAt": "2026-12-03T12:00:00Z",
        "message": "m",
        "failedRuns": ["a"],
        "resumed": None,
        "resumedAt": None,
    }


def run(requested_by: str) -> RunbookExecution:
    return RunbookExecution.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "RunbookExecution",
            "metadata": {"name": "auto-inc-1", "namespace": "company-acme"},
            "spec": {
                "runbookRef": {"name": "disk"},
                "targets": ["web-1"],
                "requestedBy": requested_by,
            },
        }
    )


def decide(r: RunbookExecution, *, paused: bool) -> approval.Decision:
    return approval.decide(
        r,
        risk="low",
        company="acme",
        auto_run_low_risk=True,
        medium_by_company_admin=True,
        approval_timeout=timedelta(hours=4),
        company_admins=set(),
        technicians=set(),
        created_at=NOW,
        now=NOW,
        authorized=None,
        paused=paused,
    )


def test_while_paused_an_automatic_run_waits_for_a_person_and_a_persons_request_does_not() -> None:
    held = decide(run(approval.AUTO_ACTOR), paused=True)
    assert held.phase == "AwaitingApproval" and held.reason == "AutoRemediationPaused"
    assert held.expires_at == NOW + timedelta(hours=4)
    assert decide(run(approval.AUTO_ACTOR), paused=False).reason == "AutoApproved"
    assert decide(run("tina@msp.example"), paused=True).reason == "AutoApproved"
