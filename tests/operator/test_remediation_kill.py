"""Exactly once, proven by killing the operator: it runs as its own process
(`whisperer-operator`, its own ServiceAccount) against the real API server and moto. A test
hook (WHISPERER_TEST_CRASH_AT) makes it exit at once between "intent recorded" and "sent",
or between "sent" and "command id recorded"; a plain SIGKILL stops it while it polls. A new
operator finishes the run, and moto holds exactly one command for it."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.alerts import operator_kubeconfig
from support.arm_stub import ArmStub, arm_stub
from support.cluster import Cluster, wait_for
from support.moto import AwsDouble, Invocation, aws_double
from support.operator import activations, operator_process, process_active
from support.remediation import (
    ACCOUNT,
    INSTANCE,
    REGION,
    cloud_environment,
    company,
    custom,
    request_run,
    run_status,
    runbook,
)

from whisperer.operator.kube import KubeClient


@pytest.fixture(scope="module")
def doubles(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[AwsDouble, ArmStub, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("kill")
    with aws_double(tmp) as aws, arm_stub(tmp) as arm, pytest.MonkeyPatch.context() as mp:
        cloud_environment(mp, aws_url=aws.url, arm=arm, tmp=str(tmp))
        yield aws, arm, dict(os.environ)


def operator(
    kubeconfig: Path, log: Path, env: dict[str, str], **extra: str
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    """The operator process with the clouds' environment (and a test hook in `extra`)."""
    return operator_process(kubeconfig, log, env={**env, **extra})


def ours(aws: AwsDouble, token: str) -> list[dict[str, Any]]:
    return [
        c for c in aws.commands(account=ACCOUNT, region=REGION) if c["Comment"].startswith(token)
    ]


@pytest.mark.parametrize("point", ["intent-recorded", "sent", "polling"])
def test_a_run_killed_at_each_step_boundary_sends_exactly_one_command(
    cluster: Cluster,
    admin: KubeClient,
    tmp_path: Path,
    doubles: tuple[AwsDouble, ArmStub, dict[str, str]],
    point: str,
) -> None:
    aws, _, env = doubles
    aws.reset()
    log = tmp_path / "operator.log"
    kubeconfig = operator_kubeconfig(cluster)
    hook = {} if point == "polling" else {"WHISPERER_TEST_CRASH_AT": point}
    if point == "polling":  # the command stays in progress until the first operator is dead
        aws.script(INSTANCE, Invocation("InProgress", "InProgress"))
    with (
        operator(kubeconfig, log, env, **hook) as first,
        company(admin, "kill", remediation={"autoRunLowRisk": True}) as name,
    ):
        ns = f"company-{name}"
        runbook(admin, ns, "restart", signals=[])
        wait_for(
            lambda: (admin.get("runbooks", "restart", ns).get("status") or {}).get("conditions"),
            timeout=30,
            what="the operator to see the runbook",
        )
        request_run(admin, ns, "fix-k", runbook_name="restart", requested_by="tina@msp.example")
        if point == "polling":
            wait_for(lambda: run_status(admin, ns, "fix-k").get("polls"), timeout=60, what="a poll")
            first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=60) in (137, -9), log.read_text()[-3000:]
        before = run_status(admin, ns, "fix-k")
        token = before["intent"]["token"]
        expected = {
            "intent-recorded": ("Dispatching", 0),
            "sent": ("Dispatching", 1),
            "polling": ("Running", 1),
        }[point]
        assert (before["phase"], len(ours(aws, token))) == expected, before
        assert before.get("commandId") is None or point == "polling"
        aws.script(INSTANCE, Invocation("Success", "Success", 0))
        with operator(kubeconfig, log, env):
            end = wait_for(
                lambda: (
                    (s := run_status(admin, ns, "fix-k")).get("phase") in ("Succeeded", "Failed")
                    and s
                ),
                timeout=90,
                what="the run finished by the second operator",
            )
        assert end["phase"] == "Succeeded", (end, log.read_text()[-3000:])
        [command] = ours(aws, token)
        assert end["commandId"] == command["CommandId"]
        assert len(aws.commands(account=ACCOUNT, region=REGION)) == 1


def test_a_kill_loop_over_many_runs_ends_every_run_with_one_command_each(
    cluster: Cluster,
    admin: KubeClient,
    tmp_path: Path,
    doubles: tuple[AwsDouble, ArmStub, dict[str, str]],
) -> None:
    """SIGKILL the operator 0.3-2.5 s after it became active (2-8 s once every run is
    asked for), again and again, while 50 runs go through their steps (each on its own
    asset, with an in-progress poll first; a batch of them requested after each start, at
    most 20 of the company's running at once), restarting it each time, until every run
    is terminal: moto's commands equal the runs."""
    runs = 50
    aws, _, env = doubles
    env = {**env, "WHISPERER_REMEDIATION_RUNS_PER_COMPANY": "20"}
    aws.reset()
    log = tmp_path / "operator.log"
    kubeconfig = operator_kubeconfig(cluster)
    rng = random.Random(11)
    assets = [
        {
            "name": f"web{i:02d}",
            "platform": "linux",
            "cloud": "aws",
            "instanceId": f"i-{i + 0x100:017x}",
            "region": REGION,
        }
        for i in range(runs)
    ]
    for a in assets:
        aws.script(
            a["instanceId"],
            Invocation("InProgress", "InProgress"),
            Invocation("Success", "Success", 0),
        )
    with (
        operator(kubeconfig, log, env) as first,
        company(admin, "loop", remediation={"autoRunLowRisk": True}) as name,
    ):
        ns = f"company-{name}"
        custom(admin).patch_cluster_custom_object(
            "alertwhisperer.io", "v1alpha1", "companies", name, {"spec": {"assets": assets}}
        )
        runbook(admin, ns, "restart", signals=[])
        wait_for(
            lambda: (admin.get("runbooks", "restart", ns).get("status") or {}).get("conditions"),
            timeout=30,
            what="the operator to see the runbook",
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        created = 0
        kills = 0

        def terminal() -> list[str]:
            return [
                s.get("phase", "")
                for i in range(created)
                if (s := run_status(admin, ns, f"loop-{i:02d}")).get("phase")
                in ("Succeeded", "Failed", "Cancelled")
            ]

        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            seen = activations(log)
            with operator(kubeconfig, log, env) as proc:
                # Each start lists every incident and alert in the cluster (the whole suite's,
                # when it runs last): on a loaded machine that takes a while.
                process_active(proc, log, seen=seen)
                for _ in range(min(rng.randint(4, 12), runs - created)):
                    request_run(
                        admin,
                        ns,
                        f"loop-{created:02d}",
                        runbook_name="restart",
                        requested_by="tina@msp.example",
                        target=f"web{created:02d}",
                    )
                    created += 1
                # Once every run is asked for, longer lives let the last ones finish.
                time.sleep(rng.uniform(0.3, 2.5) if created < runs else rng.uniform(2, 8))
                if created == runs and len(terminal()) == runs:
                    break
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                kills += 1
        phases = terminal()
        assert len(phases) == runs, (phases, log.read_text()[-3000:])
        assert set(phases) == {"Succeeded"}, phases
        assert kills >= 5
        print(f"{runs} runs, {kills} kills")
        assert len(aws.commands(account=ACCOUNT, region=REGION)) == runs
