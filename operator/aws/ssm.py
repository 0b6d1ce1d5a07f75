"""AWS Systems Manager Run Command: send a runbook to at most 50 instances per call with the
run's intent token in `Comment`, find a command again by that token (adoption after a crash),
and read each target's invocation as a small typed result.

Exactly once: `dispatch` looks for each batch's command by its comment before sending it, so
a caller that recorded its intent, crashed, and came back sends nothing twice. SendCommand
itself is attempted once per call: throttled means "not sent, try later" (ThrottledError); a
lost answer means "maybe sent" (OutcomeUnknownError: dispatch again, which looks first).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from whisperer.operator.aws.faults import EXPIRED, code_of, message_of, translate
from whisperer.operator.aws.session import Aws, RoleCredentials
from whisperer.operator.errors import InvalidError, NotFoundError, UndeliverableError
from whisperer.operator.remote import Outcome, Shell, remote_script

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

Platform = Literal["linux", "windows"]
DOCUMENTS: dict[str, str] = {"linux": "AWS-RunShellScript", "windows": "AWS-RunPowerShellScript"}
MAX_TARGETS = 50
"""SendCommand takes at most 50 instance ids."""
TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:/._@=+-]{0,79}$")
INSTANCE = re.compile(r"^(i|mi)-[0-9a-f]{8,17}$")


@dataclass(frozen=True)
class CommandRequest:
    """One runbook run on some instances, as SSM will get it."""

    token: str
    """The run's intent token: in every batch's Comment (`<token> <i>/<n>`)."""
    instance_ids: tuple[str, ...]
    platform: Platform
    shell: Shell
    script: str
    """The runbook's own text; parameters reach it as environment variables (preamble)."""
    parameters: Mapping[str, str] = field(default_factory=dict)
    execution_timeout: int = 600
    """Seconds the script may run on one instance (executionTimeout): then SSM stops it."""
    delivery_timeout: int = 600
    """Seconds SSM keeps trying to deliver before giving up (TimeoutSeconds)."""
    max_concurrency: str | None = None
    """SSM's MaxConcurrency (its default: 50)."""
    max_errors: str | None = None
    """SSM's MaxErrors (its default: 0, so after one failure the rest are Terminated)."""
    invoked_after: datetime | None = None
    """When the intent was recorded: adoption looks only at commands sent since."""

    def __post_init__(self) -> None:
        if not TOKEN.match(self.token):
            raise InvalidError(f"not an intent token (1-80 of [A-Za-z0-9:/._@=+-]): {self.token!r}")
        if not self.instance_ids:
            raise InvalidError("a command needs at least one instance id")
        bad = [i for i in self.instance_ids if not INSTANCE.match(i)]
        if bad:
            raise InvalidError(f"not EC2 or managed instance ids: {', '.join(bad[:5])}")
        if len(set(self.instance_ids)) != len(self.instance_ids):
            raise InvalidError("an instance id is listed twice")
        if (self.platform == "windows") != (self.shell == "powershell"):
            raise InvalidError("windows runs powershell, linux runs bash or sh")
        if not 1 <= self.execution_timeout <= 172800:
            raise InvalidError("execution_timeout must be 1 s to 48 h")
        if not 30 <= self.delivery_timeout <= 2592000:
            raise InvalidError("delivery_timeout must be 30 s to 30 days")

    @property
    def document(self) -> str:
        """AWS-RunShellScript or AWS-RunPowerShellScript."""
        return DOCUMENTS[self.platform]

    def commands(self) -> list[str]:
        """The `commands` parameter: the preamble, then the runbook's text, as lines."""
        try:
            text = remote_script(self.script, shell=self.shell, parameters=self.parameters)
        except ValueError as exc:
            raise InvalidError(str(exc)) from exc
        return text.split("\n")


@dataclass(frozen=True)
class Batch:
    """At most 50 instances of a request: one SendCommand."""

    token: str
    index: int
    count: int
    instance_ids: tuple[str, ...]

    @property
    def comment(self) -> str:
        """What identifies this batch's command in SSM (ListCommands shows it)."""
        return f"{self.token} {self.index}/{self.count}"


def batches(request: CommandRequest) -> list[Batch]:
    """The request cut into SendCommand calls of at most 50 instances, in order."""
    ids = request.instance_ids
    chunks = [ids[i : i + MAX_TARGETS] for i in range(0, len(ids), MAX_TARGETS)]
    return [
        Batch(token=request.token, index=n, count=len(chunks), instance_ids=chunk)
        for n, chunk in enumerate(chunks, start=1)
    ]


@dataclass(frozen=True)
class Dispatched:
    """A batch's command: sent now, or found (adopted) from an earlier attempt."""

    batch: Batch
    command_id: str
    adopted: bool


class InvocationState(enum.StrEnum):
    """Where one target's invocation is (SSM's Status refined by its StatusDetails)."""

    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    DELAYED = "Delayed"
    CANCELLING = "Cancelling"
    SUCCESS = "Success"
    FAILED = "Failed"
    DELIVERY_TIMED_OUT = "DeliveryTimedOut"
    EXECUTION_TIMED_OUT = "ExecutionTimedOut"
    CANCELLED = "Cancelled"
    UNDELIVERABLE = "Undeliverable"
    TERMINATED = "Terminated"
    UNKNOWN = "Unknown"


_BY_DETAILS = {
    "pending": InvocationState.PENDING,
    "inprogress": InvocationState.IN_PROGRESS,
    "delayed": InvocationState.DELAYED,
    "success": InvocationState.SUCCESS,
    "failed": InvocationState.FAILED,
    "deliverytimedout": InvocationState.DELIVERY_TIMED_OUT,
    "executiontimedout": InvocationState.EXECUTION_TIMED_OUT,
    "cancelled": InvocationState.CANCELLED,
    "canceled": InvocationState.CANCELLED,
    "cancelling": InvocationState.CANCELLING,
    "canceling": InvocationState.CANCELLING,
    "undeliverable": InvocationState.UNDELIVERABLE,
    "terminated": InvocationState.TERMINATED,
}
_BY_STATUS = {
    "Pending": InvocationState.PENDING,
    "InProgress": InvocationState.IN_PROGRESS,
    "Delayed": InvocationState.DELAYED,
    "Success": InvocationState.SUCCESS,
    "Failed": InvocationState.FAILED,
    "Cancelled": InvocationState.CANCELLED,
    "Cancelling": InvocationState.CANCELLING,
    # TimedOut without details: assume it ran (the side that never sends it twice).
    "TimedOut": InvocationState.EXECUTION_TIMED_OUT,
}
_OUTCOMES = {
    InvocationState.SUCCESS: Outcome.SUCCEEDED,
    InvocationState.FAILED: Outcome.FAILED,
    InvocationState.DELIVERY_TIMED_OUT: Outcome.NOT_RUN,
    InvocationState.UNDELIVERABLE: Outcome.NOT_RUN,
    InvocationState.TERMINATED: Outcome.NOT_RUN,
    InvocationState.EXECUTION_TIMED_OUT: Outcome.RESULT_UNKNOWN,
    InvocationState.CANCELLED: Outcome.CANCELLED,
}


def state_of(status: str, details: str) -> InvocationState:
    """SSM's (Status, StatusDetails) as one state: the details decide where they are known
    (they tell delivery timed out from execution timed out, and name Undeliverable and
    Terminated, which Status reports as Failed or TimedOut)."""
    by_details = _BY_DETAILS.get(re.sub(r"[\s_-]", "", details).lower())
    if by_details is not None:
        return by_details
    return _BY_STATUS.get(status, InvocationState.UNKNOWN)


@dataclass(frozen=True)
class Invocation:
    """One target's invocation, with the ends of its output."""

    command_id: str
    instance_id: str
    state: InvocationState
    status: str
    status_details: str
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""

    @property
    def outcome(self) -> Outcome | None:
        """What it came to, or None while it is still going (or its state is unknown)."""
        return _OUTCOMES.get(self.state)

    @property
    def terminal(self) -> bool:
        """Whether it will not change any more."""
        return self.outcome is not None


def _tail(text: str, limit: int) -> str:
    return text[-limit:] if len(text) > limit else text


class Ssm:
    """Run Command in one region, as the MSP or as a company's role."""

    def __init__(self, aws: Aws, *, region: str, credentials: RoleCredentials | None) -> None:
        self.aws = aws
        self.region = region
        self.credentials = credentials

    def _client(self, *, changes: bool) -> SSMClient:
        client: SSMClient = self.aws.client(
            "ssm", region=self.region, credentials=self.credentials, changes=changes
        )
        return client

    def _fail(self, exc: Exception, action: str, *, changes: bool) -> Exception:
        if (
            self.credentials is not None
            and isinstance(exc, ClientError)
            and code_of(exc) in EXPIRED
        ):
            self.aws.forget(self.credentials)
        return translate(
            exc, action=action, changes=changes, throttle_delay=self.aws.settings.throttle_delay
        )

    # -- send and find ---------------------------------------------------------------------

    def find(self, request: CommandRequest, batch: Batch) -> str | None:
        """The id of the command already sent for `batch` (matched by its exact comment
        among the commands of its first instance), or None."""
        client = self._client(changes=False)
        kwargs: dict[str, Any] = {"InstanceId": batch.instance_ids[0], "MaxResults": 50}
        if request.invoked_after is not None:
            kwargs["Filters"] = [
                {
                    "key": "InvokedAfter",
                    "value": request.invoked_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            ]
        try:
            while True:
                page = client.list_commands(**kwargs)
                for command in page.get("Commands", []):
                    if (
                        command.get("Comment") == batch.comment
                        and command.get("DocumentName") == request.document
                    ):
                        return str(command["CommandId"])
                token = page.get("NextToken")
                if not token:
                    return None
                kwargs["NextToken"] = token
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, "ssm:ListCommands", changes=False) from exc

    def send(self, request: CommandRequest, batch: Batch) -> str:
        """SendCommand for one batch (no lookup first: see `dispatch`); the command id."""
        parameters: dict[str, list[str]] = {
            "commands": request.commands(),
            "executionTimeout": [str(request.execution_timeout)],
        }
        kwargs: dict[str, Any] = {
            "DocumentName": request.document,
            "InstanceIds": list(batch.instance_ids),
            "Comment": batch.comment,
            "TimeoutSeconds": request.delivery_timeout,
            "Parameters": parameters,
        }
        if request.max_concurrency is not None:
            kwargs["MaxConcurrency"] = request.max_concurrency
        if request.max_errors is not None:
            kwargs["MaxErrors"] = request.max_errors
        try:
            answer = self._client(changes=True).send_command(**kwargs)
        except ClientError as exc:
            if code_of(exc) == "InvalidInstanceId":
                raise UndeliverableError(
                    f"SSM cannot reach these instances (not managed, stopped or unknown): "
                    f"{message_of(exc)}",
                    targets=batch.instance_ids,
                ) from exc
            raise self._fail(exc, "ssm:SendCommand", changes=True) from exc
        except BotoCoreError as exc:
            raise self._fail(exc, "ssm:SendCommand", changes=True) from exc
        return str(answer["Command"]["CommandId"])

    def dispatch(self, request: CommandRequest, *, adopt: bool = True) -> list[Dispatched]:
        """Every batch's command: found by its comment when `adopt` (an earlier attempt sent
        it), else sent now. Stops at the first error; calling again carries on where it
        stopped without sending a batch twice."""
        done: list[Dispatched] = []
        for batch in batches(request):
            found = self.find(request, batch) if adopt else None
            if found is not None:
                done.append(Dispatched(batch=batch, command_id=found, adopted=True))
            else:
                done.append(
                    Dispatched(batch=batch, command_id=self.send(request, batch), adopted=False)
                )
        return done

    # -- poll ------------------------------------------------------------------------------

    def invocation(self, command_id: str, instance_id: str) -> Invocation:
        """GetCommandInvocation for one target, mapped (see `state_of`), output bounded."""
        try:
            raw = self._client(changes=False).get_command_invocation(
                CommandId=command_id, InstanceId=instance_id
            )
        except ClientError as exc:
            code = code_of(exc)
            if code == "InvocationDoesNotExist":  # SSM has not registered it yet
                return Invocation(
                    command_id=command_id,
                    instance_id=instance_id,
                    state=InvocationState.PENDING,
                    status="Pending",
                    status_details=code,
                )
            if code == "InvalidInstanceId":
                return Invocation(
                    command_id=command_id,
                    instance_id=instance_id,
                    state=InvocationState.UNDELIVERABLE,
                    status="Failed",
                    status_details=code,
                )
            if code == "InvalidCommandId":
                raise NotFoundError(f"SSM knows no command {command_id}") from exc
            raise self._fail(exc, "ssm:GetCommandInvocation", changes=False) from exc
        except BotoCoreError as exc:
            raise self._fail(exc, "ssm:GetCommandInvocation", changes=False) from exc
        status = str(raw.get("Status", ""))
        details = str(raw.get("StatusDetails", ""))
        response_code = raw.get("ResponseCode")
        limit = self.aws.settings.tail_chars
        return Invocation(
            command_id=command_id,
            instance_id=instance_id,
            state=state_of(status, details),
            status=status,
            status_details=details,
            exit_code=(
                int(response_code) if response_code is not None and response_code >= 0 else None
            ),
            stdout=_tail(str(raw.get("StandardOutputContent", "")), limit),
            stderr=_tail(str(raw.get("StandardErrorContent", "")), limit),
        )


__all__ = [
    "DOCUMENTS",
    "MAX_TARGETS",
    "Batch",
    "CommandRequest",
    "Dispatched",
    "Invocation",
    "InvocationState",
    "Outcome",
    "Platform",
    "Ssm",
    "batches",
    "state_of",
]
