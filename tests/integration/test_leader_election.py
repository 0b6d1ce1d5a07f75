"""Two leader electors against the real API server (operator/kube/lease.py): one leads, the
other waits; a crashed leader is replaced within the lease duration; a clean stop hands over
at once; the operator's own ServiceAccount may hold its Lease and no other.

Real time, short durations (a 2 s lease): about 8 s in all.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import pytest
from support.cluster import Cluster

from whisperer.operator.clock import SystemClock
from whisperer.operator.errors import ForbiddenError
from whisperer.operator.kube import KubeClient
from whisperer.operator.kube.lease import KubeLeases, LeaderElector, LeaseRecord

DURATION, DEADLINE, RETRY = 2, 1.5, 0.25


def candidate(kube: KubeClient, namespace: str, lease: str, name: str, **kw: bool) -> LeaderElector:
    return LeaderElector(
        KubeLeases(kube, namespace=namespace, name=lease, timeout=1.0),
        identity=name,
        clock=SystemClock(),
        lease_duration=DURATION,
        renew_deadline=DEADLINE,
        retry_period=RETRY,
        **kw,
    )


async def leads_within(elector: LeaderElector, seconds: float) -> float:
    """Seconds until it leads; fails after `seconds`."""
    began = time.monotonic()
    await asyncio.wait_for(elector.is_leader.wait(), seconds)
    return time.monotonic() - began


async def cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_one_leads_a_crash_is_taken_over_in_the_lease_duration_and_a_stop_at_once(
    admin: KubeClient, namespace: str
) -> None:
    lease = f"lease-{uuid.uuid4().hex[:6]}"

    async def scenario() -> None:
        a = candidate(admin, namespace, lease, "a", release_on_stop=False)
        b = candidate(admin, namespace, lease, "b")
        ta = asyncio.create_task(a.run())
        await leads_within(a, 5)
        tb = asyncio.create_task(b.run())
        await asyncio.sleep(DURATION + 0.5)  # longer than a lease: a must have renewed
        assert a.is_leader.is_set() and not b.is_leader.is_set()
        record = await KubeLeases(admin, namespace=namespace, name=lease).get()
        assert record is not None and record.holder == "a"

        await cancel(ta)  # a crash: a writes nothing more, releases nothing
        took = await leads_within(b, DURATION + 3)
        assert DURATION - RETRY - 0.3 <= took <= DURATION + 2 * RETRY + 1.0, took
        record = await KubeLeases(admin, namespace=namespace, name=lease).get()
        assert record is not None and (record.holder, record.transitions) == ("b", 1)

        c = candidate(admin, namespace, lease, "c")
        tc = asyncio.create_task(c.run())
        await asyncio.sleep(RETRY * 3)
        assert not c.is_leader.is_set()
        b.stop()  # a clean stop releases
        await asyncio.wait_for(tb, 5)
        took = await leads_within(c, DURATION)
        assert took < DURATION / 2, f"a released lease took {took:.2f}s to hand over"
        await cancel(tc)

    asyncio.run(scenario())


def test_the_operator_account_holds_its_own_lease_and_no_other(cluster: Cluster) -> None:
    if cluster.kubeconfig_dir is None:
        pytest.skip("needs the operator's ServiceAccount identity of hack/cluster")
    kube = KubeClient.from_kubeconfig(str(cluster.identity("operator")))
    shipped = "alert-whisperer-operator"  # the chart's default Lease name

    async def scenario() -> None:
        own = candidate(kube, "alert-whisperer", shipped, f"test-{uuid.uuid4().hex[:6]}")
        task = asyncio.create_task(own.run())
        await leads_within(own, DURATION + 3)
        await asyncio.sleep(RETRY * 3)  # renewals go through too
        assert own.is_leader.is_set()
        own.stop()
        await asyncio.wait_for(task, 5)
        record = await KubeLeases(kube, namespace="alert-whisperer", name=shipped).get()
        assert record is not None and record.holder is None  # released
        other = KubeLeases(kube, namespace="alert-whisperer", name="someone-elses-lease")
        with pytest.raises(ForbiddenError):
            await other.get()
        with pytest.raises(ForbiddenError):
            await KubeLeases(kube, namespace="default", name=shipped).create(
                LeaseRecord(holder="x", duration=DURATION)
            )

    try:
        asyncio.run(scenario())
    finally:
        kube.close()
