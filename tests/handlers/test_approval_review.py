"""The remediator's access review of a run's approver, with our async client faked: asked
with the approval's groups on the run's risk and namespace, once per approval (a second look
reuses the verdict, a different approval or risk asks again), and an error asking is
temporary, never a refusal. The rest of the path runs on the real API server in
tests/operator/test_remediation.py and test_approval_revoked.py."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest

from whisperer.operator.errors import ForbiddenError, TemporaryError, UnavailableError
from whisperer.operator.handlers.breaker import Breaker
from whisperer.operator.handlers.clouds import Clouds
from whisperer.operator.handlers.runsteps import RunSteps
from whisperer.operator.kube.client import AccessReview
from whisperer.operator.models.v1alpha1 import RunbookExecution
from whisperer.operator.runtime import Runtime

KEY = ("company-acme", "run-1")
UID = "5e1f6a52-0000-4000-8000-000000000001"


class FakeKube:
    """`may`, answering from a script (an AccessReview, or an error to raise)."""

    def __init__(self, *answers: AccessReview | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[Any, ...]] = []

    async def may(
        self,
        user: str,
        groups: list[str] | None,
        verb: str,
        resource: str,
        namespace: str | None = None,
        name: str | None = None,
    ) -> AccessReview:
        self.asked.append((user, groups, verb, resource, namespace, name))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def steps(kube: FakeKube) -> RunSteps:
    runtime = cast(Runtime, SimpleNamespace(akube=kube))
    # The breaker is not asked here: it sees runs and says no company is paused.
    breaker = cast(Breaker, SimpleNamespace(observe=lambda body: None, paused=lambda name: False))
    return RunSteps(runtime, cast(Clouds, None), schedule=lambda key, at: None, breaker=breaker)


def run(by: str = "boss@msp.example", groups: list[str] | None = None) -> RunbookExecution:
    approval: dict[str, Any] = {"decision": "Approved", "by": by, "at": "2026-01-01T11:58:00Z"}
    if groups is not None:
        approval["groups"] = groups
    return RunbookExecution.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "RunbookExecution",
            "metadata": {"name": KEY[1], "namespace": KEY[0]},
            "spec": {
                "runbookRef": {"name": "rebuild"},
                "targets": ["web-1"],
                "requestedBy": "tina@msp.example",
                "approval": approval,
            },
        }
    )


def test_asked_with_the_approvals_groups_once_per_approval() -> None:
    kube = FakeKube(AccessReview(True, "allowed by a binding"), AccessReview(False))
    s = steps(kube)
    groups = ["alertwhisperer.io:msp-admins", "system:authenticated"]
    first = asyncio.run(s._review(KEY, UID, run(groups=groups), "high"))
    again = asyncio.run(s._review(KEY, UID, run(groups=groups), "high"))
    assert first == again == AccessReview(True, "allowed by a binding")
    assert kube.asked == [
        ("boss@msp.example", groups, "approve", "risklevels", "company-acme", "high"),
    ]
    # Another approval (here: no groups) is another question.
    assert asyncio.run(s._review(KEY, UID, run(), "high")) == AccessReview(False)
    assert kube.asked[1] == (
        "boss@msp.example",
        None,
        "approve",
        "risklevels",
        "company-acme",
        "high",
    )
    # So is the same approval on a run of the same name made anew.
    kube.answers.append(AccessReview(True))
    asyncio.run(s._review(KEY, "another-uid", run(), "high"))
    assert len(kube.asked) == 3


@pytest.mark.parametrize(
    "error",
    [UnavailableError("the API server did not answer"), ForbiddenError("cannot create")],
)
def test_an_error_asking_is_temporary_and_the_next_look_asks_again(error: Exception) -> None:
    kube = FakeKube(error, AccessReview(True))
    s = steps(kube)
    with pytest.raises(TemporaryError) as info:
        asyncio.run(s._review(KEY, UID, run(), "medium"))
    if isinstance(error, ForbiddenError):  # our own permission missing: wait, do not refuse
        assert str(info.value) == (
            "asking RBAC whether boss@msp.example may approve a medium-risk run: cannot create"
        )
        assert info.value.delay == 15
    else:
        assert info.value is error
    assert asyncio.run(s._review(KEY, UID, run(), "medium")) == AccessReview(True)
    assert len(kube.asked) == 2


def test_a_run_past_its_approval_forgets_the_verdict() -> None:
    kube = FakeKube(AccessReview(True), AccessReview(True))
    s = steps(kube)
    asyncio.run(s._review(KEY, UID, run(), "high"))
    s.track({"metadata": {"namespace": KEY[0], "name": KEY[1]}, "status": {"phase": "Running"}})
    asyncio.run(s._review(KEY, UID, run(), "high"))
    assert len(kube.asked) == 2
