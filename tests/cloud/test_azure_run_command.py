"""Azure managed Run Command with the real azure-identity and azure-mgmt-compute SDKs against
the local ARM stub over HTTPS: success with output, 409 (another run command in progress)
then success, 500, a run that takes several polls, an unknown VM, adoption by name."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest
from support.arm_stub import BUSY_MESSAGE, CLIENT_ID, SUBSCRIPTION, TENANT, ArmStub, Outcome

from whisperer.operator.azure import (
    Azure,
    AzureSettings,
    RunCommandRequest,
    RunCommands,
    RunState,
    ServicePrincipal,
    VmRef,
    run_command_name,
)
from whisperer.operator.errors import (
    BusyError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    PermanentError,
    TemporaryError,
    UnavailableError,
    UndeliverableError,
)
from whisperer.operator.remote import Outcome as RunOutcome

VM = VmRef(SUBSCRIPTION, "rg-globex-prod", "app-01")
SCRIPT = '#!/usr/bin/env bash\nsystemctl restart "$SERVICE"\necho restarted "$SERVICE"\n'


def request(name: str = "", **changes: object) -> RunCommandRequest:
    fields: dict[str, object] = {
        "name": name or run_command_name("company-globex-logistics", "restart-app-4k2", "1"),
        "vm": VM,
        "platform": "linux",
        "shell": "bash",
        "script": SCRIPT,
        "parameters": {"SERVICE": "app"},
        "timeout_seconds": 120,
    }
    fields.update(changes)
    return RunCommandRequest(**fields)  # type: ignore[arg-type]


@pytest.fixture
def vm(arm: ArmStub) -> VmRef:
    arm.vm(VM.subscription_id, VM.resource_group, VM.name, location="westeurope")
    return VM


def test_a_script_runs_with_its_parameters_and_its_output_comes_back(
    azure: Azure, principal: ServicePrincipal, arm: ArmStub, vm: VmRef
) -> None:
    arm.outcome(vm.name, Outcome(output="restarted app\n", polls=1))
    runs = RunCommands(azure, principal)

    started = runs.start(request())
    result = runs.poll(vm, started.name)

    assert not started.adopted
    assert result.state is RunState.SUCCEEDED
    assert result.outcome is RunOutcome.SUCCEEDED
    assert result.exit_code == 0
    assert result.stdout == "restarted app\n"
    [put] = arm.seen("run-command", "PUT")
    assert put.path.endswith(f"/virtualMachines/{vm.name}/runCommands/{started.name}")
    assert put.query["api-version"]
    assert put.authorization.startswith("Bearer stub-token-")
    body = put.body
    assert body["location"] == "westeurope"
    assert body["properties"]["timeoutInSeconds"] == 120
    assert body["properties"]["asyncExecution"] is False
    script = body["properties"]["source"]["script"]
    assert SCRIPT in script
    assert base64.b64encode(b"app").decode() in script
    assert "systemctl restart app" not in script  # the value is never pasted into the text
    # One token for all of it (the credential keeps it), fetched over TLS from the stub.
    assert len(arm.seen("token")) == 1


def test_another_run_command_in_progress_waits_and_then_runs_once(
    azure: Azure, principal: ServicePrincipal, arm: ArmStub, vm: VmRef
) -> None:
    arm.fail("put-run-command", 409, "Conflict", BUSY_MESSAGE)
    runs = RunCommands(azure, principal)

    with pytest.raises(BusyError) as busy:
        runs.start(request())
    assert busy.value.delay == 7.0
    assert isinstance(busy.value, TemporaryError)
    assert arm.run_commands_on(vm.name) == []

    started = runs.start(request())
    assert not started.adopted
    assert len(arm.run_commands_on(vm.name)) == 1
    assert runs.poll(vm, started.name).state is RunState.SUCCEEDED


def test_a_500_is_temporary_and_the_sdk_does_not_retry_the_put(
    azure: Azure, principal: ServicePrincipal, arm: ArmStub, vm: VmRef
) -> None:
    arm.fail("put-run-command", 500, "InternalServerError", "An internal error occurred.")
    arm.fail("get-vm", 500, "InternalServerError", "An internal error occurred.")
    retrying = Azure(replace(azure.settings, read_retries=1))
    try:
        runs = RunCommands(retrying, principal)
        with pytest.raises(UnavailableError, match="500 InternalServerError"):
            runs.start(request())
    finally:
        retrying.close()

    assert len(arm.seen("vm", "GET")) == 2  # a read is retried by the SDK
    assert len(arm.seen("run-command", "PUT")) == 1  # the PUT is not
    assert arm.run_commands_on(vm.name) == []


def test_a_500_after_the_put_took_effect_is_adopted_not_repeated(
    azure: Azure, principal: ServicePrincipal, arm: ArmStub, vm: VmRef
) -> None:
    arm.fail("put-run-command", 500, "InternalServerError", after=True)
    runs = RunCommands(azure, principal)

    with pytest.raises(UnavailableError):
        runs.start(request())
    again = runs.start(request())

    assert again.adopted
    assert len(arm.seen("run-command", "PUT")) == 1
    assert len(arm.run_commands_on(vm.name)) == 1


def test_a_restarted_operator_adopts_the_run_command_by_name(
    arm: ArmStub, principal: ServicePrincipal, vm: VmRef, azure: Azure
) -> None:
    arm.outcome(vm.name, Outcome(output="restarted app\n", polls=2))
    RunCommands(azure, principal).start(request())

    # A new process: new credential, new client, same configuration.
    restarted = Azure(azure.settings)
    try:
        runs = RunCommands(restarted, principal)
        again = runs.start(request())
        results = [runs.poll(vm, again.name) for _ in range(2)]
    finally:
        restarted.close()

    assert again.adopted
    assert len(arm.seen("run-command", "PUT")) == 1
    assert [r.state for r in results] == [RunState.PENDING, RunState.SUCCEEDED]
    assert results[-1].stdout == "restarted app\n"


def test_a_run_that_takes_several_polls(
    azure: Azure, principal: ServicePrincipal, arm: ArmStub, vm: VmRef
) -> None:
    arm.outcome(vm.name, Outcome(output="done\n", polls=4))
    runs = RunCommands(azure, principal)
    started = runs.start(request())

    seen = []
    while True:
        result = runs.poll(vm, started.name)
        seen.append(result.state)
        if result.terminal:
            break
        assert len(seen) < 10

    assert seen == [RunState.PENDING, RunState.RUNNING, RunState.RUNNING, RunState.SUCCEEDED]
    assert result.provisioning_state == "Succeeded"
    assert result.stdout == "done\n"


@pytest.mark.parametrize(
    ("outcome", "state", "meaning"),
    [
        (
            Outcome(state="Failed", exit_code=3, error="unit app not found\n"),
            RunState.FAILED,
            RunOutcome.FAILED,
        ),
        (Outcome(state="TimedOut", exit_code=-1), RunState.TIMED_OUT, RunOutcome.RESULT_UNKNOWN),
        (Outcome(state="Canceled", exit_code=-1), RunState.CANCELED, RunOutcome.CANCELLED),
        (Outcome(state="Succeeded", exit_code=1), RunState.SUCCEEDED, RunOutcome.FAILED),
    ],
)
def test_every_execution_state_maps_onto_one_result(
    azure: Azure,
    principal: ServicePrincipal,
    arm: ArmStub,
    vm: VmRef,
    outcome: Outcome,
    state: RunState,
    meaning: RunOutcome,
) -> None:
    arm.outcome(vm.name, outcome)
    runs = RunCommands(azure, principal)
    started = runs.start(request())

    result = runs.poll(vm, started.name)

    assert result.state is state
    assert result.outcome is meaning
    assert result.exit_code == outcome.exit_code
    assert result.stderr == outcome.error


def test_output_is_bounded_to_its_tail(
    azure: Azure, principal: ServicePrincipal, arm: ArmStub, vm: VmRef
) -> None:
    arm.outcome(vm.name, Outcome(output="".join(f"{n}\n" for n in range(3000))))
    runs = RunCommands(azure, principal)
    result = runs.poll(vm, runs.start(request()).name)

    assert len(result.stdout) == 2000
    assert result.stdout.endswith("2999\n")


def test_an_unknown_vm_is_undeliverable(
    azure: Azure, principal: ServicePrincipal, arm: ArmStub
) -> None:
    runs = RunCommands(azure, principal)

    with pytest.raises(UndeliverableError) as undeliverable:
        runs.start(request())
    assert undeliverable.value.targets == (VM.resource_id,)
    assert "was not found" in str(undeliverable.value)
    assert arm.seen("run-command", "PUT") == []


def test_a_platform_that_does_not_match_the_vm_is_refused(
    azure: Azure, principal: ServicePrincipal, arm: ArmStub
) -> None:
    arm.vm(VM.subscription_id, VM.resource_group, VM.name, os="Windows")
    with pytest.raises(InvalidError, match="runs Windows"):
        RunCommands(azure, principal).start(request())


def test_polling_a_run_command_that_does_not_exist_is_not_found(
    azure: Azure, principal: ServicePrincipal, arm: ArmStub, vm: VmRef
) -> None:
    with pytest.raises(NotFoundError):
        RunCommands(azure, principal).poll(vm, "aw-never-created")


def test_delete_removes_the_run_command_and_tolerates_a_second_delete(
    azure: Azure, principal: ServicePrincipal, arm: ArmStub, vm: VmRef
) -> None:
    runs = RunCommands(azure, principal)
    started = runs.start(request())
    runs.delete(vm, started.name)
    runs.delete(vm, started.name)
    assert arm.run_commands_on(vm.name) == []


def test_a_wrong_secret_is_refused_for_good(azure: Azure, arm: ArmStub, vm: VmRef) -> None:
    wrong = ServicePrincipal(TENANT, CLIENT_ID, "not-the-secret")
    with pytest.raises(ForbiddenError, match="service principal was refused"):
        RunCommands(azure, wrong).start(request())
    assert arm.seen("run-command") == []


def test_a_4xx_is_permanent(
    azure: Azure, principal: ServicePrincipal, arm: ArmStub, vm: VmRef
) -> None:
    arm.fail("put-run-command", 400, "InvalidParameter", "timeoutInSeconds is out of range")
    with pytest.raises(InvalidError, match="InvalidParameter"):
        RunCommands(azure, principal).start(request())


def test_bad_requests_and_settings_are_refused() -> None:
    with pytest.raises(InvalidError):
        request(name="has spaces")
    with pytest.raises(InvalidError):
        request(shell="powershell")
    with pytest.raises(InvalidError):
        VmRef.parse("/subscriptions/x/resourceGroups/y/providers/Microsoft.Web/sites/z")
    parsed = VmRef.parse(VM.resource_id)
    assert parsed == VM
    with pytest.raises(PermanentError, match="https"):
        AzureSettings.from_env({"WHISPERER_AZURE_ARM_ENDPOINT": "http://127.0.0.1:1"})
    assert AzureSettings.from_env({}).arm_scope == "https://management.azure.com/.default"
    long = run_command_name("company-" + "x" * 80, "run", "1")
    assert len(long) <= 64 and long != run_command_name("company-" + "x" * 81, "run", "1")
