"""Runbook executions end to end: the real operator (on a ManualClock) on the real API
server, its production AWS wrapper against moto's server (SSM, STS) and its Azure wrapper
against the ARM stub over HTTPS; approvals given by the real identities through the admission
policies. Each test counts the commands moto (or the stub) holds."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client
from support.alerts import operator_kubeconfig
from support.arm_stub import CLIENT_ID, CLIENT_SECRET, TENANT, ArmStub, arm_stub
from support.arm_stub import Outcome as ArmOutcome
from support.cluster import Cluster, wait_for
from support.incidents import fire, incident_for, z
from support.moto import AwsDouble, Invocation, aws_double
from support.operator import run_operator
from support.remediation import (
    ACCOUNT,
    INSTANCE,
    REGION,
    SUBSCRIPTION,
    approve,
    cloud_environment,
    company,
    custom,
    phase_is,
    request_run,
    run_status,
    runbook,
    ticking,
)
from support.tenancy import COMPANY_ADMIN, MSP_ADMIN, policies_in_force

from whisperer.operator.clock import ManualClock
from whisperer.operator.kube import KubeClient
from whisperer.operator.services.tenancy import RESUME_ANNOTATION

GROUP, VERSION = "alertwhisperer.io", "v1alpha1"


class World:
    def __init__(
        self, aws: AwsDouble, arm: ArmStub, clock: ManualClock, clients: dict[str, KubeClient]
    ) -> None:
        self.aws, self.arm, self.clock, self.clients = aws, arm, clock, clients


@pytest.fixture(scope="module")
def world(
    cluster: Cluster, admin: KubeClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    if cluster.kubeconfig_dir is None:
        pytest.skip("the approval tests need the identities of hack/cluster")
    clients = {
        i: KubeClient.from_kubeconfig(str(cluster.identity(i)))
        for i in ("msp-admin", "company-admin", "technician")
    }
    tmp = tmp_path_factory.mktemp("remediation")
    with aws_double(tmp) as aws, arm_stub(tmp) as arm, pytest.MonkeyPatch.context() as mp:
        cloud_environment(mp, aws_url=aws.url, arm=arm, tmp=str(tmp))
        policies_in_force(clients, admin)
        clock = ManualClock(datetime.now(UTC))
        with run_operator(operator_kubeconfig(cluster), clock=clock):
            yield World(aws, arm, clock, clients)
    for c in clients.values():
        c.close()


@pytest.fixture
def w(world: World) -> World:
    world.aws.reset()
    # The operator keeps the bearer tokens it got (as it would from Entra ID): keep them valid.
    tokens = set(world.arm.tokens)
    world.arm.reset()
    world.arm.tokens |= tokens
    world.arm.principal(TENANT, CLIENT_ID, CLIENT_SECRET)
    return world


def commands(w: World) -> list[dict[str, Any]]:
    return w.aws.commands(account=ACCOUNT, region=REGION)


def test_a_low_risk_alert_is_fixed_by_an_automatic_run_and_the_incident_self_heals(
    w: World, admin: KubeClient
) -> None:
    with company(admin, "heal", remediation={"autoRunLowRisk": True}) as name:
        ns = f"company-{name}"
        runbook(admin, ns, f"{name}-fix")
        alert = fire(admin, name, at=w.clock.now(), asset="web01")
        incident = incident_for(admin, name, alert)
        run = f"auto-{incident}"
        verifying = ticking(
            w.clock,
            phase_is(admin, ns, run, "Verifying", "Succeeded", "Failed"),
            what="the automatic run to succeed",
        )
        assert verifying["phase"] == "Verifying", verifying
        body = admin.get("runbookexecutions", run, ns)
        assert body["spec"]["requestedBy"] == "operator:auto-remediation"
        assert body["spec"]["incidentRef"] == {"name": incident}
        [command] = commands(w)
        assert command["DocumentName"] == "AWS-RunShellScript"
        assert command["InstanceIds"] == [INSTANCE]
        assert command["Comment"] == f"{verifying['intent']['token']} 1/1"
        script = "\n".join(command["Parameters"]["commands"])
        assert "fixing $SERVICE" in script and "bmdpbng=" in script  # nginx, base64
        assert (
            verifying["intent"]["attempt"] == 1 and verifying["results"][0]["status"] == "Success"
        )
        roles = w.aws.assumed_roles()
        assert [r["role_arn"] for r in roles][-1].endswith("role/whisperer-remediation")
        # The alert resolves within the verify window: the run healed the incident.
        at = z(w.clock.now())
        custom(admin).patch_namespaced_custom_object(
            GROUP,
            VERSION,
            ns,
            "alerts",
            alert,
            {"spec": {"state": "resolved", "resolvedAt": at, "lastSeen": at}},
        )
        done = ticking(w.clock, phase_is(admin, ns, run, "Succeeded"), what="the run verified")
        assert done["outcome"] == "SelfHealed"

        def reported() -> Any:
            st = admin.get("incidents", incident, ns).get("status") or {}
            runs = st.get("runs") or []
            return st if runs and runs[0].get("outcome") == "SelfHealed" else None

        st = wait_for(reported, timeout=30, what="the incident's run summary")
        [summary] = st["runs"]
        assert summary["name"] == run and summary["phase"] == "Succeeded"
        assert summary["requestedBy"] == "operator:auto-remediation"
        assert summary["runbook"] == f"{ns}/{name}-fix" and summary["finishedAt"]
        types = [e["type"] for e in st["timeline"]]
        assert "RemediationStarted" in types and "SelfHealed" in types
        # One run per incident, one command per run.
        assert (
            len(
                custom(admin).list_namespaced_custom_object(
                    GROUP, VERSION, ns, "runbookexecutions"
                )["items"]
            )
            == 1
        )
        assert len(commands(w)) == 1


def _await_binding(admin: KubeClient, ns: str) -> None:
    rbac = client.RbacAuthorizationV1Api(admin.api_client)

    def bound() -> bool:
        try:
            rbac.read_namespaced_role_binding("whisperer-company-admins", ns)
        except client.ApiException:
            return False
        return True

    wait_for(bound, timeout=30, what="the company admins' RoleBinding")


@pytest.mark.parametrize("allowed", [True, False])
def test_a_medium_risk_run_waits_for_a_company_admin_only_where_the_company_allows(
    w: World, admin: KubeClient, allowed: bool
) -> None:
    flags = {"allowMediumRiskByCompanyAdmin": allowed}
    with company(admin, "med", remediation=flags, admins=[COMPANY_ADMIN]) as name:
        ns = f"company-{name}"
        _await_binding(admin, ns)
        runbook(admin, ns, "restart", risk="medium", signals=[])
        request_run(
            w.clients["msp-admin"], ns, "fix-1", runbook_name="restart", requested_by=MSP_ADMIN
        )
        waiting = ticking(
            None,
            phase_is(admin, ns, "fix-1", "AwaitingApproval"),
            what="the run to wait for approval",
        )
        assert waiting["risk"] == "medium" and commands(w) == []
        approve(w.clients["company-admin"], ns, "fix-1", by=COMPANY_ADMIN)
        end = ticking(
            w.clock,
            phase_is(admin, ns, "fix-1", "Succeeded", "Rejected", "Failed"),
            what="the decision carried out",
        )
        if allowed:
            assert end["phase"] == "Succeeded", end
            assert len(commands(w)) == 1
        else:
            assert (end["phase"], end["reason"]) == ("Rejected", "ApproverNotAllowed"), end
            assert "company does not allow" in end["conditions"][0]["message"]
            assert commands(w) == []


def test_nobody_approves_their_own_request_and_high_risk_needs_an_msp_admin(
    w: World, admin: KubeClient
) -> None:
    with company(admin, "high", admins=[COMPANY_ADMIN]) as name:
        ns = f"company-{name}"
        _await_binding(admin, ns)
        runbook(admin, ns, "rebuild", risk="high", signals=[])
        request_run(
            w.clients["msp-admin"], ns, "fix-2", runbook_name="rebuild", requested_by=MSP_ADMIN
        )
        ticking(None, phase_is(admin, ns, "fix-2", "AwaitingApproval"), what="waiting")
        with pytest.raises(client.ApiException) as own:
            approve(w.clients["msp-admin"], ns, "fix-2", by=MSP_ADMIN)
        assert own.value.status == 422 and "nobody approves their own request" in own.value.body
        with pytest.raises(client.ApiException) as refused:
            approve(w.clients["company-admin"], ns, "fix-2", by=COMPANY_ADMIN)
        assert refused.value.status == 403, refused.value.body
        assert run_status(admin, ns, "fix-2")["phase"] == "AwaitingApproval"
        assert commands(w) == []
        # Another MSP admin's approval (the cluster admin stands in for one, with the groups
        # it holds everything through) carries it out.
        approve(admin, ns, "fix-2", by="whisperer:admin", groups=admin.whoami()["groups"])
        end = ticking(
            w.clock,
            phase_is(admin, ns, "fix-2", "Succeeded", "Failed", "Rejected"),
            what="the high-risk run",
        )
        assert end["phase"] == "Succeeded", end
        assert len(commands(w)) == 1


def test_an_msp_admin_through_a_group_is_one_for_the_operator_only_with_the_groups_recorded(
    w: World, admin: KubeClient
) -> None:
    """morgan holds `approve` on high risk only through the MSP admins' group. With the
    groups recorded in the approval (as kubectl whisper does) the operator's access review
    agrees and the run is carried out; groups that are not his are refused at admission;
    approved with no groups (a raw kubectl patch: admission lets it through, its authorizer
    sees the request's groups) the operator asks RBAC about the user alone, and refuses."""
    msp = w.clients["msp-admin"]
    groups = msp.whoami()["groups"]
    assert "alertwhisperer.io:msp-admins" in groups
    with company(admin, "grp", admins=[COMPANY_ADMIN]) as name:
        ns = f"company-{name}"
        runbook(admin, ns, "rebuild", risk="high", signals=[])
        for run in ("fix-g1", "fix-g2"):
            request_run(admin, ns, run, runbook_name="rebuild", requested_by="tina@msp.example")
            ticking(None, phase_is(admin, ns, run, "AwaitingApproval"), what=f"{run} waiting")
        with pytest.raises(client.ApiException) as claimed:
            approve(msp, ns, "fix-g1", by=MSP_ADMIN, groups=[*groups, "system:masters"])
        assert claimed.value.status == 403, claimed.value.body
        assert (
            f"approval.groups must be the groups of the approving user {MSP_ADMIN}"
            in claimed.value.body
        )
        with pytest.raises(client.ApiException) as fewer:
            approve(msp, ns, "fix-g1", by=MSP_ADMIN, groups=["system:authenticated"])
        assert fewer.value.status == 403 and "approval.groups must be" in fewer.value.body
        assert run_status(admin, ns, "fix-g1")["phase"] == "AwaitingApproval"

        approve(msp, ns, "fix-g1", by=MSP_ADMIN, groups=list(reversed(groups)))
        end = ticking(
            w.clock,
            phase_is(admin, ns, "fix-g1", "Succeeded", "Failed", "Rejected"),
            what="the run approved with its groups",
        )
        assert end["phase"] == "Succeeded", end
        assert len(commands(w)) == 1

        approve(msp, ns, "fix-g2", by=MSP_ADMIN)  # no groups: past admission all the same
        refused = ticking(
            w.clock,
            phase_is(admin, ns, "fix-g2", "Succeeded", "Failed", "Rejected"),
            what="the run approved without groups",
        )
        assert (refused["phase"], refused["reason"]) == ("Rejected", "ApproverNotAllowed")
        message = refused["conditions"][0]["message"]
        assert f"RBAC does not let {MSP_ADMIN} approve a high-risk run in {ns}" in message
        assert len(commands(w)) == 1


def test_an_approval_not_given_within_the_company_timeout_expires_the_run(
    w: World, admin: KubeClient
) -> None:
    with company(admin, "exp", remediation={"approvalTimeout": "30m"}) as name:
        ns = f"company-{name}"
        runbook(admin, ns, "restart", risk="medium", signals=[])
        request_run(admin, ns, "fix-3", runbook_name="restart", requested_by="tina@msp.example")
        ticking(None, phase_is(admin, ns, "fix-3", "AwaitingApproval"), what="waiting")
        w.clock.advance(timedelta(minutes=29))
        ticking(
            None,
            lambda: run_status(admin, ns, "fix-3").get("phase") == "AwaitingApproval",
            what="still waiting",
            timeout=2,
        )
        w.clock.advance(timedelta(minutes=2))
        end = ticking(None, phase_is(admin, ns, "fix-3", "Expired"), what="the run to expire")
        assert (end["reason"], end["outcome"]) == ("ApprovalExpired", "Expired")
        assert commands(w) == []


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        (
            [Invocation("InProgress", "InProgress"), Invocation("Failed", "Failed", 3)],
            "CommandFailed",
        ),
        ([Invocation("TimedOut", "ExecutionTimedOut")], "ResultUnknown"),
        ([Invocation("Failed", "Undeliverable")], "Undeliverable"),
    ],
)
def test_an_ssm_status_that_is_not_success_fails_the_run_without_sending_again(
    w: World, admin: KubeClient, steps: list[Invocation], reason: str
) -> None:
    with company(admin, "ssm", remediation={"autoRunLowRisk": True}) as name:
        ns = f"company-{name}"
        runbook(admin, ns, "restart", signals=[])
        w.aws.script(INSTANCE, *steps)
        request_run(admin, ns, "fix-4", runbook_name="restart", requested_by="tina@msp.example")
        end = ticking(w.clock, phase_is(admin, ns, "fix-4", "Failed", "Succeeded"), what="the run")
        assert (end["phase"], end["reason"], end["outcome"]) == ("Failed", reason, "Failed"), end
        assert end["polls"] == len(steps)
        for _ in range(5):  # more time passes: nothing is sent again
            w.clock.advance(timedelta(seconds=10))
        assert len(commands(w)) == 1


def test_a_delivery_that_timed_out_is_sent_again_once(w: World, admin: KubeClient) -> None:
    with company(admin, "dly", remediation={"autoRunLowRisk": True}) as name:
        ns = f"company-{name}"
        runbook(admin, ns, "restart", signals=[])
        w.aws.script(
            INSTANCE,
            Invocation("TimedOut", "DeliveryTimedOut"),
            Invocation("Success", "Success", 0),
        )
        request_run(admin, ns, "fix-5", runbook_name="restart", requested_by="tina@msp.example")
        end = ticking(w.clock, phase_is(admin, ns, "fix-5", "Failed", "Succeeded"), what="the run")
        assert end["phase"] == "Succeeded" and end["intent"]["attempt"] == 2, end
        sent = commands(w)
        assert [c["Comment"].rsplit("-", 1)[1] for c in sent] == ["1 1/1", "2 1/1"]


def test_a_refused_assume_role_fails_the_run_naming_the_role(w: World, admin: KubeClient) -> None:
    with company(admin, "sts", remediation={"autoRunLowRisk": True}) as name:
        ns = f"company-{name}"
        runbook(admin, ns, "restart", signals=[])
        w.aws.fail("sts:AssumeRole", "AccessDenied", status=403, times=5)
        request_run(admin, ns, "fix-6", runbook_name="restart", requested_by="tina@msp.example")
        end = ticking(w.clock, phase_is(admin, ns, "fix-6", "Failed"), what="the run to fail")
        assert end["reason"] == "AssumeRoleDenied"
        assert "whisperer-remediation" in end["conditions"][0]["message"]
        assert commands(w) == []


def test_an_azure_run_goes_through_managed_run_command(w: World, admin: KubeClient) -> None:
    w.arm.vm(SUBSCRIPTION, "rg-acme", "vm-web01")
    w.arm.outcome("vm-web01", ArmOutcome(state="Succeeded", exit_code=0, output="fixed", polls=2))
    with company(admin, "az", remediation={"autoRunLowRisk": True}, azure=True) as name:
        ns = f"company-{name}"
        runbook(admin, ns, "restart", signals=[])
        request_run(admin, ns, "fix-7", runbook_name="restart", requested_by="tina@msp.example")
        end = ticking(w.clock, phase_is(admin, ns, "fix-7", "Failed", "Succeeded"), what="the run")
        assert end["phase"] == "Succeeded" and end["provider"] == "azure-run-command", end
        assert end["results"][0]["output"].startswith("fixed")
        [made] = w.arm.run_commands_on("vm-web01")
        assert made.name == end["commandId"]
        assert len(w.arm.seen("run-command", "PUT")) == 1


def test_a_run_for_a_target_outside_the_inventory_fails_at_admission(
    w: World, admin: KubeClient
) -> None:
    with company(admin, "adm", remediation={"autoRunLowRisk": True}) as name:
        ns = f"company-{name}"
        runbook(admin, ns, "restart", signals=[])
        custom(admin).create_namespaced_custom_object(
            GROUP,
            VERSION,
            ns,
            "runbookexecutions",
            {
                "apiVersion": "alertwhisperer.io/v1alpha1",
                "kind": "RunbookExecution",
                "metadata": {"name": "fix-8"},
                "spec": {
                    "runbookRef": {"name": "restart"},
                    "targets": ["nope01"],
                    "requestedBy": "tina@msp.example",
                },
            },
        )
        end = ticking(w.clock, phase_is(admin, ns, "fix-8", "Failed"), what="the refusal")
        assert end["reason"] == "TargetNotInInventory"
        wait_for(
            lambda: any(
                e.reason == "TargetNotInInventory" and e.involved_object.name == "fix-8"
                for e in client.CoreV1Api(admin.api_client).list_namespaced_event(ns).items
            ),
            timeout=30,
            what="the TargetNotInInventory Event",
        )
        assert commands(w) == []


def test_one_run_at_a_time_acts_on_a_target(w: World, admin: KubeClient) -> None:
    with company(admin, "busy", remediation={"autoRunLowRisk": True}) as name:
        ns = f"company-{name}"
        runbook(admin, ns, "restart", signals=[])
        w.aws.script(INSTANCE, Invocation("InProgress", "InProgress"))
        request_run(admin, ns, "first", runbook_name="restart", requested_by="tina@msp.example")
        ticking(w.clock, lambda: run_status(admin, ns, "first").get("polls"), what="first polled")
        request_run(admin, ns, "second", runbook_name="restart", requested_by="tina@msp.example")
        held = ticking(
            w.clock,
            lambda: (s := run_status(admin, ns, "second")).get("reason") == "TargetBusy" and s,
            what="the second run to wait",
        )
        assert (
            held["phase"] == "Approved" and "web01 (by first)" in held["conditions"][0]["message"]
        )
        assert len(commands(w)) == 1
        w.aws.script(INSTANCE, Invocation("Success", "Success", 0))
        ticking(w.clock, phase_is(admin, ns, "first", "Succeeded"), what="the first run")
        end = ticking(w.clock, phase_is(admin, ns, "second", "Succeeded", "Failed"), what="second")
        assert end["phase"] == "Succeeded", end
        assert len(commands(w)) == 2


def test_throttling_and_a_lost_send_answer_end_with_one_command(
    w: World, admin: KubeClient
) -> None:
    with company(admin, "thr", remediation={"autoRunLowRisk": True}) as name:
        ns = f"company-{name}"
        runbook(admin, ns, "restart", signals=[])
        w.aws.fail("ssm:SendCommand", "ThrottlingException", times=1)
        w.aws.fail("ssm:SendCommand", "InternalServerError", status=500, times=1, after=True)
        request_run(admin, ns, "fix-9", runbook_name="restart", requested_by="tina@msp.example")
        end = ticking(w.clock, phase_is(admin, ns, "fix-9", "Succeeded", "Failed"), what="the run")
        assert end["phase"] == "Succeeded", end
        assert len(w.aws.seen("ssm:SendCommand")) == 2  # throttled, then sent (answer lost)
        assert len(commands(w)) == 1  # the lost answer's command was found by its token


@pytest.mark.parametrize(("status", "code"), [(409, "Conflict"), (500, "InternalServerError")])
def test_azure_busy_or_failing_waits_and_runs_once(
    w: World, admin: KubeClient, status: int, code: str
) -> None:
    w.arm.vm(SUBSCRIPTION, "rg-acme", "vm-web01")
    w.arm.fail("put-run-command", status, code, times=2)
    with company(admin, "azb", remediation={"autoRunLowRisk": True}, azure=True) as name:
        ns = f"company-{name}"
        runbook(admin, ns, "restart", signals=[])
        request_run(admin, ns, "fix-10", runbook_name="restart", requested_by="tina@msp.example")
        end = ticking(w.clock, phase_is(admin, ns, "fix-10", "Failed", "Succeeded"), what="run")
        assert end["phase"] == "Succeeded", end["conditions"][0]["message"]
        assert len(w.arm.run_commands_on("vm-web01")) == 1


def test_automatic_runs_pause_after_repeated_failures_until_an_msp_admin_resumes_them(
    w: World, admin: KubeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Three failed automatic runs within the window trip the company's circuit breaker: the
    Company says so (condition, status, one Warning Event naming the runs), the next incident
    gets no automatic run, a company admin may not resume it, and an MSP admin's resume
    request lets the next incident's run start."""
    caplog.set_level(logging.INFO, logger="whisperer.operator.handlers.autoruns")
    remediation = {
        "autoRunLowRisk": True,
        "circuitBreaker": {"failureThreshold": 3, "window": "1h"},
    }
    hosts = [f"web{i:02d}" for i in range(1, 6)]
    ids = {h: f"i-{i + 0x200:017x}" for i, h in enumerate(hosts)}
    with company(admin, "brk", remediation=remediation, admins=[COMPANY_ADMIN]) as name:
        ns = f"company-{name}"
        assets = [
            {"name": h, "platform": "linux", "cloud": "aws", "instanceId": ids[h], "region": REGION}
            for h in hosts
        ]
        custom(admin).patch_cluster_custom_object(
            GROUP, VERSION, "companies", name, {"spec": {"assets": assets}}
        )
        runbook(admin, ns, f"{name}-fix")
        for h in hosts:
            w.aws.script(ids[h], Invocation("Failed", "Failed", 1, stderr="disk still full"))

        def breaker() -> dict[str, Any]:
            return (admin.get("companies", name).get("status") or {}).get("autoRemediation") or {}

        def condition() -> dict[str, Any]:
            found = admin.get("companies", name).get("status", {}).get("conditions") or []
            return next((c for c in found if c["type"] == "AutoRemediationPaused"), {})

        failed = []
        for h in hosts[:3]:
            w.clock.advance(timedelta(minutes=1))
            incident = incident_for(admin, name, fire(admin, name, at=w.clock.now(), asset=h))
            run = f"auto-{incident}"
            end = ticking(w.clock, phase_is(admin, ns, run, "Failed", "Succeeded"), what=run)
            assert (end["phase"], end["outcome"]) == ("Failed", "Failed"), end
            failed.append(run)
        state = wait_for(lambda: breaker().get("paused"), timeout=30, what="the pause")
        assert state is True
        assert sorted(breaker()["failedRuns"]) == sorted(failed)
        paused = condition()
        assert (paused["status"], paused["reason"]) == ("True", "AutoRunsFailing"), paused
        assert "3 automatic runs failed or were ineffective within 1h" in paused["message"]
        events = [
            e
            for e in client.CoreV1Api(admin.api_client).list_namespaced_event("default").items
            if e.involved_object.name == name and e.reason == "AutoRemediationPaused"
        ]
        assert len(events) == 1 and events[0].type == "Warning"
        assert all(r in events[0].message for r in failed)
        assert len(commands(w)) == 3

        # The next incident: no automatic run (the operator says why).
        w.clock.advance(timedelta(minutes=1))
        fourth = incident_for(admin, name, fire(admin, name, at=w.clock.now(), asset=hosts[3]))
        wait_for(
            lambda: any(
                fourth in r.getMessage() and "paused" in r.getMessage() for r in caplog.records
            ),
            timeout=30,
            what="the operator to skip the automatic run",
        )
        assert not [
            r
            for r in custom(admin).list_namespaced_custom_object(
                GROUP, VERSION, ns, "runbookexecutions"
            )["items"]
            if r["metadata"]["name"] == f"auto-{fourth}"
        ]

        # A company admin may not resume; an MSP admin may.
        resume = {"metadata": {"annotations": {RESUME_ANNOTATION: "looked-at-disks"}}}
        with pytest.raises(client.ApiException) as refused:
            custom(w.clients["company-admin"]).patch_cluster_custom_object(
                GROUP, VERSION, "companies", name, resume
            )
        assert refused.value.status == 403
        custom(w.clients["msp-admin"]).patch_cluster_custom_object(
            GROUP, VERSION, "companies", name, resume
        )
        wait_for(
            lambda: breaker().get("resumed") == "looked-at-disks" and not breaker()["paused"],
            timeout=30,
            what="the resume",
        )
        assert condition()["status"] == "False"
        w.aws.script(ids[hosts[4]], Invocation("Success", "Success", 0))
        w.clock.advance(timedelta(minutes=1))
        fifth = incident_for(admin, name, fire(admin, name, at=w.clock.now(), asset=hosts[4]))
        started = ticking(
            w.clock,
            phase_is(admin, ns, f"auto-{fifth}", "Verifying", "Succeeded", "Failed"),
            what="the automatic run after the resume",
        )
        assert started["phase"] == "Verifying", started
        assert not breaker()["paused"]  # the three failures before the resume do not count
