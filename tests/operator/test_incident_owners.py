"""Every part of the real operator writing one incident at once, round after round: alerts
joining (correlation), a technician acknowledging and writing notes (lifecycle), the AI's
verdict (analysis), the hold-down running out (auto-resolution) and the same problem
coming back (reopening). No timeline entry is lost, nothing is recorded twice, and each
field ends as its owner last wrote it."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client
from support.alerts import (
    a_company,
    alert,
    fire,
    incident_of,
    operator_kubeconfig,
    resolve,
    wait_namespace,
)
from support.cluster import Cluster, wait_for
from support.messages_stub import MessagesStub, messages_stub
from support.operator import run_operator

from whisperer.operator.clock import ManualClock
from whisperer.operator.kube import KubeClient

KEY = "fake-key-for-the-local-stub-2"
SAM = "sam@northwind-msp.example"
ROUNDS = 3
JOINS = 5
TOOLS = ("alertmanager", "datadog", "zabbix", "grafana", "generic")


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[MessagesStub]:
    with messages_stub() as running:
        monkeypatch.setenv("WHISPERER_AI_PROVIDER", "anthropic")
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", running.url)
        monkeypatch.delenv("WHISPERER_AI_BASE_URL", raising=False)
        monkeypatch.setenv("WHISPERER_AI_MAX_RETRIES", "0")
        yield running


def status(admin: KubeClient, company: str, incident: str) -> dict[str, Any]:
    return dict(admin.get("incidents", incident, f"company-{company}").get("status") or {})


def test_joins_people_the_ai_and_auto_resolution_write_one_incident_together(
    cluster: Cluster, admin: KubeClient, stub: MessagesStub
) -> None:
    stub.suggest(asset="db01", signal="disk-space-low", severity="critical", confidence=0.9)
    api = client.CustomObjectsApi(admin.api_client)
    clock = ManualClock(datetime.now(UTC))
    notes: list[dict[str, str]] = []
    with a_company(
        admin,
        "owners",
        incidents={"autoResolveHoldDown": "3m", "flapThreshold": 100},  # not flapping here
        assets=[{"name": "db01"}],
    ) as company:
        ns = f"company-{company}"

        def technician(incident: str, round_: int) -> None:
            """Notes while the alerts join (each one a spec change under the writer); the
            acknowledgement in the first round."""
            for n in range(3):
                at = (clock.now() + timedelta(seconds=10 * round_ + n)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                )
                notes.append({"author": SAM, "at": at, "text": f"round {round_} note {n}"})
                spec: dict[str, Any] = {"notes": list(notes)}
                if round_ == 0 and n == 1:
                    spec["acknowledgement"] = {"by": SAM, "at": at}
                api.patch_namespaced_custom_object(
                    "alertwhisperer.io", "v1alpha1", ns, "incidents", incident, {"spec": spec}
                )

        with run_operator(operator_kubeconfig(cluster), clock=clock):
            wait_namespace(admin, company)
            incident = ""
            names: list[str] = []
            for round_ in range(ROUNDS):
                base = 30 * round_  # event time: each round within the reopen window
                if round_ == 0:
                    first = alert(admin, company, asset="db01", raw="disk full", source=TOOLS[0])
                    incident = incident_of(admin, company, first)
                    names = [first]
                else:  # the same alerts fire again: the incident reopens
                    fire(admin, company, names[0], minutes=base)
                people = threading.Thread(target=technician, args=(incident, round_))
                people.start()
                if round_ == 0:
                    names += [
                        alert(
                            admin,
                            company,
                            asset="db01",
                            raw="disk full",
                            source=TOOLS[n],
                            minutes=n / 10,
                        )
                        for n in range(1, JOINS)
                    ]
                else:
                    for n, name in enumerate(names[1:], start=1):
                        fire(admin, company, name, minutes=base + n / 10)
                people.join()
                assert {incident_of(admin, company, n) for n in names} == {incident}
                wait_for(
                    lambda i=incident: (
                        status(admin, company, i).get("alerts", {}).get("firing") == JOINS
                    ),
                    what="every alert firing on the incident",
                )
                wait_for(
                    lambda i=incident: (
                        status(admin, company, i).get("analysis", {}).get("appliedSeverity")
                    ),
                    what="the AI's verdict",
                )
                for n, name in enumerate(names):
                    resolve(admin, company, name, minutes=base + 1 + n / 10)
                wait_for(
                    lambda i=incident: (
                        status(admin, company, i).get("alerts", {}).get("firing") == 0
                    ),
                    what="every resolution counted",
                )
                clock.advance(timedelta(minutes=4))  # past the hold-down
                wait_for(
                    lambda i=incident: status(admin, company, i).get("phase") == "Resolved",
                    what=f"round {round_} auto-resolved",
                )
            final = status(admin, company, incident)
    timeline = final["timeline"]
    kinds = Counter(e["type"] for e in timeline)
    assert kinds["Opened"] == 1
    assert kinds["Acknowledged"] == 1
    assert kinds["NoteAdded"] == 3 * ROUNDS
    assert kinds["AutoResolved"] == ROUNDS
    assert kinds["Reopened"] == ROUNDS - 1
    assert len({(e["type"], e["actor"], e["at"]) for e in timeline}) == len(timeline)
    # Each field as its owner last wrote it.
    assert final["alerts"]["count"] == JOINS  # correlation: the same alerts each round
    assert final["reopened"] == ROUNDS - 1
    assert final["phase"] == "Resolved"  # lifecycle: the last auto-resolution
    assert final["analysis"]["appliedSeverity"] is True  # analysis: its last answer
    assert final["analysis"]["suggestedSeverity"] == "critical"
    assert final["severity"] == "critical" and final["rootCause"]["decidedBy"] == "ai"
    assert final["rules"]["severity"] == "high"  # the rules' own conclusion stays apart
