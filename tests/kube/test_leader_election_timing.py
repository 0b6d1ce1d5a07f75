"""Leader election's timing on a manual clock: who leads, when a standby takes over, when a
leader gives up, what a clean stop hands over (operator/kube/lease.py).

The Lease lives in an in-memory store with compare-and-swap writes (the API server's
resourceVersion semantics); the integration tests run the same elector against the real one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from whisperer.operator.clock import ManualClock
from whisperer.operator.errors import ConflictError, PermanentError, UnavailableError
from whisperer.operator.kube.lease import (
    LeaderElectionSettings,
    LeaderElector,
    LeaseRecord,
    default_identity,
)

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
DURATION, DEADLINE, RETRY = 15, 10.0, 2.0


class MemoryLease:
    """One Lease with resourceVersions; `down` makes every call fail as if unreachable."""

    def __init__(self) -> None:
        self.record: LeaseRecord | None = None
        self.version = 0
        self.history: list[LeaseRecord] = []

    def _store(self, record: LeaseRecord) -> LeaseRecord:
        self.version += 1
        self.record = replace(record, resource_version=str(self.version))
        self.history.append(self.record)
        return self.record

    def view(self) -> MemoryView:
        return MemoryView(self)


class MemoryView:
    """One candidate's connection to the shared Lease."""

    def __init__(self, lease: MemoryLease) -> None:
        self.lease = lease
        self.down = False
        self.conflict_on_create = False

    def _check(self) -> None:
        if self.down:
            raise UnavailableError("the API server did not answer")

    async def get(self) -> LeaseRecord | None:
        self._check()
        return self.lease.record

    async def create(self, record: LeaseRecord) -> LeaseRecord:
        self._check()
        if self.lease.record is not None or self.conflict_on_create:
            raise ConflictError("leases.coordination.k8s.io already exists")
        return self.lease._store(record)

    async def update(self, record: LeaseRecord) -> LeaseRecord:
        self._check()
        current = self.lease.record
        if current is None or current.resource_version != record.resource_version:
            raise ConflictError("the object has been modified")
        return self.lease._store(record)


async def settle() -> None:
    """Let every task run until it waits on the clock again."""
    for _ in range(30):
        await asyncio.sleep(0)


async def run_for(clock: ManualClock, seconds: float, step: float = 0.1) -> None:
    """Move the clock forward in small steps, letting the electors act at each."""
    for _ in range(round(seconds / step)):
        clock.advance(timedelta(seconds=step))
        await settle()


def elector(view: MemoryView, name: str, clock: ManualClock, **kw: Any) -> LeaderElector:
    return LeaderElector(
        view,
        identity=name,
        clock=clock,
        lease_duration=DURATION,
        renew_deadline=DEADLINE,
        retry_period=RETRY,
        jitter=lambda: 0.0,
        **kw,
    )


def scenario(body: Callable[[ManualClock, MemoryLease], Coroutine[Any, Any, None]]) -> None:
    async def main() -> None:
        clock = ManualClock(START)
        await body(clock, MemoryLease())

    asyncio.run(main())


async def stop_all(*tasks: asyncio.Task[None]) -> None:
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_the_first_candidate_takes_a_free_lease_and_the_second_waits_while_it_renews() -> None:
    async def body(clock: ManualClock, lease: MemoryLease) -> None:
        a, b = elector(lease.view(), "a", clock), elector(lease.view(), "b", clock)
        ta = asyncio.create_task(a.run())
        await settle()
        assert a.is_leader.is_set()
        assert lease.record is not None and lease.record.holder == "a"
        assert lease.record.duration == DURATION and lease.record.transitions == 0
        tb = asyncio.create_task(b.run())
        await run_for(clock, 3 * DURATION)
        assert a.is_leader.is_set() and not b.is_leader.is_set()
        assert lease.record.holder == "a"
        assert lease.record.renewed is not None
        assert clock.now() - lease.record.renewed <= timedelta(seconds=RETRY)
        await stop_all(ta, tb)

    scenario(body)


def test_a_standby_takes_over_a_lease_duration_after_the_last_renewal_it_saw() -> None:
    async def body(clock: ManualClock, lease: MemoryLease) -> None:
        a = elector(lease.view(), "a", clock, release_on_stop=False)
        b = elector(lease.view(), "b", clock)
        ta = asyncio.create_task(a.run())
        await settle()
        tb = asyncio.create_task(b.run())
        await run_for(clock, 7)
        await stop_all(ta)  # a crash: no release
        assert lease.record is not None and lease.record.holder == "a"
        last_renewal = lease.record.renewed
        assert last_renewal is not None
        took_over = None
        for _ in range(300):
            await run_for(clock, 0.1)
            if b.is_leader.is_set():
                took_over = clock.now()
                break
        assert took_over is not None, "the standby never took over"
        waited = (took_over - last_renewal).total_seconds()
        assert DURATION <= waited <= DURATION + RETRY + 0.2
        assert lease.record.holder == "b"
        assert lease.record.transitions == 1
        assert lease.record.acquired == lease.record.renewed  # a new term began
        await stop_all(tb)

    scenario(body)


def test_a_leader_that_cannot_renew_stops_leading_before_a_standby_may_start() -> None:
    async def body(clock: ManualClock, lease: MemoryLease) -> None:
        events: list[tuple[str, datetime]] = []

        async def work() -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                events.append(("a's work cancelled", clock.now()))
                raise

        async def stopped() -> None:
            events.append(("a stopped leading", clock.now()))

        view_a = lease.view()
        a, b = elector(view_a, "a", clock), elector(lease.view(), "b", clock)
        ta = asyncio.create_task(a.run(on_started_leading=work, on_stopped_leading=stopped))
        await settle()
        tb = asyncio.create_task(b.run())
        await run_for(clock, 5)
        view_a.down = True  # a is cut off from the API server
        cut_at = clock.now()
        while not b.is_leader.is_set():
            await run_for(clock, 0.1)
            assert clock.now() - cut_at < timedelta(seconds=3 * DURATION)
        events.append(("b leads", clock.now()))
        assert [e for e, _ in events] == ["a's work cancelled", "a stopped leading", "b leads"]
        stopped_at, started_at = events[1][1], events[2][1]
        assert stopped_at - cut_at <= timedelta(seconds=DEADLINE + RETRY)
        assert started_at > stopped_at
        assert ta.done() and not a.stopping  # run() returned: leadership was lost
        await stop_all(tb)

    scenario(body)


def test_a_clean_stop_releases_the_lease_and_the_standby_takes_it_at_once() -> None:
    async def body(clock: ManualClock, lease: MemoryLease) -> None:
        order: list[str] = []

        async def work() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                order.append(f"work ended, holder {lease.record.holder if lease.record else None}")

        a, b = elector(lease.view(), "a", clock), elector(lease.view(), "b", clock)
        ta = asyncio.create_task(a.run(on_started_leading=work))
        await settle()
        tb = asyncio.create_task(b.run())
        await run_for(clock, 5)
        a.stop()
        await asyncio.wait_for(ta, 1)
        assert order == ["work ended, holder a"]  # the work stopped before the Lease went
        assert lease.record is not None and lease.record.holder is None
        stopped = clock.now()
        while not b.is_leader.is_set():
            await run_for(clock, 0.1)
        assert clock.now() - stopped <= timedelta(seconds=RETRY + 0.1)
        await stop_all(tb)

    scenario(body)


def test_a_restarted_process_with_the_same_identity_keeps_its_lease() -> None:
    async def body(clock: ManualClock, lease: MemoryLease) -> None:
        first = elector(lease.view(), "pod-0", clock, release_on_stop=False)
        t1 = asyncio.create_task(first.run())
        await run_for(clock, 3)
        await stop_all(t1)
        again = elector(lease.view(), "pod-0", clock)
        t2 = asyncio.create_task(again.run())
        await settle()
        assert again.is_leader.is_set()
        assert lease.record is not None and lease.record.transitions == 0
        await stop_all(t2)

    scenario(body)


def test_a_candidate_that_loses_the_race_to_create_the_lease_does_not_lead() -> None:
    async def body(clock: ManualClock, lease: MemoryLease) -> None:
        view = lease.view()
        view.conflict_on_create = True
        a = elector(view, "a", clock)
        ta = asyncio.create_task(a.run())
        await run_for(clock, 5)
        assert not a.is_leader.is_set()
        assert lease.history == []
        await stop_all(ta)

    scenario(body)


def test_timing_that_could_let_two_lead_is_refused() -> None:
    clock = ManualClock(START)
    view = MemoryLease().view()
    with pytest.raises(ValueError, match="longer than the renew deadline"):
        LeaderElector(view, identity="a", clock=clock, lease_duration=10, renew_deadline=10)
    with pytest.raises(ValueError, match="retry periods"):
        LeaderElector(view, identity="a", clock=clock, renew_deadline=2, retry_period=2)
    with pytest.raises(ValueError, match="identity"):
        LeaderElector(view, identity="", clock=clock)


def test_settings_come_from_the_environment_and_name_a_bad_variable() -> None:
    settings = LeaderElectionSettings.from_env(
        {
            "WHISPERER_LEADER_ELECTION": "true",
            "WHISPERER_LEASE_NAME": "ops",
            "POD_NAMESPACE": "alert-whisperer",
            "POD_NAME": "alert-whisperer-operator-7d9-x2",
            "WHISPERER_LEASE_DURATION_SECONDS": "20",
            "WHISPERER_LEASE_RENEW_DEADLINE_SECONDS": "12.5",
            "WHISPERER_LEASE_RETRY_PERIOD_SECONDS": "3",
        }
    )
    assert settings == LeaderElectionSettings(
        enabled=True,
        lease_name="ops",
        namespace="alert-whisperer",
        identity="alert-whisperer-operator-7d9-x2",
        lease_duration=20,
        renew_deadline=12.5,
        retry_period=3,
    )
    defaults = LeaderElectionSettings.from_env({"POD_NAME": "p"})
    assert (defaults.enabled, defaults.lease_name, defaults.lease_duration) == (
        False,
        "alert-whisperer-operator",
        15,
    )
    for env, named in (
        ({"WHISPERER_LEADER_ELECTION": "yes"}, "WHISPERER_LEADER_ELECTION"),
        ({"WHISPERER_LEASE_DURATION_SECONDS": "soon"}, "WHISPERER_LEASE_DURATION_SECONDS"),
        ({"WHISPERER_LEASE_DURATION_SECONDS": "7.5"}, "whole seconds"),
        ({"WHISPERER_LEASE_RETRY_PERIOD_SECONDS": "-1"}, "WHISPERER_LEASE_RETRY_PERIOD_SECONDS"),
        ({"WHISPERER_LEASE_RENEW_DEADLINE_SECONDS": "30"}, "longer than the renew deadline"),
    ):
        with pytest.raises(PermanentError, match=named):
            LeaderElectionSettings.from_env(env)


def test_the_identity_is_the_pod_name_else_host_and_pid() -> None:
    assert default_identity({"POD_NAME": "op-0"}) == "op-0"
    host_pid = default_identity({})
    assert host_pid.rsplit("_", 1)[1].isdigit()


def test_the_fence_closes_within_the_renew_deadline_before_a_standby_may_lead() -> None:
    """`holds()`, asked before every write, turns False within the renew deadline of the
    last good renewal, even when the leader's own loop has not run since (a stalled event
    loop), and before any standby leads."""

    async def body(clock: ManualClock, lease: MemoryLease) -> None:
        view_a = lease.view()
        a, b = elector(view_a, "a", clock), elector(lease.view(), "b", clock)
        ta = asyncio.create_task(a.run())
        await settle()
        assert a.holds() and not b.holds()
        tb = asyncio.create_task(b.run())
        await run_for(clock, 5)
        assert a.holds()
        # A jump with no chance to renew (the loop stalled): the fence is closed at once.
        renewed = lease.record.renewed if lease.record else None
        assert renewed is not None
        clock.advance(timedelta(seconds=DEADLINE))
        assert not a.holds()
        await settle()  # a renews again: the fence opens
        assert a.holds()
        view_a.down = True
        cut_at = clock.now()
        closed_at = None
        while not b.is_leader.is_set():
            if closed_at is None and not a.holds():
                closed_at = clock.now()
            await run_for(clock, 0.1)
        assert closed_at is not None
        assert closed_at - cut_at <= timedelta(seconds=DEADLINE + 0.1)
        assert closed_at < clock.now()  # closed before b led
        assert not a.holds() and b.holds()
        await stop_all(ta, tb)

    scenario(body)
