"""Correlation's executor against the real API server: the incidents' changes reach the one
incident writer in the order they were decided, across alerts. A join decided after the
create of its incident is never written before it, even while the creating alert still
waits on an earlier plan of its own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from support.alerts import API, operator_kubeconfig
from support.cluster import Cluster

from whisperer.operator.clock import SystemClock
from whisperer.operator.kube import KubeClient
from whisperer.operator.kube.aio import AsyncKube
from whisperer.operator.services.configstore import ConfigStore
from whisperer.operator.services.correlation.executor import Executor
from whisperer.operator.services.correlation.service import CorrelationService, Plan, Step
from whisperer.operator.services.incident_writer import (
    Change,
    IncidentWriter,
    Owner,
    timeline_entry,
)

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
HOT = 1.0  # how long a change to an incident written a moment ago waits for company


def incident(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Incident",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"title": name},
    }


def opened(namespace: str, name: str) -> Change:
    return Change(
        Owner.LIFECYCLE,
        {"phase": "Open"},
        timeline=[timeline_entry(T0, "Opened", "policy:correlation", name)],
        create=incident(namespace, name),
    )


def joined(alert: str, count: int) -> Change:
    return Change(
        Owner.CORRELATION,
        {"alerts": {"count": count, "firing": count, "firstAt": "2026-12-03T09:00:00Z"}},
        timeline=[timeline_entry(T0, "AlertJoined", "policy:correlation", alert)],
    )


def test_a_join_decided_after_its_incidents_create_is_never_written_before_it(
    cluster: Cluster, admin: KubeClient, namespace: str
) -> None:
    retried: list[tuple[str, str, float]] = []
    gone: list[tuple[str, str]] = []

    async def run() -> None:
        kube = AsyncKube.from_kubeconfig(str(operator_kubeconfig(cluster)))
        writer = IncidentWriter(kube, clock=SystemClock(), linger=0.02, hot_linger=HOT)
        writer.gone = lambda ns, name: gone.append((ns, name))
        service = CorrelationService(config=ConfigStore(), clock=SystemClock())
        executor = Executor(service=service, writer=writer, kube=kube)
        executor.retry = lambda ns, name, delay: retried.append((ns, name, delay))
        try:
            # "hot" was written a moment ago: the next change to it waits HOT seconds.
            await writer.submit(namespace, "hot", opened(namespace, "hot"))
            # Alert a: first a join of "hot" (slow), then it opens "fresh".
            await executor.submit(
                Plan(namespace, "a", steps=[Step(namespace, "hot", joined("a", 1))])
            )
            await executor.submit(
                Plan(namespace, "a", steps=[Step(namespace, "fresh", opened(namespace, "fresh"))])
            )
            # Alert b, decided after a opened "fresh", joins it. Nothing of b's waits.
            await executor.submit(
                Plan(namespace, "b", steps=[Step(namespace, "fresh", joined("b", 2))])
            )
            await executor.drain(within=3 * HOT + 10)
            assert not executor._tasks, "every plan finished"
        finally:
            await writer.close()
            await kube.close()

    asyncio.run(run())
    assert gone == [] and retried == [], "no incident was taken for deleted"
    status = admin.get("incidents", "fresh", namespace)["status"]
    assert [e["type"] for e in status["timeline"]] == ["Opened", "AlertJoined"]
    assert status["timeline"][1]["message"] == "b"
    assert status["alerts"]["count"] == 2
    hot = admin.get("incidents", "hot", namespace)["status"]
    assert [e["message"] for e in hot["timeline"]] == ["hot", "a"]
