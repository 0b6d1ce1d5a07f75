"""One clock for the whole operator: every "now" comes from here, so tests can move time.

The operator builds one `Clock` at startup (the runner's composition root) and hands it to
every service and loop. Production uses `SystemClock`; tests use `ManualClock`, which only
moves when the test says so (and wakes whoever sleeps on it), so time-based behaviour
(auto-resolve, hold-down, retention, SLA deadlines) is tested without real minutes.

It sits in the bottom layer (beside `errors`), so I/O wrappers may use it too.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


def rfc3339(when: datetime) -> str:
    """A time as every status and Event field writes it: RFC 3339, UTC, to the second (the
    year zero-padded, so year 1 is 0001, as the API server's date-time format wants)."""
    return when.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def parse_time(value: object) -> datetime | None:
    """A stored time (RFC 3339, as `rfc3339` writes it), or None when there is none."""
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class Clock(Protocol):
    """Where "now" comes from."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    async def sleep_until(self, when: datetime, *, wake: asyncio.Event | None = None) -> None:
        """Return at `when` (or at once if it passed), or earlier when `wake` is set."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """The current time, UTC."""
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime, *, wake: asyncio.Event | None = None) -> None:
        """Sleep until `when`, or until `wake` is set."""
        delay = max((when - self.now()).total_seconds(), 0.0)
        await _wait(wake, delay)


class ManualClock:
    """A clock that moves only when told (`advance`, `set`); thread-safe.

    Sleepers registered with `sleep_until` are woken whenever the time moves, so a loop
    that sleeps until a deadline runs as soon as a test moves the clock past it.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        """The clock's time."""
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        """Move to `when` (never backwards)."""
        with self._lock:
            if when < self._now:
                raise ValueError(f"a ManualClock does not go back ({when} < {self._now})")
            self._now = when.astimezone(UTC)
            listeners = list(self._listeners)
        for notify in listeners:
            notify()

    def advance(self, by: timedelta) -> datetime:
        """Move forward by `by`; returns the new time."""
        self.set(self.now() + by)
        return self.now()

    async def sleep_until(self, when: datetime, *, wake: asyncio.Event | None = None) -> None:
        """Return once the clock reaches `when` (or `wake` is set)."""
        loop = asyncio.get_running_loop()
        moved = asyncio.Event()

        def notify() -> None:
            loop.call_soon_threadsafe(moved.set)

        with self._lock:
            self._listeners.append(notify)
        try:
            while self.now() < when and not (wake is not None and wake.is_set()):
                moved.clear()
                await _wait(wake, None, also=moved)
        finally:
            with self._lock:
                self._listeners.remove(notify)


async def _wait(
    wake: asyncio.Event | None, seconds: float | None, *, also: asyncio.Event | None = None
) -> None:
    """Wait for `seconds` (None: forever), or until `wake` or `also` is set."""
    events = [e for e in (wake, also) if e is not None]
    if not events:
        await asyncio.sleep(seconds or 0)
        return
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


__all__ = ["Clock", "ManualClock", "SystemClock", "parse_time", "rfc3339"]
