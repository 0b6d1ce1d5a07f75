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
from whisperer.operator.services.correlation.service import LATE_GRACE, CorrelationService

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


def test_a_recurrence_after_memory_let_go_opens_anew_and_a_periodic_one_loads_its_series() -> None:
    clock = ManualClock(T0)
    service = CorrelationService(config=store(), clock=clock)
    plan = service.handle_alert(alert(1, state="firing", generation=1))
    assert plan is not None and plan.alert_status is not None
    first = dict(plan.alert_status)
    service.written(NS, "al-1", plan)
    plan = service.handle_alert(alert(1, state="resolved", generation=2, status=first))
    assert plan is not None and plan.alert_status is not None
    service.written(NS, "al-1", plan)
    clock.advance(timedelta(minutes=5))
    service.auto_resolve()
    clock.advance(timedelta(hours=2))
    service.auto_resolve()
    assert service.held() == (0, 0, 0, 0)
