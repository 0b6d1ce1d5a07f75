"""GetCommandInvocation against moto: every SSM status (with the StatusDetails that tell a
delivery timeout from an execution timeout) maps onto one small result; output is bounded;
throttled polls are temporary. moto reports every invocation as Success, so the fault proxy
rewrites its answer for the instances a test scripts (tests/support/moto.py)."""

from __future__ import annotations

import pytest
from support.moto import AwsDouble, Invocation

from whisperer.operator.aws import (
    Aws,
    CommandRequest,
    InvocationState,
    Outcome,
    Ssm,
    state_of,
)
from whisperer.operator.errors import NotFoundError, ThrottledError

TARGET = "i-0a1b2c3d4e5f60718"
OTHER = "i-0a1b2c3d4e5f60719"


def sent(aws: Aws) -> tuple[Ssm, str]:
    ssm = Ssm(aws, region="us-east-1", credentials=None)
    [command] = ssm.dispatch(
        CommandRequest(
            token="company-acme-dental/free-disk-space-91x:1",
            instance_ids=(TARGET, OTHER),
            platform="linux",
            shell="bash",
            script="df -h /",
        )
    )
    return ssm, command.command_id


# (Status, StatusDetails) as SSM reports them -> (state, outcome); None: still going.
TABLE = [
    ("Pending", "Pending", InvocationState.PENDING, None),
    ("InProgress", "In Progress", InvocationState.IN_PROGRESS, None),
    ("Delayed", "Delayed", InvocationState.DELAYED, None),
    ("Cancelling", "Cancelling", InvocationState.CANCELLING, None),
    ("Success", "Success", InvocationState.SUCCESS, Outcome.SUCCEEDED),
    ("Failed", "Failed", InvocationState.FAILED, Outcome.FAILED),
    ("TimedOut", "Delivery Timed Out", InvocationState.DELIVERY_TIMED_OUT, Outcome.NOT_RUN),
    (
        "TimedOut",
        "Execution Timed Out",
        InvocationState.EXECUTION_TIMED_OUT,
        Outcome.RESULT_UNKNOWN,
    ),
    ("TimedOut", "", InvocationState.EXECUTION_TIMED_OUT, Outcome.RESULT_UNKNOWN),
    ("Cancelled", "Cancelled", InvocationState.CANCELLED, Outcome.CANCELLED),
    ("Failed", "Undeliverable", InvocationState.UNDELIVERABLE, Outcome.NOT_RUN),
    ("Failed", "Terminated", InvocationState.TERMINATED, Outcome.NOT_RUN),
    ("SomethingNew", "Something New", InvocationState.UNKNOWN, None),
]


@pytest.mark.parametrize(("status", "details", "state", "outcome"), TABLE)
def test_every_ssm_status_maps_onto_one_result(
    aws: Aws,
    moto: AwsDouble,
    status: str,
    details: str,
    state: InvocationState,
    outcome: Outcome | None,
) -> None:
    ssm, command_id = sent(aws)
    code = {"Success": 0, "Failed": 2}.get(status, -1)
    moto.script(TARGET, Invocation(status, details, exit_code=code, stdout="out", stderr="err"))

    got = ssm.invocation(command_id, TARGET)

    assert got.state is state
    assert got.outcome is outcome
    assert got.terminal is (outcome is not None)
    assert (got.status, got.status_details) == (status, details)
    assert got.exit_code == (code if code >= 0 else None)
    assert (got.stdout, got.stderr) == ("out", "err")


def test_an_execution_timeout_is_a_result_unknown_that_is_never_resent(
    aws: Aws, moto: AwsDouble
) -> None:
    ssm, command_id = sent(aws)
    moto.script(TARGET, Invocation("TimedOut", "Execution Timed Out", stdout="half done"))
    moto.script(OTHER, Invocation("TimedOut", "Delivery Timed Out"))

    unknown = ssm.invocation(command_id, TARGET)
    not_run = ssm.invocation(command_id, OTHER)

    assert unknown.outcome is Outcome.RESULT_UNKNOWN
    assert unknown.stdout == "half done"
    assert not_run.outcome is Outcome.NOT_RUN  # never started: safe to send again


def test_moto_itself_reports_success(aws: Aws, moto: AwsDouble) -> None:
    ssm, command_id = sent(aws)

    got = ssm.invocation(command_id, OTHER)

    assert got.state is InvocationState.SUCCESS
    assert got.exit_code == 0


def test_polls_follow_the_invocation_until_it_ends(aws: Aws, moto: AwsDouble) -> None:
    ssm, command_id = sent(aws)
    moto.script(
        TARGET,
        Invocation("Pending", "Pending"),
        Invocation("InProgress", "In Progress"),
        Invocation("Success", "Success", exit_code=0, stdout="freed 2.1G\n"),
    )

    states = [ssm.invocation(command_id, TARGET).state for _ in range(4)]

    assert states == [
        InvocationState.PENDING,
        InvocationState.IN_PROGRESS,
        InvocationState.SUCCESS,
        InvocationState.SUCCESS,
    ]
    assert len(moto.seen("ssm:GetCommandInvocation")) == 4


def test_only_the_tail_of_the_output_is_kept(aws: Aws, moto: AwsDouble) -> None:
    ssm, command_id = sent(aws)
    stdout = "".join(f"line {n}\n" for n in range(5000))
    moto.script(
        TARGET, Invocation("Failed", "Failed", exit_code=1, stdout=stdout, stderr="x" * 9000)
    )

    got = ssm.invocation(command_id, TARGET)

    assert len(got.stdout) == 2000
    assert got.stdout == stdout[-2000:]
    assert got.stdout.endswith("line 4999\n")
    assert len(got.stderr) == 2000


def test_an_invocation_ssm_has_not_registered_yet_is_pending(aws: Aws, moto: AwsDouble) -> None:
    ssm, command_id = sent(aws)

    got = ssm.invocation(command_id, "i-0fffffffffffffff0")

    assert got.state is InvocationState.PENDING
    assert got.status_details == "InvocationDoesNotExist"
    assert not got.terminal


def test_an_unknown_command_is_not_found(aws: Aws, moto: AwsDouble) -> None:
    ssm, _ = sent(aws)
    with pytest.raises(NotFoundError):
        ssm.invocation("3f2a9c1e-0000-4000-8000-000000000000", TARGET)


def test_a_throttled_poll_is_temporary(aws: Aws, moto: AwsDouble) -> None:
    ssm, command_id = sent(aws)
    moto.fail("ssm:GetCommandInvocation", "ThrottlingException", message="Rate exceeded")

    with pytest.raises(ThrottledError) as throttled:
        ssm.invocation(command_id, TARGET)
    assert throttled.value.delay == 2.0
    assert ssm.invocation(command_id, TARGET).state is InvocationState.SUCCESS


def test_status_details_spelled_either_way_map_the_same() -> None:
    assert state_of("Cancelled", "Canceled") is InvocationState.CANCELLED
    assert state_of("InProgress", "InProgress") is InvocationState.IN_PROGRESS
    assert state_of("TimedOut", "DeliveryTimedOut") is InvocationState.DELIVERY_TIMED_OUT
    assert state_of("Failed", "") is InvocationState.FAILED
