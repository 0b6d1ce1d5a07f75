"""The operator's metrics API (operator/metrics.py): what one status write counts, the probe
server's answers. Pure: no cluster (tests/operator/test_operator_metrics_scrape.py scrapes
the real operator)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from whisperer.operator.metrics import OperatorMetrics, ProbeServer, parse_address


def samples(metrics: OperatorMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = metrics.exposition()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if not s.name.endswith("_created")
    }


OPENED = "whisperer_operator_incidents_opened_total"
RESOLVED = "whisperer_operator_incidents_resolved_total"


def test_a_write_counts_an_opening_once_and_a_resolution_with_its_duration() -> None:
    m = OperatorMetrics()
    opened = {"phase": "Open", "severity": "critical", "openedAt": "2026-12-02T09:00:00Z"}
    m.incident_stored(company="acme", before={}, after=opened)
    m.incident_stored(company="acme", before=opened, after={**opened, "assignee": "sam"})
    resolved = {
        **opened,
        "phase": "Resolved",
        "resolvedBy": "auto-resolve",
        "resolvedAt": "2026-12-02T09:30:00Z",
    }
    m.incident_stored(company="acme", before=opened, after=resolved)
    m.incident_stored(company="acme", before=resolved, after=resolved)  # a later write
    got = samples(m)
    assert got[(OPENED, (("company", "acme"), ("severity", "critical")))] == 1
    key = (RESOLVED, (("by", "auto"), ("company", "acme"), ("severity", "critical")))
    assert got[key] == 1
    count = ("whisperer_operator_incident_resolution_seconds_count", (("company", "acme"),))
    total = ("whisperer_operator_incident_resolution_seconds_sum", (("company", "acme"),))
    assert got[count] == 1 and got[total] == 1800
    assert got[("whisperer_operator_incident_writes_total", ())] == 4


@pytest.mark.parametrize(
    ("by", "label"),
    [("technician", "technician"), ("merge", "merge"), ("auto-resolve", "auto"), (None, "unknown")],
)
def test_who_resolved_is_a_bounded_label(by: str | None, label: str) -> None:
    m = OperatorMetrics()
    m.incident_stored(
        company="c", before={"phase": "Open"}, after={"phase": "Resolved", "resolvedBy": by}
    )
    assert samples(m)[(RESOLVED, (("by", label), ("company", "c"), ("severity", "unknown")))] == 1


def test_the_counters_the_owners_call_and_the_gauges() -> None:
    m = OperatorMetrics()
    m.sla_breach(company="c", clock="response")
    m.escalation(company="c", level=2)
    m.notification(channel="email", outcome="sent")
    m.scheduler_lag(0.3)
    m.scheduler_lag(-1)  # a step taken early counts as on time
    m.leader(True)
    got = samples(m)
    assert (
        got[("whisperer_operator_sla_breaches_total", (("clock", "response"), ("company", "c")))]
        == 1
    )
    assert got[("whisperer_operator_escalations_total", (("company", "c"), ("level", "2")))] == 1
    key = ("whisperer_operator_notifications_total", (("channel", "email"), ("outcome", "sent")))
    assert got[key] == 1
    assert got[("whisperer_operator_scheduler_lag_seconds_count", ())] == 2
    assert got[("whisperer_operator_scheduler_lag_last_seconds", ())] == 0
    assert got[("whisperer_operator_leader", ())] == 1


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_probe_server_answers_metrics_health_and_readiness() -> None:
    m = OperatorMetrics()
    ready = [False]
    server = ProbeServer(m, host="127.0.0.1", port=0, ready=lambda: ready[0])
    try:
        assert get(server.port, "/readyz") == (503, "starting\n")
        m.state, ready[0] = "standby", True
        assert get(server.port, "/readyz") == (200, "standby\n")
        assert get(server.port, "/healthz") == (200, "ok\n")
        m.heartbeat -= 60  # the event loop stopped beating
        assert get(server.port, "/healthz") == (503, "event loop stalled\n")
        status, text = get(server.port, "/metrics")
        assert status == 200 and "whisperer_operator_leader 0.0" in text
        assert get(server.port, "/nope")[0] == 404
    finally:
        server.close()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0.0.0.0:8080", ("0.0.0.0", 8080)), (":9000", ("0.0.0.0", 9000)), ("[::1]:1", ("::1", 1))],
)
def test_metrics_addresses(raw: str, expected: tuple[str, int]) -> None:
    assert parse_address(raw) == expected


@pytest.mark.parametrize("raw", ["8080", "host:", "host:http", "h:70000"])
def test_a_bad_metrics_address_is_refused_with_the_flag_named(raw: str) -> None:
    with pytest.raises(ValueError, match="--metrics-address must be host:port"):
        parse_address(raw)


def test_a_write_counts_the_breaches_and_levels_it_recorded_once() -> None:
    m = OperatorMetrics()
    open_ = {"phase": "Open", "sla": {"responseBreached": False}}
    breached = {"phase": "Open", "sla": {"responseBreached": True}, "escalationLevel": 2}
    m.incident_stored(company="acme", before=open_, after=breached)
    m.incident_stored(company="acme", before=breached, after=breached)  # a later write
    repeated = {**breached, "sla": {"responseBreached": True, "escalationRepeats": 1}}
    m.incident_stored(company="acme", before=breached, after=repeated)
    got = samples(m)
    breaches = "whisperer_operator_sla_breaches_total"
    escalations = "whisperer_operator_escalations_total"
    assert got[(breaches, (("clock", "response"), ("company", "acme")))] == 1
    assert got[(escalations, (("company", "acme"), ("level", "1")))] == 1
    assert got[(escalations, (("company", "acme"), ("level", "2")))] == 2  # reached, repeated
