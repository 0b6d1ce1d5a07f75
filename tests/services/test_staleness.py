"""Staleness in event time, known noise and its SLA clocks: the pure parts
the operator and the bench share (the operator's behaviour is in tests/operator/
test_streams.py, against the real API server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from whisperer.operator.clock import ManualClock
from whisperer.operator.models.v1alpha1 import SLAPolicy
from whisperer.operator.models.v1alpha1.company import CompanySpec
from whisperer.operator.services.assessment import is_noise
from whisperer.operator.services.configstore import ConfigStore
from whisperer.operator.services.correlation import AlertFacts, Correlator
from whisperer.operator.services.correlation.service import CorrelationService
from whisperer.operator.services.correlation.staleness import EventClock, quiet_for, stale_at
from whisperer.operator.services.facts import facts_of
from whisperer.operator.services.sla.clocks import evaluate

T0 = datetime(2022, 1, 21, tzinfo=UTC)
WALL = datetime(2026, 12, 2, 12, tzinfo=UTC)


def company(**incidents: object) -> CompanySpec:
    return CompanySpec.model_validate(
        {"displayName": "acme", "slaPolicyRef": {"name": "p"}, "incidents": incidents}
    )


def test_defaults_per_tool_and_a_company_override() -> None:
    facts = facts_of(company())
    assert stale_at(facts, source="generic", reported=T0) == T0 + timedelta(minutes=30)
    assert stale_at(facts, source="alertmanager", reported=T0) is None  # sends resolutions
    assert stale_at(facts, source="pagerduty", reported=T0) == T0 + timedelta(hours=4)
    # Alertmanager's own endsAt counts, when after the report.
    ends = T0 + timedelta(minutes=5)
    assert stale_at(facts, source="alertmanager", reported=T0, ends_at=ends) == ends
    assert stale_at(facts, source="alertmanager", reported=T0, ends_at=T0) is None
    custom = facts_of(company(staleAfter={"generic": "0s", "alertmanager": "1h"}))
    assert stale_at(custom, source="generic", reported=T0) is None
    assert stale_at(custom, source="alertmanager", reported=T0) == T0 + timedelta(hours=1)


def test_an_unknown_tool_in_stale_after_is_refused_with_its_name() -> None:
    with pytest.raises(ValidationError, match="not nagios"):
        company(staleAfter={"nagios": "1h"})


def test_event_time_runs_from_the_reports_and_on_with_the_wall_clock() -> None:
    clock = EventClock()
    assert clock.now("acme", WALL) is None
    clock.reported("acme", T0, WALL)
    clock.reported("acme", T0 - timedelta(hours=1), WALL)  # a late delivery: no step back
    assert clock.now("acme", WALL + timedelta(minutes=3)) == T0 + timedelta(minutes=3)
    clock.reported("acme", T0 + timedelta(days=2), WALL + timedelta(seconds=1))  # a replay
    assert clock.now("acme", WALL + timedelta(seconds=1)) == T0 + timedelta(days=2)
    # A tool whose clock runs a year ahead pulls event time at most 5 minutes past the wall.
    skewed = EventClock()
    skewed.reported("acme", WALL + timedelta(days=365), WALL)
    assert skewed.now("acme", WALL) == WALL + timedelta(minutes=5)


def test_alerts_expire_once_each_earliest_first_and_a_new_report_moves_them() -> None:
    clock = EventClock()
    clock.reported("acme", T0, WALL)
    clock.track("acme", "a", T0 + timedelta(minutes=10))
    clock.track("acme", "b", T0 + timedelta(minutes=5))
    clock.track("acme", "c", T0 + timedelta(minutes=7))
    clock.track("acme", "c", T0 + timedelta(minutes=40))  # reported again
    clock.track("acme", "d", T0 + timedelta(minutes=1))
    clock.track("acme", "d", None)  # resolved by its tool
    assert clock.next_due("acme") == T0 + timedelta(minutes=5)
    assert clock.wall("acme", T0 + timedelta(minutes=5)) == WALL + timedelta(minutes=5)
    expired = clock.expire("acme", WALL + timedelta(minutes=11))
    assert expired == [("b", T0 + timedelta(minutes=5)), ("a", T0 + timedelta(minutes=10))]
    assert clock.expire("acme", WALL + timedelta(minutes=11)) == []
    assert clock.due("acme", "c") == T0 + timedelta(minutes=40)


def test_quiet_for_reads_like_people_write_it() -> None:
    assert quiet_for(timedelta(days=3, hours=4, minutes=5)) == "3d 4h"
    assert quiet_for(timedelta(hours=2, minutes=5)) == "2h 5m"
    assert quiet_for(timedelta(minutes=40)) == "40m"
    assert quiet_for(timedelta(seconds=-3)) == "0s"


def alert(
    name: str, minutes: float, *, severity: str = "low", signal: str = "login-failed"
) -> AlertFacts:
    return AlertFacts(
        company="acme",
        name=name,
        asset="web01",
        signal=signal,
        category="security",
        severity=severity,
        source="generic",
        at=T0 + timedelta(minutes=minutes),
    )


def test_known_noise_is_low_and_recurring_or_marked() -> None:
    facts = facts_of(company(noiseSignals=["clamav-update"]))
    c = Correlator()
    window = timedelta(minutes=15)
    first = c.decide(alert("a", 0), new_name="inc-1", window=window, depends_on={})
    incident = c.find("acme", first.incident)
    assert incident is not None and not is_noise(incident, facts)  # a first time pages
    c.incident_resolved("acme", "inc-1", WALL)
    again = c.decide(alert("b", 600), new_name="inc-2", window=window, depends_on={})
    recurring = c.find("acme", again.incident)
    assert again.new and recurring is not None and recurring.recurring
    assert is_noise(recurring, facts)  # the same low problem again: known noise
    marked = c.decide(
        alert("c", 0, signal="clamav-update"), new_name="inc-3", window=window, depends_on={}
    )
    found = c.find("acme", marked.incident)
    assert found is not None and is_noise(found, facts)
    loud = c.decide(
        alert("d", 601, severity="high"), new_name="inc-4", window=window, depends_on={}
    )
    assert loud.incident == "inc-2"  # the same problem within the window
    assert not is_noise(recurring, facts)  # a high report: no longer noise


def test_known_noise_runs_no_sla_clocks() -> None:
    policy = SLAPolicy.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "SLAPolicy",
            "metadata": {"name": "p"},
            "spec": {
                "targets": [{"severity": "low", "responseMinutes": 60, "resolutionMinutes": 300}],
                "coverage": {"type": "24x7"},
            },
        }
    )
    status: dict[str, object] = {
        "openedAt": "2022-01-21T00:00:00Z",
        "rules": {"severity": "low"},
        "correlation": {"noise": False},
    }
    clocks = {"policy_name": "p", "policy": policy.spec, "technicians": (), "now": T0}
    assert evaluate({}, status, **clocks) is not None  # type: ignore[arg-type]
    status["correlation"] = {"noise": True}
    assert evaluate({}, status, **clocks) is None  # type: ignore[arg-type]


def test_known_noise_comes_back_to_its_incident_however_late() -> None:
    c = Correlator()
    window = timedelta(minutes=15)
    c.decide(alert("a", 0), new_name="inc-1", window=window, depends_on={})
    c.incident_resolved("acme", "inc-1", WALL)
    c.decide(alert("b", 600), new_name="inc-2", window=window, depends_on={})  # recurring
    c.incident_resolved("acme", "inc-2", WALL)
    noise = c.find("acme", "inc-2")
    assert noise is not None
    c.forget("acme", "inc-2")  # it left memory: the decision asks for it first
    asked = c.decide(alert("c", 6000), new_name="inc-3", window=window, depends_on={})
    assert asked.load and asked.incident == "inc-2"
    c.restore(noise)
    again = c.decide(alert("c", 6000), new_name="inc-3", window=window, depends_on={})
    assert (again.incident, again.reopened, again.new) == ("inc-2", True, False)
    assert "known noise" in again.reason and noise.reopened == 1
    c.incident_resolved("acme", "inc-2", WALL)
    loud = c.decide(
        alert("d", 9000, severity="high"), new_name="inc-4", window=window, depends_on={}
    )
    assert loud.new  # a high report of the same problem is news: its own incident


def test_news_is_never_folded_into_old_noise() -> None:
    c = Correlator()
    window = timedelta(minutes=15)
    c.decide(alert("a", 0), new_name="inc-1", window=window, depends_on={})
    noise = c.find("acme", "inc-1")
    assert noise is not None
    noise.noise = True  # as the service marks it
    quiet = c.decide(alert("b", 2), new_name="inc-2", window=window, depends_on={})
    assert quiet.incident == "inc-1"  # low joins low
    loud = c.decide(alert("c", 3, severity="high"), new_name="inc-3", window=window, depends_on={})
    assert loud.new and loud.incident == "inc-3"  # louder: its own incident


def test_a_report_kept_in_memory_is_not_decided_again_when_its_stale_write_comes_back() -> None:
    """A chatty report within `REPORT_GRAIN` is handled in memory only. When the alert then
    goes stale, that write carries the report's generation and time, so the alert event our
    own write brings back is not decided again (before, it opened a second incident for a
    report already counted: bench/correlation/stream_live.py found it)."""
    config = ConfigStore()
    config.apply(
        "companies",
        "ADDED",
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Company",
            "metadata": {"name": "kept"},
            "spec": {"displayName": "kept", "slaPolicyRef": {"name": "none"}},
        },
    )
    clock = ManualClock(T0)
    service = CorrelationService(config=config, clock=clock)
    at = T0.strftime("%Y-%m-%dT%H:%M:%SZ")
    body: dict[str, Any] = {
        "apiVersion": "alertwhisperer.io/v1alpha1",
        "kind": "Alert",
        "metadata": {"name": "al-1", "namespace": "company-kept", "generation": 1},
        "spec": {
            "fingerprint": "0" * 16,
            "source": "generic",
            "asset": {"name": "mail", "known": True},
            "signal": "clamav-update",
            "severity": "low",
            "state": "firing",
            "firstSeen": at,
            "lastSeen": at,
        },
        "status": {},
    }

    def store(plan: Any) -> None:  # what the executor does, in memory
        for _, status, sequence in plan.also:
            body["status"].update(status)
            service.written_also("company-kept", "al-1", sequence)
        if plan.alert_status is not None:
            body["status"].update(plan.alert_status)
            service.written("company-kept", "al-1", plan)

    first = service.handle_alert(body)
    assert first is not None and first.alert_status is not None
    store(first)
    incident = body["status"]["incidentRef"]["name"]
    again = (T0 + timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body["metadata"]["generation"] = 2
    body["spec"]["lastSeen"] = again
    assert service.handle_alert(body) is None  # within the grain: memory only
    assert body["status"]["observedGeneration"] == 1  # the stored status lags behind
    clock.advance(timedelta(minutes=45))  # event time carries on: stale after 30 minutes
    plans, _ = service.auto_resolve()
    stale = [p for p in plans if p.also]
    assert stale, "the alert went stale"
    for plan in stale:
        store(plan)
    assert body["status"]["resolvedBy"] == "stale"
    assert body["status"]["observedGeneration"] == 2 and body["status"]["reportedAt"] == again
    assert service.handle_alert(body) is None  # the echo of our own write: nothing to decide
    assert body["status"]["incidentRef"]["name"] == incident
    assert service.held()[0] + service.held()[1] == 1  # one incident, ever
