"""The operator asks the model about incidents off the critical path: against the real API
server, with the real anthropic SDK talking to a local Messages API stub. A confident answer
decides severity and cause; a slow or failing model holds nothing up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from support.alerts import (
    a_company,
    alert,
    incident_of,
    operator_kubeconfig,
    resolve,
    wait_namespace,
)
from support.cluster import Cluster, wait_for
from support.messages_stub import MessagesStub, Request, messages_stub
from support.operator import run_operator

from whisperer.operator.kube import KubeClient

API = "alertwhisperer.io/v1alpha1"
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
KEY = "fake-key-for-the-local-stub-1"


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[MessagesStub]:
    """The stub, and the operator's environment pointing the SDK at it."""
    with messages_stub() as running:
        monkeypatch.setenv("WHISPERER_AI_PROVIDER", "anthropic")
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", running.url)
        monkeypatch.delenv("WHISPERER_AI_BASE_URL", raising=False)
        monkeypatch.setenv("WHISPERER_AI_MAX_RETRIES", "0")
        monkeypatch.setenv("WHISPERER_AI_WORKERS", "8")
        monkeypatch.delenv("WHISPERER_AI_MIN_CONFIDENCE", raising=False)
        yield running


@pytest.fixture
def company(cluster: Cluster, admin: KubeClient) -> Iterator[str]:
    """A company whose incidents stay open through the test: db01 <- app01, and mail01."""
    with a_company(
        admin,
        "ai",
        incidents={"autoResolveHoldDown": "1h"},
        assets=[
            {"name": "db01", "critical": True},
            {"name": "app01", "dependsOn": ["db01"]},
            {"name": "mail01"},
            {"name": "files01"},
        ],
    ) as name:
        yield name


def asked(stub: MessagesStub, company: str) -> list[Request]:
    """The requests about the company's incidents (the operator watches the whole cluster:
    other tests' open incidents are analysed too)."""
    return [r for r in stub.received() if f'"company": "{company}"' in r.prompt]


def status_of(admin: KubeClient, company: str, incident: str) -> dict[str, Any]:
    return dict(admin.get("incidents", incident, f"company-{company}").get("status") or {})


def wait_status(
    admin: KubeClient, company: str, incident: str, what: str, timeout: float = 30, **want: Any
) -> dict[str, Any]:
    """Wait until the incident's status satisfies every `path=value` (path with __ for dots)."""

    def probe() -> dict[str, Any] | None:
        status = status_of(admin, company, incident)
        for path, value in want.items():
            node: Any = status
            for part in path.split("__"):
                node = node.get(part) if isinstance(node, dict) else None
            if node != value:
                return None
        return status

    return wait_for(probe, timeout=timeout, what=what)


def test_a_confident_analysis_decides_and_stays_until_the_input_changes(
    cluster: Cluster, admin: KubeClient, company: str, stub: MessagesStub
) -> None:
    stub.suggest(
        asset="db01",
        signal="disk-space-low",
        severity="critical",
        confidence=0.92,
        summary="The database volume is full: writes will fail.",
    )
    with run_operator(operator_kubeconfig(cluster)):
        wait_namespace(admin, company)
        first = alert(admin, company, asset="db01", raw="disk full", source="zabbix")
        incident = incident_of(admin, company, first)
        status = wait_status(
            admin,
            company,
            incident,
            "the AI to decide",
            rootCause__decidedBy="ai",
        )
        assert status["severity"] == "critical"  # the rules said high
        assert status["rootCause"]["confidence"] == 0.92
        assert status["rootCause"]["summary"] == "The database volume is full: writes will fail."
        analysis = status["analysis"]
        assert analysis["appliedSeverity"] is True
        assert (analysis["provider"], analysis["model"]) == ("anthropic", "claude-sonnet-5-5")
        assert status["rules"]["severity"] == "high"
        assert analysis["costUsd"] > 0
        [request] = asked(stub, company)
        assert request.credential == KEY
        assert "db01" in request.prompt and "disk-space-low" in request.prompt

        # A write of correlation's that leaves the input as it was (a resolution) puts the
        # rules' conclusions back; the recorded answer is applied again, not asked again.
        resolve(admin, company, first, minutes=1)
        wait_status(admin, company, incident, "the resolution", alerts__firing=0)
        again = wait_status(
            admin, company, incident, "the AI's decision again", rootCause__decidedBy="ai"
        )
        assert again["severity"] == "critical"
        assert again["analysis"]["inputHash"] == analysis["inputHash"]
        assert len(asked(stub, company)) == 1

        # A new tool on the incident is a new question; an unsure answer leaves the rules.
        stub.suggest(asset="db01", signal="disk-space-low", severity="low", confidence=0.4)
        second = alert(
            admin, company, asset="db01", raw="Disk space low on db01", source="datadog", minutes=2
        )
        assert incident_of(admin, company, second) == incident
        unsure = wait_status(
            admin,
            company,
            incident,
            "the second analysis",
            analysis__confidence=0.4,
        )
    assert unsure["analysis"]["appliedSeverity"] is False
    assert unsure["analysis"]["inputHash"] != analysis["inputHash"]
    assert unsure["severity"] == "high" and unsure["rootCause"]["decidedBy"] == "rules"
    assert "confidence" not in unsure["rootCause"]  # the AI's is gone with its decision
    assert len(asked(stub, company)) == 2


def test_a_slow_or_failing_model_holds_nothing_up(
    cluster: Cluster,
    admin: KubeClient,
    company: str,
    stub: MessagesStub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WHISPERER_AI_TIMEOUT_SECONDS", "8")
    stub.suggest(asset="db01", signal="disk-space-low", severity="critical", confidence=1, delay=60)
    with run_operator(operator_kubeconfig(cluster)):
        wait_namespace(admin, company)
        first = alert(admin, company, asset="db01", raw="disk full", source="zabbix")
        incident = incident_of(admin, company, first)
        wait_for(lambda: asked(stub, company), what="the model to be asked")
        # While that request hangs, alerts keep being correlated, by the rules.
        others = [
            alert(admin, company, asset="mail01", raw="InstanceDown", source="zabbix", minutes=1),
            alert(admin, company, asset="app01", raw="HTTP 5xx above 5%", source="datadog"),
            alert(
                admin,
                company,
                asset="db01",
                raw="Disk space low on db01",
                source="datadog",
                minutes=2,
            ),
        ]
        refs = [incident_of(admin, company, name, timeout=6) for name in others]
        assert refs[2] == incident
        hanging = status_of(admin, company, incident)
        assert "analysis" not in hanging  # the first question is still unanswered
        assert hanging["alerts"]["count"] == 2
        assert hanging["rootCause"]["decidedBy"] == "rules" and hanging["severity"] == "high"
        # Each question ends by the timeout, recorded; the rules' conclusions stay.
        for name in {incident, refs[0], refs[1]}:
            failed = wait_for(
                lambda name=name: (
                    (s := status_of(admin, company, name)).get("analysis", {}).get("error") and s
                ),
                timeout=60,
                what=f"{name}'s analysis to time out",
            )
            assert "no answer within 8s" in failed["analysis"]["error"]
            assert failed["analysis"]["appliedSeverity"] is False
            assert failed["rootCause"]["decidedBy"] in ("rules", "topology")
        # A failing model: the incident is made and correlated all the same.
        stub.fail(500)
        last = alert(admin, company, asset="files01", raw="disk full", source="zabbix", minutes=3)
        failed = wait_for(
            lambda: (
                (s := status_of(admin, company, incident_of(admin, company, last)))
                .get("analysis", {})
                .get("error")
                and s
            ),
            what="the failure to be recorded",
        )
    assert "answered 500" in failed["analysis"]["error"]
    assert failed["severity"] == "high" and failed["rootCause"]["decidedBy"] == "rules"
    assert failed["priority"]


def test_after_a_restart_correlation_goes_on_from_the_rules_not_the_ai(
    cluster: Cluster, admin: KubeClient, company: str, stub: MessagesStub
) -> None:
    kubeconfig = operator_kubeconfig(cluster)
    stub.suggest(asset="db01", signal="disk-space-low", severity="low", confidence=0.9)
    with run_operator(kubeconfig):
        wait_namespace(admin, company)
        first = alert(
            admin, company, asset="db01", raw="disk full", source="zabbix", severity="critical"
        )
        incident = incident_of(admin, company, first)
        decided = wait_status(
            admin, company, incident, "the AI to decide", rootCause__decidedBy="ai"
        )
        assert decided["severity"] == "low"
    stub.suggest(asset="db01", signal="disk-space-low", severity="low", confidence=0.3)
    with run_operator(kubeconfig):
        second = alert(
            admin, company, asset="db01", raw="Disk space low", source="datadog", minutes=1
        )
        assert incident_of(admin, company, second) == incident
        status = wait_status(
            admin, company, incident, "the second analysis", analysis__confidence=0.3
        )
    # The rules remembered critical (not the AI's low), so a high alert joining keeps it.
    assert status["severity"] == "critical"
    assert status["rootCause"]["decidedBy"] == "rules"
    assert status["alerts"]["count"] == 2
