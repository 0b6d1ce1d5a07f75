"""The automatic runs' circuit breaker, a pure decision: when `failureThreshold` automatic
runs of a company failed (or were ineffective) within `window`, automatic runs pause until an
MSP admin resumes them (a new value of the alertwhisperer.io/resume-auto-remediation
annotation). Failures before the last resume are not counted again. A pause never lifts by
itself: an MSP admin has to look at why the company's automation keeps failing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from whisperer.operator.clock import parse_time, rfc3339
from whisperer.operator.services.remediation.approval import AUTO_ACTOR
from whisperer.operator.services.remediation.steps import TERMINAL

FAILED_OUTCOMES = frozenset({"Failed", "Ineffective"})
"""How an automatic run counts as failed: it did not run to success (any failing step,
a timeout, an unknown result), or it ran and its incident's alerts did not resolve."""


@dataclass(frozen=True)
class Settings:
    """Company.spec.remediation.circuitBreaker."""

    enabled: bool = True
    threshold: int = 3
    window: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class State:
    """Company.status.autoRemediation, as the breaker keeps it."""

    paused: bool = False
    paused_at: datetime | None = None
    message: str = ""
    failed_runs: tuple[str, ...] = ()
    resumed: str | None = None
    resumed_at: datetime | None = None

    def to_status(self) -> dict[str, Any]:
        """The status field (RFC 3339 times, camelCase)."""
        return {
            "paused": self.paused,
            "pausedAt": rfc3339(self.paused_at) if self.paused_at else None,
            "message": self.message,
            "failedRuns": list(self.failed_runs),
            "resumed": self.resumed,
            "resumedAt": rfc3339(self.resumed_at) if self.resumed_at else None,
        }


@dataclass(frozen=True)
class Verdict:
    """The state to keep, and what changed (`paused`, `resumed`, or None)."""

    state: State
    change: Literal["paused", "resumed"] | None = None


def failed_at(body: Mapping[str, Any], *, seen: datetime) -> datetime | None:
    """When an automatic run failed, if it is one that did (its `finishedAt`, else `seen`:
    when the operator saw it end); None for a run a person asked for, one still going, or
    one that healed or was turned down."""
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    if spec.get("requestedBy") != AUTO_ACTOR or status.get("phase") not in TERMINAL:
        return None
    if status.get("outcome") not in FAILED_OUTCOMES and status.get("phase") != "TimedOut":
        return None
    return parse_time(status.get("finishedAt")) or seen


def decide(
    settings: Settings,
    state: State,
    failures: Mapping[str, datetime],
    *,
    resume: str | None,
    now: datetime,
) -> Verdict:
    """The breaker's next state. `failures` are the company's failed automatic runs by name,
    with when they failed; `resume` the resume annotation's value (None: not set)."""
    if resume and resume != state.resumed:
        resumed = State(resumed=resume, resumed_at=now)
        return Verdict(resumed, "resumed" if state.paused else None)
    if state.paused or not settings.enabled:
        return Verdict(state)
    since = now - settings.window
    after = state.resumed_at
    recent = sorted(
        name
        for name, at in failures.items()
        if since <= at <= now and (after is None or at > after)
    )
    if len(recent) < settings.threshold:
        return Verdict(state)
    message = (
        f"{len(recent)} automatic runs failed or were ineffective within {_span(settings.window)} "
        f"(the limit is {settings.threshold}): {', '.join(recent[:10])}"
        + (f" and {len(recent) - 10} more" if len(recent) > 10 else "")
        + "; automatic runs are paused until an MSP admin resumes them"
    )
    paused = replace(
        state, paused=True, paused_at=now, message=message, failed_runs=tuple(recent[:100])
    )
    return Verdict(paused, "paused")


def _span(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    if minutes and minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m" if minutes else f"{int(window.total_seconds())}s"


__all__ = [
    "FAILED_OUTCOMES",
    "Settings",
    "State",
    "Verdict",
    "decide",
    "failed_at",
]
