"""The operator routes each new incident to a technician and sets its SLA deadlines, with
the routing and SLA code the config diff replays: the preferred technician first, the next
one when they are at their limit, deadlines that follow the severity, and the runbook that
fits in the timeline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from kubernetes import client
from support.alerts import API, T0, alert, incident_of, operator_kubeconfig, wait_namespace
from support.cluster import Cluster, wait_for
from support.operator import run_operator
from support.routing import routing_config

from whisperer.operator.clock import ManualClock
from whisperer.operator.kube import KubeClient

GROUP, VERSION = "alertwhisperer.io", "v1alpha1"
RUNBOOK = {
    "apiVersion": API,
    "kind": "Runbook",
    "metadata": {"name": "clean-disk"},
    "spec": {
        "title": "Clean the disk",
        "risk": "low",
        "platform": "linux",
        "shell": "bash",
        "script": "journalctl --vacuum-size=200M",
        "matches": {"signals": ["disk-space-low"]},
    },
}


@pytest.fixture
def setup(cluster: Cluster, admin: KubeClient) -> Iterator[dict[str, str]]:
    with routing_config(admin) as names:
        yield names


def status_of(admin: KubeClient, company: str, incident: str, ready: Any) -> dict[str, Any]:
    return wait_for(
        lambda: (
            ready(s := admin.get("incidents", incident, f"company-{company}").get("status") or {})
            and s
        ),
        timeout=30,
        what=f"{incident} to be assessed",
    )


def iso(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_incidents_are_routed_and_get_deadlines_that_follow_severity(
    cluster: Cluster, admin: KubeClient, setup: dict[str, str]
) -> None:
    company = setup["company"]
    # On a clock at the alerts' event times: the deadlines are ahead, nothing breaches.
    clock = ManualClock(T0)
    with run_operator(operator_kubeconfig(cluster), clock=clock):
        wait_namespace(admin, company)
        admin.create("runbooks", RUNBOOK, f"company-{company}")
        first = incident_of(
            admin,
            company,
            alert(
                admin,
                company,
                asset="db01",
                raw="NodeFilesystemAlmostOutOfSpace",
                source="alertmanager",
            ),
        )
        status = status_of(admin, company, first, lambda s: s.get("assignee") and s.get("sla"))
        assert status["assignee"] == setup["ana"]
        assert status["sla"] == {
            "policy": setup["policy"],
            "episode": 0,
            "responseDueAt": iso(60),
            "resolutionDueAt": iso(480),
            "nextDueAt": iso(60),
            "responseBreached": False,
            "resolutionBreached": False,
            "pausedMinutes": 0,
            "escalationRepeats": 0,
        }
        assigned = [e for e in status["timeline"] if e["type"] == "Assigned"]
        assert len(assigned) == 1
        assert assigned[0]["actor"] == f"policy:RoutingRule/{setup['rule']}"
        assert f"preferred by rule {setup['rule']}" in assigned[0]["message"]
        suggested = [e for e in status["timeline"] if e["type"] == "RunbookSuggested"]
        assert len(suggested) == 1
        assert (
            f"company-{company}/clean-disk (low risk) fits; it needs approval"
            in (suggested[0]["message"])
        )

        # A critical alert joins: the deadlines follow the new severity, the assignee stays.
        incident_of(
            admin,
            company,
            alert(
                admin,
                company,
                asset="db01",
                raw="Disk space low on db01",
                source="datadog",
                minutes=2,
                severity="critical",
            ),
        )
        status = status_of(
            admin, company, first, lambda s: (s.get("sla") or {}).get("responseDueAt") == iso(15)
        )
        assert status["sla"]["resolutionDueAt"] == iso(240)
        assert status["assignee"] == setup["ana"]

        # Ana is at her limit: the next incident goes to Bo.
        second = incident_of(
            admin,
            company,
            alert(
                admin,
                company,
                asset="db02",
                raw="NodeFilesystemAlmostOutOfSpace",
                source="alertmanager",
                minutes=5,
            ),
        )
        assert second != first
        status = status_of(admin, company, second, lambda s: s.get("assignee"))
        assert status["assignee"] == setup["bo"]
        assert "least loaded" in next(
            e["message"] for e in status["timeline"] if e["type"] == "Assigned"
        )
        # What routing sees is on the technicians too (kubectl get tech: Open, Max), reported
        # on the operator's clock.
        clock.advance(timedelta(minutes=5))
        for who, count in (("ana", 1), ("bo", 1)):
            load = wait_for(
                lambda w=who, c=count: (
                    (t := admin.get("technicians", setup[w]).get("status") or {}).get(
                        "openIncidents"
                    )
                    == c
                    and t
                ),
                what=f"{who}'s open incidents",
            )
            assert load["onShift"] is True  # no shifts: always on


def test_spec_assignee_overrides_routing_and_frees_the_first_technician(
    cluster: Cluster, admin: KubeClient, setup: dict[str, str]
) -> None:
    company = setup["company"]
    ns = f"company-{company}"
    api = client.CustomObjectsApi(admin.api_client)
    with run_operator(operator_kubeconfig(cluster)):
        wait_namespace(admin, company)
        first = incident_of(
            admin,
            company,
            alert(
                admin,
                company,
                asset="db01",
                raw="NodeFilesystemAlmostOutOfSpace",
                source="alertmanager",
            ),
        )
        status_of(admin, company, first, lambda s: s.get("assignee") == setup["ana"])
        api.patch_namespaced_custom_object(
            GROUP, VERSION, ns, "incidents", first, {"spec": {"assignee": setup["bo"]}}
        )
        status = status_of(admin, company, first, lambda s: s.get("assignee") == setup["bo"])
        moved = [e for e in status["timeline"] if e["type"] == "Reassigned"]
        assert len(moved) == 1
        assert moved[0]["message"] == f"from {setup['ana']} to {setup['bo']}"
        # Ana (limit 1) is free again: the next incident is hers.
        second = incident_of(
            admin,
            company,
            alert(
                admin,
                company,
                asset="db02",
                raw="NodeFilesystemAlmostOutOfSpace",
                source="alertmanager",
                minutes=5,
            ),
        )
        status_of(admin, company, second, lambda s: s.get("assignee") == setup["ana"])
        # Nobody of that name: a Warning, and the assignee stays.
        api.patch_namespaced_custom_object(
            GROUP, VERSION, ns, "incidents", first, {"spec": {"assignee": "nobody-here"}}
        )
        event = wait_for(
            lambda: next(
                (
                    e
                    for e in client.CoreV1Api(admin.api_client)
                    .list_namespaced_event(ns, field_selector=f"involvedObject.name={first}")
                    .items
                    if e.reason == "UnknownTechnician"
                ),
                None,
            ),
            what="the UnknownTechnician event",
        )
        assert event.type == "Warning"
        assert admin.get("incidents", first, ns)["status"]["assignee"] == setup["bo"]
