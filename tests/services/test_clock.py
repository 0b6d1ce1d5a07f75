"""The operator's one clock: the manual clock moves only when told and wakes its sleepers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from whisperer.operator.clock import ManualClock, SystemClock

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_a_manual_clock_moves_only_forward_and_only_when_told() -> None:
    clock = ManualClock(START)
    assert clock.now() == START
    assert clock.advance(timedelta(minutes=5)) == START + timedelta(minutes=5)
    with pytest.raises(ValueError, match="does not go back"):
        clock.set(START)
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1))


def test_a_sleeper_wakes_when_the_clock_passes_its_time_and_not_before() -> None:
    async def scenario() -> list[str]:
        clock = ManualClock(START)
        seen: list[str] = []

        async def sleeper() -> None:
            await clock.sleep_until(START + timedelta(hours=1))
            seen.append(f"woke at {clock.now():%H:%M}")

        task = asyncio.create_task(sleeper())
        await asyncio.sleep(0.01)
        clock.advance(timedelta(minutes=59))
        await asyncio.sleep(0.01)
        seen.append("still asleep" if not task.done() else "woke early")
        clock.advance(timedelta(minutes=2))
        await asyncio.wait_for(task, 1)
        return seen

    assert asyncio.run(scenario()) == ["still asleep", "woke at 10:01"]


def test_a_wake_event_ends_a_sleep_early() -> None:
    async def scenario() -> bool:
        for clock in (ManualClock(START), SystemClock()):
            wake = asyncio.Event()
            task = asyncio.create_task(
                clock.sleep_until(clock.now() + timedelta(days=1), wake=wake)
            )
            await asyncio.sleep(0.01)
            wake.set()
            await asyncio.wait_for(task, 1)
        return True

    assert asyncio.run(scenario())
