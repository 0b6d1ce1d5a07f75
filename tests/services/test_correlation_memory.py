"""Correlation's memory is bounded: resolved incidents leave it once their reopen window has
passed, and what it keeps of storms and periodic problems is small. Run on the service the
operator runs, with a manual clock (no API server: memory is all this looks at)."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

from whisperer.operator.clock import ManualClock
from whisperer.operator.services.configstore import ConfigStore
from whisperer.operator.services.correlation.service import LATE_GRACE, CorrelationService, Plan

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
COMPANY = "mem"
NS = f"company-{COMPANY}"


def store() -> ConfigStore:
    config = ConfigStore()
    config.apply(
        "companies",
        "ADDED",
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Company",
            "metadata": {"name": COMPANY},
            "spec": {
                "displayName": COMPANY,
                "slaPolicyRef": {"name": "none"},
                "incidents": {"autoResolveHoldDown": "5m", "reopenWindow": "1h"},
            },
        },
    )
    return config


def alert(
    n: int, *, state: str, generation: int, status: dict[str, Any] | None = None
) -> dict[str, Any]:
    at = (T0 + timedelta(seconds=4 * n)).strftime("%Y-%m-%dT%H:%M:%SZ")  # 15 a minute: no storm
    spec: dict[str, Any] = {
        "fingerprint": f"{n:016x}",
        "source": "generic",
        "asset": {"name": f"host{n}", "known": True},
        "signal": f"job-{n}-failed",  # one problem each: no storm, no periodic series
        "severity": "low",
        "state": state,
        "firstSeen": at,
        "lastSeen": at,
    }
    if state == "resolved":
        spec["resolvedAt"] = at
    return {
        "apiVersion": "alertwhisperer.io/v1alpha1",
        "kind": "Alert",
        "metadata": {"name": f"al-{n}", "namespace": NS, "generation": generation},
        "spec": spec,
        "status": status or {},
    }


def test_ten_thousand_resolved_incidents_leave_memory_after_their_reopen_window() -> None:
    clock = ManualClock(T0)
    service = CorrelationService(config=store(), clock=clock)
    n = 10_000
    gc.collect()
    tracemalloc.start()
    empty, _ = tracemalloc.get_traced_memory()
    for i in range(n):
        plan = service.handle_alert(alert(i, state="firing", generation=1))
        assert plan is not None and plan.alert_status is not None
        service.written(NS, f"al-{i}", plan)
        placed = {**plan.alert_status}
        plan = service.handle_alert(alert(i, state="resolved", generation=2, status=placed))
        assert plan is not None
        service.written(NS, f"al-{i}", plan)
    assert service.held()[0] == n  # all open (quiet), none resolved yet
    with_open, _ = tracemalloc.get_traced_memory()

    clock.advance(timedelta(minutes=5))  # the hold-down
    plans, _ = service.auto_resolve()
    assert len(plans) == n
    assert service.held()[:2] == (0, n)  # resolved, kept for their reopen window
    del plans

    clock.advance(timedelta(hours=1) + LATE_GRACE - timedelta(seconds=1))
    service.auto_resolve()
    assert service.held()[1] == n  # not yet: a late recurrence may still reopen them

    clock.advance(timedelta(seconds=2))
    service.auto_resolve()
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert service.held() == (0, 0, 0, 0)  # no incident, merge or alert is held any more
    # What stays is each problem's periodic history (a time and a name per occurrence, at
    # most ten, for 35 days) and the room the emptied tables keep: a fraction of what the
    # open incidents took, under a kilobyte a problem.
    held_open, held_after = with_open - empty, after - empty
    assert held_after < held_open / 4, (held_after, held_open)
    assert held_after / n < 1000, f"{held_after / n:.0f} bytes per problem"


def test_a_recurrence_after_memory_let_go_opens_anew() -> None:
    clock = ManualClock(T0)
    service = CorrelationService(config=store(), clock=clock)
    stored: dict[str, dict[str, Any]] = {}  # the incidents as the writer would store them

    def carried_out(plan: Plan) -> None:
        for step in plan.steps:
            body = stored.setdefault(step.name, dict(step.change.create or {}))
            body.setdefault("status", {}).update(step.change.fields)

    plan = service.handle_alert(alert(1, state="firing", generation=1))
    assert plan is not None and plan.alert_status is not None
    carried_out(plan)
    first = dict(plan.alert_status)
    service.written(NS, "al-1", plan)
    plan = service.handle_alert(alert(1, state="resolved", generation=2, status=first))
    assert plan is not None and plan.alert_status is not None
    carried_out(plan)
    status = {**first, **plan.alert_status}
    service.written(NS, "al-1", plan)
    clock.advance(timedelta(minutes=5))
    for p in service.auto_resolve()[0]:
        carried_out(p)
    clock.advance(timedelta(hours=2))
    service.auto_resolve()
    assert service.held() == (0, 0, 0, 0)
    # Reported firing again long after: its earlier incident is read again (is it known
    # noise?), and, one occurrence being no pattern, it opens a new incident of its own,
    # told apart by its time.
    again = alert(1, state="firing", generation=3, status=status)
    again["spec"]["lastSeen"] = (T0 + timedelta(hours=2, minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan = service.handle_alert(again)
    assert plan is not None and plan.load is not None
    assert plan.load == first["incidentRef"]["name"]
    earlier = stored[plan.load]
    assert earlier["status"]["phase"] == "Resolved"
    service.load(earlier)
    plan = service.handle_alert(again)
    assert plan is not None and plan.alert_status is not None
    opened = [s.name for s in plan.steps if s.change.create is not None]
    assert opened == [plan.alert_status["incidentRef"]["name"]]
    assert opened[0] != first["incidentRef"]["name"]
