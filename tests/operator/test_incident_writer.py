"""The one incident writer against the real API server: changes from every owner, made at
once and many times, while a technician keeps editing the incident's spec, all land; no
timeline entry is lost; each field ends as its owner last wrote it; a field written by the
wrong owner is refused before anything is sent."""

from __future__ import annotations

import asyncio
import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.alerts import API, operator_kubeconfig
from support.cluster import Cluster

from whisperer.operator.clock import SystemClock
from whisperer.operator.errors import PermanentError
from whisperer.operator.kube import KubeClient
from whisperer.operator.kube.aio import AsyncKube
from whisperer.operator.services.incident_writer import (
    TIMELINE_LIMIT,
    Change,
    EventSpec,
    IncidentWriter,
    Owner,
    timeline_entry,
)

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ROUNDS = 20


def body(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Incident",
        "metadata": {"name": "busy", "namespace": namespace},
        "spec": {"title": "db01: disk-space-low"},
    }


def rules(n: int) -> dict[str, Any]:
    return {
        "severity": "high",
        "score": 50 + n,
        "priority": "P2",
        "rootCause": {"asset": "db01", "signal": "disk-space-low", "decidedBy": "rules"},
    }


def correlation(n: int) -> Change:
    return Change(
        Owner.CORRELATION,
        {
            "company": "acme",
            "aggregationKey": "db01|disk-space-low",
            "pattern": "single",
            "rules": rules(n),
            "alerts": {"count": n, "firing": n, "firstAt": "2026-11-27T09:00:00Z"},
        },
        timeline=[
            timeline_entry(
                T0 + timedelta(seconds=n), "AlertJoined", "policy:correlation", f"al-{n}"
            )
        ],
    )


def lifecycle(n: int) -> Change:
    phase = "Acknowledged" if n % 2 else "Open"
    return Change(
        Owner.LIFECYCLE,
        {"phase": phase},
        timeline=[
            timeline_entry(T0 + timedelta(seconds=n, milliseconds=1), "PhaseSet", "sam", phase)
        ],
        events=[EventSpec("PhaseSet", phase, f"phase/{n}")],
    )


def analysis(n: int) -> Change:
    return Change(
        Owner.ANALYSIS,
        {
            "analysis": {
                "provider": "anthropic",
                "model": "claude-sonnet-5-5",
                "at": "2026-11-27T09:05:00Z",
                "inputHash": f"{n:064x}",
                "appliedSeverity": False,
                "costUsd": 0.001 * n,
            }
        },
        timeline=[
            timeline_entry(T0 + timedelta(seconds=n, milliseconds=2), "Analysed", "ai", str(n))
        ],
    )


def sla(n: int) -> Change:
    return Change(
        Owner.SLA,
        {"sla": {"policy": "p", "responseDueAt": f"2026-11-27T{10 + n % 10:02d}:00:00Z"}},
    )


def test_every_owner_writing_at_once_while_a_technician_edits_loses_nothing(
    cluster: Cluster, admin: KubeClient, namespace: str
) -> None:
    stop = threading.Event()
    edits = 0

    def technician() -> None:
        """Notes in the spec, as fast as the API server takes them: each one moves the
        resourceVersion under the writer."""
        nonlocal edits
        while not stop.is_set():
            note = {"author": "sam", "at": "2026-11-27T09:30:00Z", "text": f"note {edits}"}
            try:
                admin.apply_custom(
                    "incidents",
                    {**body(namespace), "spec": {**body(namespace)["spec"], "notes": [note]}},
                    field_manager="technician",
                )
                edits += 1
            except Exception:
                pass
            stop.wait(0.01)

    async def owners() -> tuple[IncidentWriter, list[Change]]:
        """Every owner's changes, each submitted at a random moment; returns them in the
        order they reached the writer."""
        kube = AsyncKube.from_kubeconfig(str(operator_kubeconfig(cluster)))
        writer = IncidentWriter(kube, clock=SystemClock(), linger=0.005, hot_linger=0.02)
        changes: list[Change] = []
        submitted: list[Change] = []
        try:
            first = Change(
                Owner.LIFECYCLE,
                {"phase": "Open"},
                timeline=[timeline_entry(T0, "Opened", "policy:correlation", "a new problem")],
                create=body(namespace),
            )
            await writer.submit(namespace, "busy", first)
            editor = threading.Thread(target=technician)
            editor.start()
            rng = random.Random(7)

            async def one(change: Change, delay: float) -> None:
                await asyncio.sleep(delay)
                submitted.append(change)
                await writer.submit(namespace, "busy", change)

            for n in range(1, ROUNDS + 1):
                changes += [correlation(n), lifecycle(n), analysis(n), sla(n)]
            await asyncio.gather(*(one(c, rng.random() * 0.5) for c in changes))
            stop.set()
            editor.join()
            await writer.close()
        finally:
            stop.set()
            await kube.close()
        return writer, submitted

    writer, changes = asyncio.run(owners())
    status = admin.get("incidents", "busy", namespace)["status"]
    # Every entry is there once (within the bound), Opened first.
    wanted = 1 + 3 * ROUNDS
    assert wanted <= TIMELINE_LIMIT
    timeline = status["timeline"]
    assert timeline[0]["type"] == "Opened"
    assert len(timeline) == wanted
    assert len({(e["type"], e["actor"], e["at"]) for e in timeline}) == wanted
    for kind in ("AlertJoined", "PhaseSet", "Analysed"):
        assert sum(e["type"] == kind for e in timeline) == ROUNDS, kind

    # Each field as its owner last wrote it (changes apply in the order they reached it).
    def last(owner: Owner) -> dict[str, Any]:
        return next(c for c in reversed(changes) if c.owner == owner).fields

    assert status["alerts"] == last(Owner.CORRELATION)["alerts"]
    wrote = last(Owner.CORRELATION)["rules"]
    assert (status["rules"]["score"], status["rules"]["severity"]) == (wrote["score"], "high")
    assert status["analysis"] == {"cached": False, **last(Owner.ANALYSIS)["analysis"]}
    assert status["phase"] == last(Owner.LIFECYCLE)["phase"]
    assert status["sla"]["responseDueAt"] == last(Owner.SLA)["sla"]["responseDueAt"]
    # Composed at every write: the rules' conclusions (the AI did not decide), and the
    # deadline that matters for the phase.
    assert (status["severity"], status["score"]) == ("high", status["rules"]["score"])
    assert status["sla"].get("nextDueAt") == (
        status["sla"]["responseDueAt"] if status["phase"] == "Open" else None
    )
    # The technician's edits kept landing, and made the writer retry, not lose.
    assert edits > 0
    assert writer.stats.conflicts > 0
    assert writer.stats.writes < writer.stats.submitted  # gathered into fewer writes
    spec = admin.get("incidents", "busy", namespace)["spec"]
    assert spec["notes"][0]["text"].startswith("note ")


def test_the_last_change_of_each_owner_wins_in_the_order_submitted(
    cluster: Cluster, admin: KubeClient, namespace: str
) -> None:
    async def run() -> None:
        kube = AsyncKube.from_kubeconfig(str(operator_kubeconfig(cluster)))
        writer = IncidentWriter(kube, clock=SystemClock(), linger=0.02, hot_linger=0.05)
        try:
            futures = [
                writer.submit(
                    namespace,
                    "busy",
                    Change(Owner.LIFECYCLE, {"phase": "Open"}, create=body(namespace)),
                )
            ]
            for n in range(1, ROUNDS + 1):
                futures += [writer.submit(namespace, "busy", c) for c in (correlation(n), sla(n))]
                if n % 5 == 0:
                    await asyncio.sleep(0.05)  # some in one write, some in the next
            await asyncio.gather(*futures)
        finally:
            await writer.close()
            await kube.close()

    asyncio.run(run())
    status = admin.get("incidents", "busy", namespace)["status"]
    assert status["alerts"]["count"] == ROUNDS
    assert status["sla"]["responseDueAt"] == sla(ROUNDS).fields["sla"]["responseDueAt"]
    assert [e["message"] for e in status["timeline"]] == [f"al-{n}" for n in range(1, ROUNDS + 1)]


def test_a_field_of_another_owner_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(PermanentError, match="analysis may not write phase"):
        Change(Owner.ANALYSIS, {"phase": "Resolved"})
    with pytest.raises(PermanentError, match="correlation may not write assignee, sla"):
        Change(Owner.CORRELATION, {"sla": {}, "assignee": "sam"})
