"""When to try a message again after a temporary failure: exponential backoff with jitter,
the receiver's Retry-After honoured, and a bounded number of attempts after which the
failure is recorded as permanent. Pure: the time and the randomness come from the caller."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from whisperer.operator.errors import DeliveryDeferredError, PermanentError, TemporaryError


@dataclass(frozen=True)
class Retry:
    """Try again at `at`."""

    at: datetime
    delay: timedelta


@dataclass(frozen=True)
class GiveUp:
    """Stop: record the failure as permanent, with why."""

    reason: str


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff `first * factor**(attempt-1)`, capped at `cap`, with "equal jitter" (between
    half and all of it, so retries of a storm spread out but never collapse to zero); at most
    `attempts` attempts in all (the first included)."""

    first: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    cap: timedelta = timedelta(minutes=30)
    attempts: int = 8

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.factor < 1 or self.first <= timedelta(0):
            raise ValueError("a retry policy needs attempts >= 1, factor >= 1, first > 0")

    def backoff(self, attempt: int) -> timedelta:
        """The un-jittered wait after failed attempt number `attempt` (from 1)."""
        seconds = self.first.total_seconds() * self.factor ** max(attempt - 1, 0)
        return timedelta(seconds=min(seconds, self.cap.total_seconds()))

    def decide(
        self, *, attempt: int, error: BaseException, now: datetime, rng: random.Random
    ) -> Retry | GiveUp:
        """After failed attempt number `attempt` (from 1) with `error`: when to retry, or
        give up. Permanent errors (and anything that is not ours: a bug must not loop) give
        up at once; temporary ones retry until `attempts` were made."""
        if isinstance(error, PermanentError):
            return GiveUp(str(error))
        if not isinstance(error, TemporaryError):
            return GiveUp(f"unexpected error: {type(error).__name__}: {error}")
        if attempt >= self.attempts:
            return GiveUp(f"gave up after {attempt} attempts; the last: {error}")
        base = self.backoff(attempt)
        jittered = base / 2 + base / 2 * rng.random()
        wait = jittered
        if isinstance(error, DeliveryDeferredError) and error.retry_after is not None:
            # The receiver's own wish, within our cap: never earlier than it asked.
            asked = timedelta(seconds=min(error.retry_after, self.cap.total_seconds()))
            wait = max(jittered, asked)
        return Retry(at=now + wait, delay=wait)
