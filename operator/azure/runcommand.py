"""Azure managed Run Command: a runbook run on one VM as a named child resource
(`virtualMachines/{vm}/runCommands/{name}`), started by a PUT, followed by GETs of its
instance view (execution state, exit code, output), adopted by name after a crash.

Exactly once: `start` looks the name up before it PUTs, and the SDK never retries the PUT
itself. An operator that recorded its intent (the name), crashed anywhere, and calls `start`
again finds the run command and follows it; it never creates a second one. (The action
`virtualMachines/runCommand` has no name to find it by, no exit code, and 4 KB of output:
see docs/decisions.md.)
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from azure.core.exceptions import AzureError, HttpResponseError

from whisperer.operator.azure.client import (
    Azure,
    ServicePrincipal,
    error_code,
    error_message,
    translate,
)
from whisperer.operator.errors import (
    BusyError,
    InvalidError,
    NotFoundError,
    UndeliverableError,
)
from whisperer.operator.remote import Outcome, Shell, remote_script

Platform = Literal["linux", "windows"]
VM_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Compute/virtualMachines/(?P<vm>[^/]+)$",
    re.IGNORECASE,
)
_NAME_CHAR = re.compile(r"[^A-Za-z0-9-]")
BUSY_CODES = frozenset({"Conflict", "RunCommandExtensionExecutionInProgress"})


def run_command_name(*parts: str) -> str:
    """A run command name for a run (`aw-<namespace>-<run>-<attempt>`): letters, digits and
    hyphens, at most 64; a long one keeps its start and a hash of the whole."""
    whole = "-".join(("aw", *parts))
    clean = _NAME_CHAR.sub("-", whole)
    if len(clean) <= 64 and clean == whole:
        return clean
    return f"{clean[:53]}-{hashlib.sha256(whole.encode('utf-8')).hexdigest()[:10]}"


@dataclass(frozen=True)
class VmRef:
    """A VM by subscription, resource group and name."""

    subscription_id: str
    resource_group: str
    name: str

    @classmethod
    def parse(cls, resource_id: str) -> VmRef:
        """From an ARM resource id (`/subscriptions/.../virtualMachines/<name>`)."""
        match = VM_ID.match(resource_id.strip())
        if match is None:
            raise InvalidError(f"not a virtual machine resource id: {resource_id!r}")
        return cls(match["sub"], match["rg"], match["vm"])

    @property
    def resource_id(self) -> str:
        """The ARM resource id."""
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Compute/virtualMachines/{self.name}"
        )


@dataclass(frozen=True)
class RunCommandRequest:
    """One runbook run on one VM."""

    name: str
    """The run command's name: the run's intent on this VM (see `run_command_name`)."""
    vm: VmRef
    platform: Platform
    shell: Shell
    script: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: int = 600

    def __post_init__(self) -> None:
        if not 1 <= len(self.name) <= 64 or _NAME_CHAR.search(self.name):
            raise InvalidError(f"not a run command name (use run_command_name()): {self.name!r}")
        if (self.platform == "windows") != (self.shell == "powershell"):
            raise InvalidError("windows runs powershell, linux runs bash or sh")
        if not 1 <= self.timeout_seconds <= 172800:
            raise InvalidError("timeout_seconds must be 1 s to 48 h")

    def source(self) -> str:
        """The script sent: the parameter preamble, then the runbook's text."""
        try:
            return remote_script(self.script, shell=self.shell, parameters=self.parameters)
        except ValueError as exc:
            raise InvalidError(str(exc)) from exc


@dataclass(frozen=True)
class Started:
    """A run command that exists now: created by this call, or found (adopted)."""

    vm: VmRef
    name: str
    adopted: bool


class RunState(enum.StrEnum):
    """The script's execution state (the instance view's executionState)."""

    UNKNOWN = "Unknown"
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    TIMED_OUT = "TimedOut"
    CANCELED = "Canceled"


_OUTCOMES = {
    RunState.SUCCEEDED: Outcome.SUCCEEDED,
    RunState.FAILED: Outcome.FAILED,
    RunState.TIMED_OUT: Outcome.RESULT_UNKNOWN,
    RunState.CANCELED: Outcome.CANCELLED,
}


@dataclass(frozen=True)
class RunResult:
    """Where a run command is, with the ends of its output."""

    vm: VmRef
    name: str
    state: RunState
    provisioning_state: str
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    message: str = ""
    """The instance view's executionMessage (configuration errors, the agent's word)."""

    @property
    def outcome(self) -> Outcome | None:
        """What it came to, or None while it is still going."""
        if self.state == RunState.SUCCEEDED and self.exit_code not in (None, 0):
            return Outcome.FAILED
        outcome = _OUTCOMES.get(self.state)
        if outcome is None and self.provisioning_state.lower() == "failed":
            return Outcome.FAILED  # the extension failed before the script reported
        return outcome

    @property
    def terminal(self) -> bool:
        """Whether it will not change any more."""
        return self.outcome is not None


def _tail(text: str | None, limit: int) -> str:
    text = text or ""
    return text[-limit:] if len(text) > limit else text


class RunCommands:
    """Managed run commands with one service principal."""

    def __init__(self, azure: Azure, principal: ServicePrincipal) -> None:
        self.azure = azure
        self.principal = principal

    def _compute(self, vm: VmRef) -> Any:
        return self.azure.compute(self.principal, vm.subscription_id)

    def _fail(self, exc: Exception, action: str) -> Exception:
        return translate(exc, action=action, settings=self.azure.settings)

    def exists(self, vm: VmRef, name: str) -> bool:
        """Whether the run command `name` exists on `vm` (a 404 of the VM counts as no)."""
        try:
            self._compute(vm).virtual_machine_run_commands.get_by_virtual_machine(
                vm.resource_group, vm.name, name
            )
        except HttpResponseError as exc:
            if exc.status_code == 404:
                return False
            raise self._fail(exc, f"GET run command {name} on {vm.name}") from exc
        except AzureError as exc:
            raise self._fail(exc, f"GET run command {name} on {vm.name}") from exc
        return True

    def start(self, request: RunCommandRequest) -> Started:
        """Create the run command, unless one of that name exists (then adopt it).

        The VM unknown: UndeliverableError. Another run command in progress (409): BusyError,
        retry after its delay. 5xx, throttling, a lost connection: temporary; calling again
        is safe (it looks first). Other 4xx: permanent.
        """
        vm = request.vm
        if self.exists(vm, request.name):
            return Started(vm=vm, name=request.name, adopted=True)
        compute = self._compute(vm)
        try:
            machine = compute.virtual_machines.get(vm.resource_group, vm.name)
        except HttpResponseError as exc:
            if exc.status_code == 404:
                raise UndeliverableError(
                    f"no virtual machine {vm.resource_id}: {error_message(exc)}",
                    targets=(vm.resource_id,),
                ) from exc
            raise self._fail(exc, f"GET virtual machine {vm.name}") from exc
        except AzureError as exc:
            raise self._fail(exc, f"GET virtual machine {vm.name}") from exc
        os_type = _os_type(machine)
        if os_type and os_type.lower() != request.platform:
            raise InvalidError(f"{vm.name} runs {os_type}, the runbook is for {request.platform}")
        body: dict[str, Any] = {
            "location": machine.location,
            "properties": {
                "source": {"script": request.source()},
                "asyncExecution": False,
                "treatFailureAsDeploymentFailure": False,
                "timeoutInSeconds": request.timeout_seconds,
            },
        }
        try:
            compute.virtual_machine_run_commands.begin_create_or_update(
                vm.resource_group, vm.name, request.name, body, polling=False, retry_total=0
            )
        except HttpResponseError as exc:
            if exc.status_code == 409 and error_code(exc) != "OperationNotAllowed":
                raise BusyError(
                    f"{vm.name} is busy: {error_message(exc)}",
                    delay=self.azure.settings.busy_delay,
                ) from exc
            if exc.status_code == 409 or exc.status_code == 404:
                raise UndeliverableError(
                    f"cannot run a command on {vm.name}: {error_code(exc)}: {error_message(exc)}",
                    targets=(vm.resource_id,),
                ) from exc
            raise self._fail(exc, f"PUT run command {request.name} on {vm.name}") from exc
        except AzureError as exc:
            raise self._fail(exc, f"PUT run command {request.name} on {vm.name}") from exc
        return Started(vm=vm, name=request.name, adopted=False)

    def poll(self, vm: VmRef, name: str) -> RunResult:
        """The run command's instance view, mapped; NotFoundError if it does not exist."""
        try:
            found = self._compute(vm).virtual_machine_run_commands.get_by_virtual_machine(
                vm.resource_group, vm.name, name, expand="instanceView"
            )
        except HttpResponseError as exc:
            if exc.status_code == 404:
                raise NotFoundError(f"no run command {name} on {vm.name}") from exc
            raise self._fail(exc, f"GET run command {name} on {vm.name}") from exc
        except AzureError as exc:
            raise self._fail(exc, f"GET run command {name} on {vm.name}") from exc
        properties = found.properties
        view = properties.instance_view if properties is not None else None
        limit = self.azure.settings.tail_chars
        raw = getattr(view, "execution_state", None)
        raw_state = str(getattr(raw, "value", raw) or "Unknown")
        try:
            state = RunState(raw_state)
        except ValueError:
            state = next(
                (s for s in RunState if s.value.lower() == raw_state.lower()), RunState.UNKNOWN
            )
        return RunResult(
            vm=vm,
            name=name,
            state=state,
            provisioning_state=str(getattr(properties, "provisioning_state", None) or ""),
            exit_code=getattr(view, "exit_code", None),
            stdout=_tail(getattr(view, "output", None), limit),
            stderr=_tail(getattr(view, "error", None), limit),
            message=str(getattr(view, "execution_message", None) or "")[:1000],
        )

    def delete(self, vm: VmRef, name: str) -> None:
        """Remove the run command once its outcome is recorded (a VM keeps a bounded number);
        an already deleted one is fine."""
        try:
            self._compute(vm).virtual_machine_run_commands.begin_delete(
                vm.resource_group, vm.name, name, polling=False
            )
        except HttpResponseError as exc:
            if exc.status_code == 404:
                return
            raise self._fail(exc, f"DELETE run command {name} on {vm.name}") from exc
        except AzureError as exc:
            raise self._fail(exc, f"DELETE run command {name} on {vm.name}") from exc


def _os_type(machine: Any) -> str:
    profile = getattr(getattr(machine, "properties", None), "storage_profile", None)
    os_disk = getattr(profile, "os_disk", None)
    os_type = getattr(os_disk, "os_type", None)
    return str(getattr(os_type, "value", os_type) or "")


__all__ = [
    "RunCommandRequest",
    "RunCommands",
    "RunResult",
    "RunState",
    "Started",
    "VmRef",
    "run_command_name",
]
