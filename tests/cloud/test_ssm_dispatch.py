"""SSM SendCommand against moto, as a company's assumed role: the right document, instance
ids, intent token and parameters (never pasted into the script); batches of 50; adoption by
the token after a crash; throttling, lost answers and unmanaged instances."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from typing import Any

import pytest
from support.moto import AwsDouble

from whisperer.operator.aws import (
    Aws,
    AwsSettings,
    CommandRequest,
    RoleCredentials,
    Ssm,
    batches,
    session_name,
)
from whisperer.operator.clock import ManualClock
from whisperer.operator.errors import (
    InvalidError,
    OutcomeUnknownError,
    ThrottledError,
    UndeliverableError,
)

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/whisperer-remediation"
SCRIPT = '#!/usr/bin/env bash\nset -euo pipefail\nprintf "restarting %s\\n" "$SERVICE"\n'


def instance(n: int) -> str:
    return f"i-{n:017x}"


def assumed(aws: Aws, run: str = "restart-nginx-7f3k2") -> RoleCredentials:
    return aws.assume_role(
        role_arn=ROLE,
        external_id="aw-acme-dental-3f9c2a7e5b",
        session=session_name("company-acme-dental", run),
    )


def request(
    token: str = "company-acme-dental/restart-nginx-7f3k2:1", **changes: Any
) -> CommandRequest:
    fields: dict[str, Any] = {
        "token": token,
        "instance_ids": (instance(1), instance(2)),
        "platform": "linux",
        "shell": "bash",
        "script": SCRIPT,
        "parameters": {"SERVICE": "nginx"},
        "execution_timeout": 120,
        "delivery_timeout": 300,
    }
    fields.update(changes)
    return CommandRequest(**fields)


def test_one_command_with_the_document_targets_token_and_parameters(
    aws: Aws, moto: AwsDouble
) -> None:
    ssm = Ssm(aws, region="eu-west-1", credentials=assumed(aws))
    [sent] = ssm.dispatch(request())

    # Sent as the company's role: in its account and the region asked for, nowhere else.
    [command] = moto.commands(account=ACCOUNT, region="eu-west-1")
    assert moto.commands(account="123456789012", region="eu-west-1") == []
    assert command["CommandId"] == sent.command_id
    assert not sent.adopted
    assert command["DocumentName"] == "AWS-RunShellScript"
    assert sorted(command["InstanceIds"]) == [instance(1), instance(2)]
    assert command["Comment"] == "company-acme-dental/restart-nginx-7f3k2:1 1/1"
    assert command["TimeoutSeconds"] == 300
    assert command["Parameters"]["executionTimeout"] == ["120"]
    text = "\n".join(command["Parameters"]["commands"])
    assert "nginx" not in text  # the value travels as base64, never as script text
    assert SCRIPT in text  # the runbook's own text, unchanged

    # What SSM would run, run here by sh: the parameter arrives as an environment variable.
    ran = subprocess.run(["sh", "-c", text], capture_output=True, text=True, check=True)
    assert ran.stdout == "restarting nginx\n"


def test_windows_runs_powershell_with_the_parameters_in_the_environment(
    aws: Aws, moto: AwsDouble
) -> None:
    ssm = Ssm(aws, region="us-east-1", credentials=assumed(aws))
    ssm.dispatch(
        request(
            platform="windows",
            shell="powershell",
            script="Restart-Service -Name $env:SERVICE",
            parameters={"SERVICE": "W3SVC"},
        )
    )

    [command] = moto.commands(account=ACCOUNT, region="us-east-1")
    assert command["DocumentName"] == "AWS-RunPowerShellScript"
    text = "\n".join(command["Parameters"]["commands"])
    assert "$env:SERVICE = [System.Text.Encoding]::UTF8.GetString(" in text
    assert "FromBase64String('VzNTVkM=')" in text
    assert text.endswith("Restart-Service -Name $env:SERVICE")


def test_120_instances_go_in_3_calls_of_at_most_50(aws: Aws, moto: AwsDouble) -> None:
    ids = tuple(instance(n) for n in range(120))
    ssm = Ssm(aws, region="us-east-1", credentials=assumed(aws))
    sent = ssm.dispatch(request(token="company-initech/patch-all:1", instance_ids=ids))

    assert len(moto.seen("ssm:SendCommand")) == 3
    commands = moto.commands(account=ACCOUNT, region="us-east-1")
    assert [len(c["InstanceIds"]) for c in commands] == [50, 50, 20]
    assert [c["Comment"] for c in commands] == [
        "company-initech/patch-all:1 1/3",
        "company-initech/patch-all:1 2/3",
        "company-initech/patch-all:1 3/3",
    ]
    assert sorted(i for c in commands for i in c["InstanceIds"]) == sorted(ids)
    assert [d.command_id for d in sent] == [c["CommandId"] for c in commands]


def test_a_restarted_operator_adopts_the_commands_by_token_and_sends_none_twice(
    aws: Aws, moto: AwsDouble, aws_settings: AwsSettings, clock: ManualClock
) -> None:
    ids = tuple(instance(n) for n in range(120))
    wanted = request(
        token="company-initech/patch-all:1",
        instance_ids=ids,
        invoked_after=clock.now() - timedelta(minutes=1),
    )
    # The first operator sent batch 1 of 3, then died before recording it.
    first = Ssm(aws, region="us-east-1", credentials=assumed(aws))
    sent_before_crash = first.send(wanted, batches(wanted)[0])

    # A new operator process (new clients, new credentials) dispatches the same intent.
    restarted = Aws(aws_settings, clock=clock)
    ssm = Ssm(restarted, region="us-east-1", credentials=assumed(restarted))
    done = ssm.dispatch(wanted)

    assert [d.adopted for d in done] == [True, False, False]
    assert done[0].command_id == sent_before_crash
    assert len(moto.commands(account=ACCOUNT, region="us-east-1")) == 3

    # And once more (a crash after the last send): everything is found, nothing is sent.
    again = Ssm(restarted, region="us-east-1", credentials=assumed(restarted)).dispatch(wanted)
    assert all(d.adopted for d in again)
    assert [d.command_id for d in again] == [d.command_id for d in done]
    assert len(moto.commands(account=ACCOUNT, region="us-east-1")) == 3
    assert len(moto.seen("ssm:SendCommand")) == 3


def test_another_runs_command_on_the_same_instance_is_not_adopted(
    aws: Aws, moto: AwsDouble
) -> None:
    ssm = Ssm(aws, region="us-east-1", credentials=assumed(aws))
    ssm.dispatch(request(token="company-acme-dental/other-run:1"))
    [mine] = ssm.dispatch(request(token="company-acme-dental/restart-nginx-7f3k2:1"))

    assert not mine.adopted
    assert len(moto.commands(account=ACCOUNT, region="us-east-1")) == 2


@pytest.mark.parametrize("code", ["ThrottlingException", "TooManyUpdates", "RequestLimitExceeded"])
def test_throttled_sends_are_temporary_and_send_nothing(
    aws: Aws, moto: AwsDouble, code: str
) -> None:
    ssm = Ssm(aws, region="us-east-1", credentials=assumed(aws))
    moto.fail("ssm:SendCommand", code)

    with pytest.raises(ThrottledError) as throttled:
        ssm.dispatch(request())
    assert throttled.value.delay == 2.0
    assert moto.commands(account=ACCOUNT, region="us-east-1") == []
    assert len(moto.seen("ssm:SendCommand")) == 1  # botocore did not retry on its own

    [sent] = ssm.dispatch(request())  # later: sent once
    assert not sent.adopted
    assert len(moto.commands(account=ACCOUNT, region="us-east-1")) == 1


def test_an_answer_lost_after_sending_is_outcome_unknown_and_the_next_try_adopts(
    aws: Aws, moto: AwsDouble
) -> None:
    ssm = Ssm(aws, region="us-east-1", credentials=assumed(aws))
    moto.fail("ssm:SendCommand", "InternalServerError", status=500, after=True)

    with pytest.raises(OutcomeUnknownError):
        ssm.dispatch(request())
    assert len(moto.commands(account=ACCOUNT, region="us-east-1")) == 1  # it did reach SSM

    [found] = ssm.dispatch(request())
    assert found.adopted
    assert len(moto.commands(account=ACCOUNT, region="us-east-1")) == 1


def test_a_read_timeout_after_sending_is_outcome_unknown(
    moto: AwsDouble, clock: ManualClock
) -> None:
    aws = Aws(AwsSettings(read_attempts=1, read_timeout=0.5), clock=clock)
    ssm = Ssm(aws, region="us-east-1", credentials=assumed(aws))
    moto.fail("ssm:SendCommand", "InternalServerError", status=500, after=True, delay=1.5)

    with pytest.raises(OutcomeUnknownError, match="no answer after sending"):
        ssm.dispatch(request())
    assert len(moto.seen("ssm:SendCommand")) == 1
    [found] = ssm.dispatch(request())
    assert found.adopted
    assert len(moto.commands(account=ACCOUNT, region="us-east-1")) == 1


def test_unmanaged_instances_are_undeliverable(aws: Aws, moto: AwsDouble) -> None:
    ssm = Ssm(aws, region="us-east-1", credentials=assumed(aws))
    moto.fail(
        "ssm:SendCommand",
        "InvalidInstanceId",
        message="Instances [[i-00000000000000001]] not in a valid state for account 111122223333",
    )

    with pytest.raises(UndeliverableError) as undeliverable:
        ssm.dispatch(request())
    assert undeliverable.value.targets == (instance(1), instance(2))
    assert moto.commands(account=ACCOUNT, region="us-east-1") == []


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"token": "has spaces"}, "intent token"),
        ({"instance_ids": ()}, "at least one"),
        ({"instance_ids": ("web-01",)}, "instance ids"),
        ({"instance_ids": (instance(1), instance(1))}, "twice"),
        ({"shell": "powershell"}, "windows runs powershell"),
        ({"parameters": {"BASH_ENV": "/tmp/x"}}, "reserved"),
        ({"parameters": {"lower": "x"}}, "UPPER_SNAKE"),
    ],
)
def test_bad_requests_are_refused_before_anything_is_sent(
    aws: Aws, moto: AwsDouble, changes: dict[str, Any], why: str
) -> None:
    ssm = Ssm(aws, region="us-east-1", credentials=None)
    with pytest.raises(InvalidError, match=why):
        ssm.dispatch(request(**changes))
    assert moto.seen("ssm:SendCommand") == []
