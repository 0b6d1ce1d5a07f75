"""The decisions of a run's named steps (admit → approve → credentials → dispatch → poll →
verify → report), pure: each takes what the handler read and the clock's now, and returns
what to write. A step that fails says so with its own reason (`StepFailedError`), which the
handler writes into the run's Ready condition and an Event."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from whisperer.operator.models.v1alpha1 import Company, Runbook, RunbookExecution
from whisperer.operator.remote import Outcome, check_parameters
from whisperer.operator.services.durations import parse_duration

STEPS = ("admit", "approve", "credentials", "dispatch", "poll", "verify", "report")
TERMINAL = frozenset({"Succeeded", "Failed", "Rejected", "Expired", "Cancelled", "TimedOut"})
MAX_ATTEMPTS = 3
"""Attempts of a run whose delivery timed out on every target (it never started)."""
POLL_BACKOFF = (2.0, 3.0, 4.0, 5.0)
"""Seconds between polls of one command: no more than one every 2-5 s."""
DELIVERY_TIMEOUT = 600
"""Seconds SSM keeps trying to deliver a command (its TimeoutSeconds)."""

Provider = Literal["aws-ssm", "azure-run-command"]


class StepFailedError(Exception):
    """A step that cannot go on: `reason` names it (a condition's reason, an Event's),
    `phase` is where the run ends (Failed, unless said otherwise); `waiting` means a later
    look may succeed (the run stays where it is)."""

    def __init__(
        self,
        step: str,
        reason: str,
        message: str,
        *,
        phase: str = "Failed",
        waiting: bool = False,
    ) -> None:
        super().__init__(message)
        self.step = step
        self.reason = reason
        self.message = message
        self.phase = phase
        self.waiting = waiting


@dataclass(frozen=True)
class Target:
    """One asset the run touches, as its cloud names it."""

    asset: str
    cloud: str
    platform: str
    instance_id: str | None = None
    region: str | None = None
    resource_id: str | None = None

    @property
    def remote_id(self) -> str:
        """The instance id (AWS) or the VM's resource id (Azure)."""
        return self.instance_id or self.resource_id or ""


@dataclass(frozen=True)
class Admitted:
    """What admission found: the runbook, its risk, the targets and the parameters."""

    runbook: Runbook
    risk: str
    provider: Provider
    targets: tuple[Target, ...]
    parameters: dict[str, str]

    @property
    def timeout_seconds(self) -> int:
        """The runbook's timeout, per target."""
        return int(parse_duration(self.runbook.spec.timeout).total_seconds())

    @property
    def verify_window(self) -> timedelta:
        """How long the incident's alerts have to resolve after the run."""
        return parse_duration(self.runbook.spec.verify_window)


def runbook_ref(runbook: Runbook) -> str:
    """namespace/name."""
    return f"{runbook.metadata.namespace}/{runbook.metadata.name}"


def admit(run: RunbookExecution, *, runbook: Runbook | None, company: Company | None) -> Admitted:
    """The runbook exists, every target is in the company's inventory with an instance or
    resource id on one cloud, the platform fits, the parameters are valid."""
    ref = run.spec.runbook_ref.name
    if company is None:
        raise StepFailedError(
            "admit", "CompanyNotFound", "the run's company is not known", waiting=True
        )
    if runbook is None:
        raise StepFailedError(
            "admit", "RunbookNotFound", f"runbook {ref!r} not found", waiting=True
        )
    spec = runbook.spec
    if len(run.spec.targets) > spec.max_targets:
        raise StepFailedError(
            "admit",
            "TooManyTargets",
            f"{len(run.spec.targets)} targets; runbook {ref} allows {spec.max_targets}",
        )
    assets = {a.name: a for a in company.spec.assets}
    targets: list[Target] = []
    for name in run.spec.targets:
        asset = assets.get(name)
        if asset is None:
            raise StepFailedError(
                "admit", "TargetNotInInventory", f"{name!r} is not in the company's inventory"
            )
        if asset.cloud == "aws" and asset.instance_id:
            targets.append(
                Target(
                    name,
                    "aws",
                    str(asset.platform),
                    instance_id=asset.instance_id,
                    region=asset.region,
                )
            )
        elif asset.cloud == "azure" and asset.resource_id:
            targets.append(
                Target(
                    name,
                    "azure",
                    str(asset.platform),
                    resource_id=asset.resource_id,
                    region=asset.region,
                )
            )
        else:
            raise StepFailedError(
                "admit",
                "TargetNotReachable",
                f"{name!r} has no AWS instance id or Azure resource id to run on",
            )
        if asset.platform not in (spec.platform, "other"):
            raise StepFailedError(
                "admit",
                "PlatformMismatch",
                f"{name!r} runs {asset.platform}; runbook {ref} is for {spec.platform}",
            )
    clouds = {t.cloud for t in targets}
    if len(clouds) != 1:
        raise StepFailedError("admit", "MixedClouds", "one run's targets must all be on one cloud")
    parameters = parameter_values(run, runbook)
    provider: Provider = "aws-ssm" if clouds == {"aws"} else "azure-run-command"
    return Admitted(runbook, str(spec.risk), provider, tuple(targets), parameters)


def parameter_values(run: RunbookExecution, runbook: Runbook) -> dict[str, str]:
    """The values to send: the run's, else the runbook's defaults; unknown names, missing
    required ones, a value off its pattern or its allowed values are refused."""
    declared = {p.name: p for p in runbook.spec.parameters}
    given = dict(run.spec.parameters)
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise StepFailedError(
            "admit", "InvalidParameters", f"the runbook takes no parameter {', '.join(unknown)}"
        )
    values: dict[str, str] = {}
    for name, p in declared.items():
        value = given.get(name, p.default)
        if value is None:
            if p.required:
                raise StepFailedError("admit", "InvalidParameters", f"parameter {name} is required")
            continue
        if p.pattern and not re.fullmatch(p.pattern, value):
            raise StepFailedError(
                "admit",
                "InvalidParameters",
                f"parameter {name}={value!r} does not match {p.pattern}",
            )
        if p.allowed_values is not None and value not in p.allowed_values:
            raise StepFailedError(
                "admit",
                "InvalidParameters",
                f"parameter {name}={value!r} is not one of {', '.join(p.allowed_values)}",
            )
        values[name] = value
    try:
        check_parameters(values)
    except ValueError as exc:
        raise StepFailedError("admit", "InvalidParameters", str(exc)) from exc
    return values


def intent_token(namespace: str, name: str, attempt: int) -> str:
    """The run's intent token for one attempt: deterministic (a restart computes the same),
    in SSM's Comment alphabet, at most 80 characters (with the batch suffix)."""
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:20]
    return f"aw-{digest}-{attempt}"


def next_poll(polls: int, *, now: datetime) -> datetime:
    """When to poll a command again after `polls` polls (2 s, 3 s, 4 s, then every 5 s)."""
    return now + timedelta(seconds=POLL_BACKOFF[min(polls, len(POLL_BACKOFF) - 1)])


@dataclass(frozen=True)
class TargetState:
    """One target's poll, cloud-neutral."""

    target: str
    status: str
    """The TargetResult status (Pending, InProgress, Success, Failed, TimedOut, ...)."""
    outcome: Outcome | None
    exit_code: int | None = None
    output: str = ""
    delivery_timed_out: bool = False


SSM_STATUS = {
    "Pending": "Pending",
    "InProgress": "InProgress",
    "Delayed": "Pending",
    "Cancelling": "InProgress",
    "Success": "Success",
    "Failed": "Failed",
    "DeliveryTimedOut": "Undeliverable",
    "ExecutionTimedOut": "TimedOut",
    "Cancelled": "Cancelled",
    "Undeliverable": "Undeliverable",
    "Terminated": "Undeliverable",
    "Unknown": "Pending",
}
AZURE_STATUS = {
    "Unknown": "Pending",
    "Pending": "Pending",
    "Running": "InProgress",
    "Succeeded": "Success",
    "Failed": "Failed",
    "TimedOut": "TimedOut",
    "Canceled": "Cancelled",
}


@dataclass(frozen=True)
class PollVerdict:
    """What the polls of every target come to: still going, a retry (delivery timed out on
    every target), or the end (phase, reason, outcome)."""

    done: bool
    phase: str = "Running"
    reason: str = ""
    message: str = ""
    retry: bool = False


def judge(states: Sequence[TargetState], *, attempt: int) -> PollVerdict:
    """Every target's outcome together. Execution timed out is `ResultUnknown`: never sent
    again. Delivery timed out everywhere: another attempt (it never ran)."""
    if any(s.outcome is None for s in states):
        return PollVerdict(done=False)
    outcomes = [s.outcome for s in states]
    if all(o == Outcome.SUCCEEDED for o in outcomes):
        return PollVerdict(True, "Verifying", "Succeeded", "the runbook succeeded on every target")
    unknown = [s.target for s in states if s.outcome == Outcome.RESULT_UNKNOWN]
    if unknown:
        return PollVerdict(
            True,
            "Failed",
            "ResultUnknown",
            f"stopped at the execution timeout on {', '.join(unknown)}: it may have changed "
            "things; not sent again",
        )
    failed = [s for s in states if s.outcome == Outcome.FAILED]
    if failed:
        codes = ", ".join(f"{s.target} (exit {s.exit_code})" for s in failed)
        return PollVerdict(True, "Failed", "CommandFailed", f"the runbook failed on {codes}")
    not_run = [s for s in states if s.outcome == Outcome.NOT_RUN]
    if not_run and all(s.delivery_timed_out for s in not_run) and attempt < MAX_ATTEMPTS:
        return PollVerdict(
            True, "Dispatching", "DeliveryTimedOut", "never delivered: sent again", retry=True
        )
    if not_run:
        names = ", ".join(s.target for s in not_run)
        return PollVerdict(True, "Failed", "Undeliverable", f"never ran on {names}")
    return PollVerdict(True, "Cancelled", "Cancelled", "the command was cancelled")


def verify(
    incident: Mapping[str, Any] | None, *, until: datetime, now: datetime
) -> tuple[str, str] | None:
    """SelfHealed when the incident's alerts all resolved by `until` (event time), Ineffective
    once `until` passed on the clock without it; None while waiting."""
    if incident is not None:
        status = incident.get("status") or {}
        alerts = status.get("alerts") or {}
        quiet = alerts.get("quietSince")
        firing = int(alerts.get("firing") or 0)
        seen = int(alerts.get("count") or 0) > 0
        if seen and firing == 0 and (quiet is None or _parse(quiet) <= until):
            return "SelfHealed", "the incident's alerts resolved after the run"
        if status.get("phase") == "Resolved":
            return "SelfHealed", "the incident resolved after the run"
    if now >= until:
        return "Ineffective", "the incident's alerts still fire after the verify window"
    return None


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


__all__ = [
    "AZURE_STATUS",
    "DELIVERY_TIMEOUT",
    "MAX_ATTEMPTS",
    "SSM_STATUS",
    "STEPS",
    "TERMINAL",
    "Admitted",
    "PollVerdict",
    "StepFailedError",
    "Target",
    "TargetState",
    "admit",
    "intent_token",
    "judge",
    "next_poll",
    "parameter_values",
    "runbook_ref",
    "verify",
]
