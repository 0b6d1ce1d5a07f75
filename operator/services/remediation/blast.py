"""Blast radius: one running execution per target at a time, and at most so many running
executions per company. A run that would exceed either waits in `Approved` (reason
`TargetBusy` or `CompanyBusy`) and is looked at again when a running one ends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from whisperer.operator.services.remediation.steps import StepFailedError

Key = tuple[str, str]
ACTIVE = frozenset({"Dispatching", "Running"})
"""Phases in which a run may be acting on its targets."""


@dataclass(frozen=True)
class Holding:
    """A run that holds its targets (recorded its intent, not finished)."""

    namespace: str
    targets: frozenset[str]


def check(
    key: Key, *, targets: frozenset[str], holding: Mapping[Key, Holding], per_company: int
) -> None:
    """Raise a waiting StepFailedError when `key` may not start now."""
    namespace = key[0]
    others = {k: h for k, h in holding.items() if k != key and h.namespace == namespace}
    busy = sorted(f"{t} (by {k[1]})" for k, h in others.items() for t in h.targets & targets)
    if busy:
        raise StepFailedError(
            "dispatch",
            "TargetBusy",
            "another run is acting on " + ", ".join(busy),
            waiting=True,
        )
    if len(others) >= per_company:
        raise StepFailedError(
            "dispatch",
            "CompanyBusy",
            f"{len(others)} runs of this company are running (the limit is {per_company})",
            waiting=True,
        )


__all__ = ["ACTIVE", "Holding", "check"]
