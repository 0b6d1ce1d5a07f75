"""The operator turns Alert resources into Incidents against the real API server: one
incident per real problem, whichever tool saw it, with the cause when topology explains it,
and nothing lost or doubled across a restart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from support.alerts import (
    API,
    a_company,
    alert,
    fire,
    incident_of,
    incidents,
    operator_kubeconfig,
    resolve,
    wait_namespace,
)
from support.cluster import Cluster, wait_for
from support.operator import evaluated, ran_since, run_operator

from whisperer.operator.clock import ManualClock
from whisperer.operator.kube import KubeClient


@pytest.fixture
def company(cluster: Cluster, admin: KubeClient) -> Iterator[str]:
    """A company with a small topology: db01 <- app01 <- web01, and mail01 alone."""
    with a_company(
        admin,
        "corr",
        incidents={
            "autoResolveHoldDown": "3s",
            "reopenWindow": "1h",
            "inhibitRules": [
                {
                    # Only alerts that carry a site take part (as in Alertmanager,
                    # a label missing on both sides would count as equal).
                    "sourceMatchers": [
                        {"name": "signal", "value": "host-down"},
                        {"name": "site", "op": "=~", "value": ".+"},
                    ],
                    "targetMatchers": [{"name": "signal", "value": "cpu-high"}],
                    "equal": ["site"],
                }
            ],
        },
        assets=[
            {"name": "db01", "critical": True},
            {"name": "app01", "dependsOn": ["db01"]},
            {"name": "web01", "dependsOn": ["app01"]},
            {"name": "mail01"},
        ],
    ) as name:
        yield name


def test_the_same_problem_from_three_tools_is_one_multi_source_incident(
    cluster: Cluster, admin: KubeClient, company: str
) -> None:
    with run_operator(operator_kubeconfig(cluster)):
        wait_namespace(admin, company)
        names = [
            alert(
                admin,
                company,
                asset="db01",
                raw="NodeFilesystemAlmostOutOfSpace",
                source="alertmanager",
            ),
            alert(
                admin,
                company,
                asset="db01",
                raw="Disk space low on db01",
                source="datadog",
                minutes=2,
            ),
            alert(
                admin,
                company,
                asset="db01",
                raw="Free disk space is less than 10% on volume /",
                source="zabbix",
                minutes=3,
                severity="critical",
            ),
        ]
        refs = {incident_of(admin, company, n) for n in names}
        assert len(refs) == 1
        status = wait_for(
            lambda: (
                (
                    s := admin.get(
                        "incidents", refs.pop() if False else next(iter(refs)), f"company-{company}"
                    ).get("status", {})
                )
                .get("alerts", {})
                .get("count")
                == 3
                and s
            ),
            what="three alerts on the incident",
        )
    assert status["pattern"] == "multi-source"
    assert status["alerts"]["sources"] == ["alertmanager", "datadog", "zabbix"]
    assert status["alerts"]["first"]["name"] == names[0]
    assert status["alerts"]["first"]["source"] == "alertmanager"
    assert status["alerts"]["latest"]["name"] == names[2]
    assert status["alerts"]["latest"]["source"] == "zabbix"
    assert status["severity"] == "critical"
    assert status["priority"] == "P1"  # critical, on a critical asset, seen by three tools
    assert status["rootCause"]["asset"] == "db01"


def test_host_down_and_its_dependants_are_one_incident_with_the_host_as_cause(
    cluster: Cluster, admin: KubeClient, company: str
) -> None:
    with run_operator(operator_kubeconfig(cluster)):
        wait_namespace(admin, company)
        down = alert(
            admin,
            company,
            asset="db01",
            raw="InstanceDown",
            source="alertmanager",
            severity="critical",
        )
        cause = incident_of(admin, company, down)
        dependants = [
            alert(admin, company, asset=asset, raw=raw, source="datadog", minutes=i)
            for i, (asset, raw) in enumerate(
                [
                    ("app01", "HTTP 5xx above 5%"),
                    ("app01", "Latency p99 above 2s"),
                    ("web01", "Response time high"),
                    ("web01", "Probe failed"),
                    ("app01", "Queue backlog growing"),
                ],
                start=1,
            )
        ]
        assert {incident_of(admin, company, n) for n in dependants} == {cause}
        unrelated = alert(
            admin, company, asset="mail01", raw="CPUUtilization", source="cloudwatch", minutes=2
        )
        assert incident_of(admin, company, unrelated) != cause
        status = wait_for(
            lambda: (
                (s := admin.get("incidents", cause, f"company-{company}").get("status", {}))
                .get("alerts", {})
                .get("count")
                == 6
                and s
            ),
            what="six alerts on the host's incident",
        )
    assert status["pattern"] == "cascade"
    assert status["rootCause"] == {
        **status["rootCause"],
        "asset": "db01",
        "signal": "host-down",
        "decidedBy": "topology",
    }
    assert len(incidents(admin, company)) == 2


def test_an_alert_after_the_window_opens_a_new_incident(
    cluster: Cluster, admin: KubeClient, company: str
) -> None:
    with run_operator(operator_kubeconfig(cluster)):
        wait_namespace(admin, company)
        first = alert(admin, company, asset="mail01", raw="CPUUtilization", source="cloudwatch")
        again = alert(
            admin, company, asset="mail01", raw="High CPU load", source="zabbix", minutes=10
        )
        later = alert(
            admin,
            company,
            asset="mail01",
            raw="cpu usage above 95%",
            source="datadog",
            minutes=10 + 16,
        )
        assert incident_of(admin, company, first) == incident_of(admin, company, again)
        assert incident_of(admin, company, later) != incident_of(admin, company, first)


def test_a_restart_in_the_middle_of_a_stream_loses_and_duplicates_nothing(
    cluster: Cluster, admin: KubeClient, company: str
) -> None:
    kubeconfig = operator_kubeconfig(cluster)
    tools = ["alertmanager", "datadog", "zabbix", "grafana", "generic", "pagerduty"]
    with run_operator(kubeconfig):
        wait_namespace(admin, company)
        before = [
            alert(admin, company, asset="db01", raw="disk full", source=s, minutes=i)
            for i, s in enumerate(tools[:3])
        ]
        for name in before:
            incident_of(admin, company, name)
    # Alerts keep arriving while the operator is down.
    during = [
        alert(admin, company, asset="db01", raw="disk full", source=s, minutes=3 + i)
        for i, s in enumerate(tools[3:])
    ]
    with run_operator(kubeconfig):
        refs = {incident_of(admin, company, n) for n in before + during}
        assert len(refs) == 1
        name = next(iter(refs))
        status = wait_for(
            lambda: (
                (s := admin.get("incidents", name, f"company-{company}").get("status", {}))
                .get("alerts", {})
                .get("count")
                == 6
                and s
            ),
            what="all six alerts on one incident",
        )
    assert len(incidents(admin, company)) == 1
    assert sorted(r["name"] for r in status["alerts"]["refs"]) == sorted(before + during)


def test_a_silence_suppresses_inside_its_window_and_not_after(
    cluster: Cluster, admin: KubeClient, company: str
) -> None:
    ns = f"company-{company}"
    with run_operator(operator_kubeconfig(cluster)):
        wait_namespace(admin, company)
        admin.create(
            "silences",
            {
                "apiVersion": API,
                "kind": "Silence",
                "metadata": {"name": "patching", "namespace": ns},
                "spec": {
                    "matchers": [{"name": "asset", "value": "mail01"}],
                    "comment": "CHG-7",
                    "startsAt": "2026-11-27T08:30:00Z",
                    "endsAt": "2026-11-27T09:30:00Z",
                },
            },
            ns,
        )
        inside = alert(
            admin, company, asset="mail01", raw="InstanceDown", source="zabbix", minutes=10
        )
        silenced = wait_for(
            lambda: admin.get("alerts", inside, ns).get("status", {}).get("silencedBy"),
            timeout=30,
            what="the alert to be silenced",
        )
        assert silenced == f"{ns}/patching"
        after = alert(
            admin,
            company,
            asset="mail01",
            raw="Unavailable by ICMP ping",
            source="alertmanager",
            minutes=45,
        )
        incident = incident_of(admin, company, after)
        assert "incidentRef" not in admin.get("alerts", inside, ns).get("status", {})
        # Reported firing again after the window: the silence no longer covers it.
        fire(admin, company, inside, minutes=50)
        assert incident_of(admin, company, inside) == incident
        assert not admin.get("alerts", inside, ns)["status"].get("silencedBy")
    assert [i["metadata"]["name"] for i in incidents(admin, company)] == [incident]


def phase(admin: KubeClient, company: str, name: str) -> str:
    return str(
        admin.get("incidents", name, f"company-{company}").get("status", {}).get("phase", "")
    )


def test_an_incident_resolves_after_the_hold_down_and_reopens_on_recurrence(
    cluster: Cluster, admin: KubeClient, company: str
) -> None:
    clock = ManualClock(datetime.now(UTC))
    with run_operator(operator_kubeconfig(cluster), clock=clock):
        wait_namespace(admin, company)
        first = alert(admin, company, asset="db01", raw="disk full", source="zabbix")
        incident = incident_of(admin, company, first)
        # Flapping: resolved and firing again within the hold-down keeps it open.
        resolve(admin, company, first, minutes=1)
        fire(admin, company, first, minutes=1.5)
        wait_for(
            lambda: (
                admin.get("alerts", first, f"company-{company}")["status"].get("resolutionCounted")
                is False
            ),
            what="the re-firing to be counted",
        )
        clock.advance(timedelta(minutes=10))  # far past the 3 s hold-down: still firing...
        ran_since("auto_resolve", clock.now())
        assert phase(admin, company, incident) != "Resolved"  # ...so still open
        resolve(admin, company, first, minutes=2)
        wait_for(
            lambda: admin.get("alerts", first, f"company-{company}")["status"].get(
                "resolutionCounted"
            ),
            what="the resolution counted",
        )
        clock.advance(timedelta(seconds=2))  # within the hold-down
        evaluated()
        assert phase(admin, company, incident) != "Resolved"
        clock.advance(timedelta(seconds=2))
        wait_for(
            lambda: phase(admin, company, incident) == "Resolved",
            timeout=30,
            what="the incident to resolve by itself after the hold-down",
        )
        status = admin.get("incidents", incident, f"company-{company}")["status"]
        assert status["timeline"][-1]["type"] == "AutoResolved"
        assert "spec.incidents.autoResolve" in status["timeline"][-1]["actor"]
        # The same problem again within the reopen window reopens it.
        again = alert(
            admin, company, asset="db01", raw="Disk space low", source="datadog", minutes=20
        )
        assert incident_of(admin, company, again) == incident
        reopened = wait_for(
            lambda: (
                (s := admin.get("incidents", incident, f"company-{company}")["status"]).get(
                    "reopened"
                )
                == 1
                and s
            ),
            what="the incident to reopen",
        )
    assert reopened["phase"] == "Open"
    assert reopened["timeline"][-1]["type"] == "Reopened"
    assert len(incidents(admin, company)) == 1


def test_a_host_down_arriving_after_its_dependants_takes_their_incidents_in(
    cluster: Cluster, admin: KubeClient, company: str
) -> None:
    ns = f"company-{company}"
    with run_operator(operator_kubeconfig(cluster)):
        wait_namespace(admin, company)
        early = [
            alert(admin, company, asset="app01", raw="HTTP 5xx above 5%", source="datadog"),
            alert(admin, company, asset="web01", raw="Response time high", source="datadog"),
        ]
        before = {incident_of(admin, company, n) for n in early}
        assert len(before) == 2
        down = alert(
            admin, company, asset="db01", raw="InstanceDown", source="alertmanager", minutes=2
        )
        cause = incident_of(admin, company, down)
        assert cause not in before
        status = wait_for(
            lambda: (
                (s := admin.get("incidents", cause, ns).get("status", {}))
                .get("alerts", {})
                .get("count")
                == 3
                and s
            ),
            what="the host's incident to hold its dependants' alerts",
        )
        assert status["pattern"] == "cascade"
        assert status["rootCause"]["asset"] == "db01"
        for name in before:
            merged = wait_for(
                lambda n=name: (
                    (s := admin.get("incidents", n, ns).get("status", {})).get("mergedInto") and s
                ),
                what=f"{name} merged",
            )
            assert merged["mergedInto"] == cause and merged["phase"] == "Resolved"
            assert merged["timeline"][-1]["type"] == "MergedInto"
        # A dependant's alert resolving is counted on the incident that took it in.
        resolve(admin, company, early[0], minutes=3)
        wait_for(
            lambda: admin.get("incidents", cause, ns)["status"]["alerts"]["firing"] == 2,
            what="the resolution counted on the host's incident",
        )


def test_the_same_alert_firing_again_reopens_or_opens_anew(
    cluster: Cluster, admin: KubeClient, company: str
) -> None:
    """A tool re-fires the same alert (one Alert resource, as the webhook keeps it): within
    the reopen window its resolved incident reopens; after it, a new incident opens."""
    ns = f"company-{company}"
    with run_operator(operator_kubeconfig(cluster)):
        wait_namespace(admin, company)
        name = alert(admin, company, asset="mail01", raw="SMTP service down", source="zabbix")
        incident = incident_of(admin, company, name)
        resolve(admin, company, name, minutes=1)
        wait_for(lambda: phase(admin, company, incident) == "Resolved", what="auto-resolution")
        fire(admin, company, name, minutes=30)
        wait_for(lambda: phase(admin, company, incident) == "Open", what="the incident to reopen")
        assert admin.get("incidents", incident, ns)["status"]["reopened"] == 1
        assert admin.get("alerts", name, ns)["status"]["incidentRef"]["name"] == incident
        resolve(admin, company, name, minutes=31)
        wait_for(lambda: phase(admin, company, incident) == "Resolved", what="resolution again")
        fire(admin, company, name, minutes=300)  # long after the one-hour reopen window
        later = wait_for(
            lambda: (
                (ref := admin.get("alerts", name, ns)["status"]["incidentRef"]["name"]) != incident
                and ref
            ),
            what="a new incident for the late recurrence",
        )
        assert str(later).startswith(incident + "-")
        status = wait_for(
            lambda: admin.get("incidents", later, ns).get("status", {}).get("alerts"),
            what="the new incident's status",
        )
        assert status["count"] == 1 and status["firing"] == 1
        assert phase(admin, company, incident) == "Resolved"


def test_a_flapping_alert_is_marked_and_does_not_churn_incidents(
    cluster: Cluster, admin: KubeClient, company: str
) -> None:
    ns = f"company-{company}"
    minute = 0.0

    def toggle(name: str) -> None:
        nonlocal minute
        minute += 1
        resolve(admin, company, name, minutes=minute)
        wait_for(
            lambda: admin.get("alerts", name, ns)["status"].get("resolutionCounted") is True,
            what="the resolution counted",
        )
        minute += 1
        fire(admin, company, name, minutes=minute)
        wait_for(
            lambda: admin.get("alerts", name, ns)["status"].get("resolutionCounted") is False,
            what="the re-firing counted",
        )

    clock = ManualClock(datetime.now(UTC))
    with run_operator(operator_kubeconfig(cluster), clock=clock):
        wait_namespace(admin, company)
        name = alert(admin, company, asset="app01", raw="HTTP 5xx rate high", source="datadog")
        incident = incident_of(admin, company, name)
        toggle(name)  # two changes of state: not flapping yet (the threshold is 4)
        assert admin.get("alerts", name, ns)["status"]["flapping"] is False
    # The count lives on the alert: a restart does not start it again.
    with run_operator(operator_kubeconfig(cluster), clock=clock):
        toggle(name)
        toggle(name)  # six changes within a few minutes (event time)
        alert_status = admin.get("alerts", name, ns)["status"]
        assert alert_status["flapping"] is True
        assert len(alert_status["stateChanges"]) == 6
        status = wait_for(
            lambda: (
                (s := admin.get("incidents", incident, ns)["status"]).get("pattern") == "flapping"
                and s
            ),
            what="the incident marked flapping",
        )
        assert status["phase"] == "Open"
        resolve(admin, company, name, minutes=minute + 1)
        wait_for(
            lambda: admin.get("alerts", name, ns)["status"].get("resolutionCounted") is True,
            what="the resolution counted",
        )
        clock.advance(timedelta(minutes=30))  # past the 3 s hold-down, within the flap window
        ran_since("auto_resolve", clock.now())
        assert phase(admin, company, incident) == "Open"  # a flapping incident waits it out
        clock.advance(timedelta(minutes=31))  # the whole hour of quiet
        wait_for(lambda: phase(admin, company, incident) == "Resolved", what="resolution")
    assert [i["metadata"]["name"] for i in incidents(admin, company)] == [incident]


def test_a_firing_source_mutes_its_targets_which_stay_visible(
    cluster: Cluster, admin: KubeClient, company: str
) -> None:
    ns = f"company-{company}"
    with run_operator(operator_kubeconfig(cluster)):
        wait_namespace(admin, company)
        down = alert(
            admin,
            company,
            asset="db01",
            raw="InstanceDown",
            source="zabbix",
            labels={"site": "ams"},
        )
        cause = incident_of(admin, company, down)
        muted = alert(
            admin,
            company,
            asset="mail01",
            raw="CPUUtilization",
            source="cloudwatch",
            minutes=1,
            labels={"site": "ams"},
        )
        elsewhere = alert(
            admin,
            company,
            asset="mail01",
            raw="High CPU load",
            source="zabbix",
            minutes=1,
            labels={"site": "fra"},
        )
        status = wait_for(
            lambda: (
                (s := admin.get("alerts", muted, ns).get("status", {})).get("inhibitedBy") and s
            ),
            what="the target to be inhibited",
        )
        assert status["inhibitedBy"] == down
        assert status["incidentRef"]["name"] == cause
        assert incident_of(admin, company, elsewhere) != cause  # another site: not muted
        refs = wait_for(
            lambda: [
                r
                for r in admin.get("incidents", cause, ns)["status"]["alerts"]["refs"]
                if r["name"] == muted
            ],
            what="the ref",
        )
    assert refs[0]["muted"] is True
