"""Correlation on real streams, against the real API server and the operator on a
ManualClock: point events go stale in event time, a recurrence after a quiet gap is news,
a severity rise is news, known noise pages nobody, and same-host situations join when the
company asks for it. Event time runs from the reports, so a fast replay (no clock moved)
decides as a slow one."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client
from support.alerts import (
    API,
    T0,
    a_company,
    alert,
    incident_of,
    incidents,
    operator_kubeconfig,
    wait_namespace,
)
from support.cluster import Cluster, wait_for
from support.operator import evaluated, run_operator

from whisperer.operator.clock import ManualClock
from whisperer.operator.kube import KubeClient


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def report(admin: KubeClient, company: str, name: str, minutes: float, **spec: Any) -> None:
    """The tool reports the alert (firing) again, `minutes` after T0."""
    body = {"state": "firing", "resolvedAt": None, "lastSeen": at(minutes), **spec}
    client.CustomObjectsApi(admin.api_client).patch_namespaced_custom_object(
        "alertwhisperer.io", "v1alpha1", f"company-{company}", "alerts", name, {"spec": body}
    )


def status(admin: KubeClient, company: str, plural: str, name: str) -> dict[str, Any]:
    return dict(admin.get(plural, name, f"company-{company}").get("status") or {})


def until(admin: KubeClient, company: str, plural: str, name: str, ready: Any, what: str) -> Any:
    return wait_for(
        lambda: ready(s := status(admin, company, plural, name)) and s, timeout=30, what=what
    )


@pytest.fixture
def stream(cluster: Cluster, admin: KubeClient) -> Iterator[str]:
    with a_company(
        admin,
        "strm",
        incidents={"autoResolveHoldDown": "3s", "staleAfter": {"generic": "10m"}},
        assets=[{"name": "web01"}, {"name": "db01"}],
    ) as name:
        yield name


def test_a_point_event_goes_stale_in_event_time_and_its_incident_resolves(
    cluster: Cluster, admin: KubeClient, stream: str
) -> None:
    clock = ManualClock(datetime.now(UTC))
    with run_operator(operator_kubeconfig(cluster), clock=clock):
        wait_namespace(admin, stream)
        point = alert(admin, stream, asset="web01", raw="ssh brute force", source="generic")
        lasting = alert(admin, stream, asset="db01", raw="InstanceDown", source="alertmanager")
        ends = alert(admin, stream, asset="db01", raw="disk full", source="alertmanager")
        report(admin, stream, ends, 1, endsAt=at(5))  # Alertmanager's endsAt: 5 min
        incident = incident_of(admin, stream, point)
        lasting_incident = incident_of(admin, stream, lasting)
        until(admin, stream, "alerts", ends, lambda s: s.get("reportedAt"), "the renewal")
        clock.advance(timedelta(minutes=6))  # past endsAt, within generic's 10 minutes
        evaluated()
        gone = until(
            admin, stream, "alerts", ends, lambda s: s.get("resolvedBy") == "stale", "endsAt"
        )
        assert gone["staleAt"].startswith(at(5)[:16])
        assert status(admin, stream, "alerts", point).get("resolvedBy") is None
        clock.advance(timedelta(minutes=5))  # 11 minutes of event time without a report
        evaluated()
        stale = until(
            admin, stream, "alerts", point, lambda s: s.get("resolvedBy") == "stale", "staleness"
        )
        assert stale["staleAt"].startswith(at(10)[:16]) and stale["resolutionCounted"] is True
        resolved = until(
            admin,
            stream,
            "incidents",
            incident,
            lambda s: s.get("phase") == "Resolved",
            "the stale incident to resolve after its hold-down",
        )
        assert resolved["resolvedBy"] == "stale"
        assert "staleAfter" in resolved["timeline"][-1]["actor"]
        # A tool that sends resolutions keeps its alert firing however long it is quiet.
        assert status(admin, stream, "alerts", lasting).get("resolvedBy") is None
        assert status(admin, stream, "incidents", lasting_incident)["phase"] == "Open"


@pytest.mark.parametrize("pace", ["replayed", "live"])
def test_a_recurrence_after_a_quiet_gap_is_a_new_episode_replayed_or_live(
    cluster: Cluster, admin: KubeClient, stream: str, pace: str
) -> None:
    """Reports within the timeout go on with the incident; one after the problem went stale
    reopens it within the reopen window (saying how long it was quiet) and opens a new
    incident after it. Replayed, no clock moves and event time runs from the reports alone;
    live, the clock moves with the events and the operator's own sweep finds the staleness:
    the same incidents, by the same names."""
    ns = f"company-{stream}"
    clock = ManualClock(datetime.now(UTC))

    def live(minutes: float) -> None:
        if pace == "live":
            clock.advance(timedelta(minutes=minutes))
            evaluated()

    with run_operator(operator_kubeconfig(cluster), clock=clock):
        wait_namespace(admin, stream)
        name = alert(admin, stream, asset="web01", raw="port scan detected", source="generic")
        incident = incident_of(admin, stream, name)
        report(admin, stream, name, 5)  # goes on: same incident, its latest event moves
        until(
            admin,
            stream,
            "incidents",
            incident,
            lambda s: s.get("alerts", {}).get("lastAt", "").startswith(at(5)[:16]),
            "the report to count",
        )
        live(40)
        report(admin, stream, name, 45)  # stale at 15, resolved: 30 min quiet, reopens
        reopened = until(
            admin,
            stream,
            "incidents",
            incident,
            lambda s: s.get("reopened") == 1 and s.get("phase") == "Open",
            "the recurrence to reopen the incident",
        )
        kinds = [e["type"] for e in reopened["timeline"]]
        assert "AutoResolved" in kinds and kinds[-1] in ("Reopened", "Assigned", "Unassigned")
        entry = next(e for e in reversed(reopened["timeline"]) if e["type"] == "Reopened")
        assert "40m quiet" in entry["message"]
        assert reopened.get("resolvedBy") is None
        live(3 * 24 * 60 - 45)
        report(admin, stream, name, 3 * 24 * 60)  # three days later: a new incident
        later = wait_for(
            lambda: (
                (ref := status(admin, stream, "alerts", name)["incidentRef"]["name"]) != incident
                and ref
            ),
            what="a new incident for the recurrence days later",
        )
        opened = until(
            admin, stream, "incidents", later, lambda s: s.get("alerts"), "the new incident"
        )
        assert opened["alerts"]["count"] == 1 and opened["phase"] == "Open"
        stamp = int((T0 + timedelta(days=3)).timestamp())
        assert later == f"{incident}-{stamp:x}"  # named by the event, whatever the pace
        old = until(
            admin, stream, "incidents", incident, lambda s: s.get("phase") == "Resolved", "stale"
        )
        assert old["resolvedBy"] == "stale"
        assert len(incidents(admin, stream)) == 2
        assert admin.get("alerts", name, ns)["status"].get("resolvedBy") is None


@contextlib.contextmanager
def routed(admin: KubeClient, **incident_settings: Any) -> Iterator[dict[str, str]]:
    """A company on a 24x7 policy with low and critical targets; rule `any` sends its
    storage problems to ana, rule `crit` (first) sends critical ones to cara."""
    s = uuid.uuid4().hex[:6]
    names = {"policy": f"str-{s}", "ana": f"ana-{s}", "cara": f"cara-{s}"}
    objects: list[tuple[str, dict[str, Any]]] = [
        (
            "slapolicies",
            {
                "kind": "SLAPolicy",
                "metadata": {"name": names["policy"]},
                "spec": {
                    "targets": [
                        {"severity": "critical", "responseMinutes": 15, "resolutionMinutes": 240},
                        {"severity": "low", "responseMinutes": 480, "resolutionMinutes": 2880},
                    ],
                    "coverage": {"type": "24x7"},
                },
            },
        ),
    ]
    with a_company(
        admin,
        "strr",
        incidents={"autoResolveHoldDown": "3s", **incident_settings},
        assets=[{"name": "db01"}],
    ) as company:
        names["company"] = company
        client.CustomObjectsApi(admin.api_client).patch_cluster_custom_object(
            "alertwhisperer.io",
            "v1alpha1",
            "companies",
            company,
            {"spec": {"slaPolicyRef": {"name": names["policy"]}}},
        )
        for rule, order, match, who in (
            ("crit", 0, {"severities": ["critical"]}, "cara"),
            ("any", 1, {"signalCategories": ["storage"]}, "ana"),
        ):
            names[rule] = f"{rule}-{s}"
            objects.append(
                (
                    "routingrules",
                    {
                        "kind": "RoutingRule",
                        "metadata": {"name": names[rule]},
                        "spec": {
                            "order": order,
                            "match": {"companies": [company], **match},
                            "preferredTechnicians": [names[who]],
                        },
                    },
                )
            )
        for who in ("ana", "cara"):
            objects.append(
                (
                    "technicians",
                    {
                        "kind": "Technician",
                        "metadata": {"name": names[who]},
                        "spec": {
                            "username": f"{names[who]}@msp.example",
                            "displayName": who,
                            "email": f"{names[who]}@msp.example",
                            "companies": [company],
                        },
                    },
                )
            )
        api = client.CustomObjectsApi(admin.api_client)
        try:
            for plural, body in objects:
                admin.create(plural, {"apiVersion": API, **body})
            yield names
        finally:
            for plural, body in reversed(objects):
                with contextlib.suppress(client.ApiException):
                    api.delete_cluster_custom_object(
                        "alertwhisperer.io", "v1alpha1", plural, body["metadata"]["name"]
                    )


def test_a_critical_report_raises_a_low_incident_tightens_its_deadlines_and_reroutes(
    cluster: Cluster, admin: KubeClient
) -> None:
    with routed(admin) as names, run_operator(operator_kubeconfig(cluster)):
        company = names["company"]
        wait_namespace(admin, company)
        name = alert(admin, company, asset="db01", raw="disk full", source="zabbix", severity="low")
        incident = incident_of(admin, company, name)
        low = until(
            admin,
            company,
            "incidents",
            incident,
            lambda s: s.get("assignee") and s.get("sla"),
            "the low incident to be routed",
        )
        assert low["assignee"] == names["ana"] and low["severity"] == "low"
        assert low["sla"]["responseDueAt"] == at(480)
        report(admin, company, name, 10, severity="critical")  # the same alert, now critical
        raised = until(
            admin,
            company,
            "incidents",
            incident,
            lambda s: s.get("severity") == "critical" and s.get("assignee") == names["cara"],
            "the rise to re-route",
        )
        # The SLA clocks count the critical targets from the opening: only ever earlier.
        assert raised["sla"]["responseDueAt"] == at(15)
        assert raised["sla"]["resolutionDueAt"] == at(240)
        assert raised["priority"] < low["priority"]  # P-numbers: more urgent
        kinds = [e["type"] for e in raised["timeline"]]
        assert "SeverityRaised" in kinds and "Rerouted" in kinds
        entry = next(e for e in raised["timeline"] if e["type"] == "SeverityRaised")
        assert "from low" in entry["message"]


def test_known_noise_pages_nobody_and_stays_counted(cluster: Cluster, admin: KubeClient) -> None:
    with (
        routed(
            admin,
            noiseSignals=["backup-failed"],
            staleAfter={"zabbix": "10m"},
            hostWindow="5m",
        ) as names,
        run_operator(operator_kubeconfig(cluster)),
    ):
        company = names["company"]
        wait_namespace(admin, company)
        marked = alert(
            admin, company, asset="db01", raw="Backup failed", source="zabbix", severity="low"
        )
        noise = incident_of(admin, company, marked)
        seen = until(
            admin,
            company,
            "incidents",
            noise,
            lambda s: s.get("correlation", {}).get("noise"),
            "the noise mark",
        )
        assert seen.get("assignee") is None and not seen.get("sla")
        assert seen["alerts"]["count"] == 1
        # A low problem that keeps coming back is noise from its second episode on.
        name = alert(admin, company, asset="db01", raw="disk full", source="zabbix", severity="low")
        incident = incident_of(admin, company, name)
        assert incident != noise  # known noise takes in no other signal of its host
        first = until(admin, company, "incidents", incident, lambda s: s.get("assignee"), "routing")
        assert first["correlation"]["noise"] is False and first["assignee"] == names["ana"]
        report(admin, company, name, 40)  # stale at 10, quiet 40 min: a new episode
        again = until(
            admin,
            company,
            "incidents",
            incident,
            lambda s: s.get("reopened") == 1 and s.get("correlation", {}).get("noise"),
            "the low recurrence to be known noise",
        )
        assigned = [e for e in again["timeline"] if e["type"] in ("Assigned", "Rerouted")]
        assert len(assigned) == 1  # the first episode's, none for the recurrence
        assert not again.get("sla")
        # A critical report is news, never folded into old noise: its own incident pages.
        report(admin, company, name, 41, severity="critical")
        loud = wait_for(
            lambda: (
                (ref := status(admin, company, "alerts", name)["incidentRef"]["name"]) != incident
                and ref
            ),
            what="the critical report to open its own incident",
        )
        paged = until(
            admin,
            company,
            "incidents",
            loud,
            lambda s: s.get("assignee") and s.get("sla"),
            "the loud incident to be routed",
        )
        assert paged["correlation"]["noise"] is False and paged["assignee"] == names["cara"]
        assert paged["rules"]["severity"] == "critical"
        quiet = until(
            admin,
            company,
            "incidents",
            incident,
            lambda s: s.get("alerts", {}).get("firing") == 0,
            "the noise incident to let the alert go",
        )
        assert (
            quiet["correlation"]["noise"] is True and quiet["alerts"]["count"] == 1
        )  # still counted


@pytest.mark.parametrize("window", ["5m", "0s"])
def test_quiet_signals_on_one_host_join_when_the_company_asks(
    cluster: Cluster, admin: KubeClient, window: str
) -> None:
    """Low and info alerts of different signals on one asset within the host window join
    one incident (pattern host); anything worse keeps its own incident (it is news)."""
    with (
        a_company(
            admin, "strh", incidents={"hostWindow": window}, assets=[{"name": "web01"}]
        ) as company,
        run_operator(operator_kubeconfig(cluster)),
    ):
        wait_namespace(admin, company)
        quiet = {"asset": "web01", "severity": "low"}
        first = alert(admin, company, raw="ssh brute force", source="generic", **quiet)
        second = alert(admin, company, raw="disk full", source="zabbix", minutes=2, **quiet)
        loud = alert(
            admin, company, asset="web01", raw="InstanceDown", source="alertmanager", minutes=3
        )
        later = alert(admin, company, raw="CPU usage high", source="datadog", minutes=30, **quiet)
        a, b, c, d = (incident_of(admin, company, n) for n in (first, second, loud, later))
        assert c not in (a, b) and d not in (a, b, c)  # news, and half an hour later
        if window == "0s":
            assert a != b
            return
        assert a == b
        joined = until(
            admin,
            company,
            "incidents",
            a,
            lambda s: s.get("alerts", {}).get("count") == 2,
            "the host situation",
        )
        assert joined["pattern"] == "host"
        # A louder report of one of them is news: never folded into the host situation.
        report(admin, company, second, 4, severity="high")
        raised = wait_for(
            lambda: (
                (ref := status(admin, company, "alerts", second)["incidentRef"]["name"]) != a
                and ref
            ),
            what="the high report to leave the host situation",
        )
        assert raised not in (c, d)
        own = until(
            admin,
            company,
            "incidents",
            raised,
            lambda s: s.get("rules", {}).get("severity") == "high",
            "the high report's own incident",
        )
        assert own["alerts"]["count"] == 1
        # The alert records its new incident only once the incidents' changes are stored.
        left = status(admin, company, "incidents", a)
        assert left["rules"]["severity"] == "low"  # not raised: the alert left it
        assert left["alerts"]["firing"] <= 1 and left["alerts"]["count"] == 2  # still counted


def test_staleness_survives_a_restart(cluster: Cluster, admin: KubeClient, stream: str) -> None:
    """What went stale stays so after a restart (the alert's status says so), and an alert
    still firing goes stale after the restart as it would have: from its last report, in
    event time, which resumes from the reports the rebuilt memory read."""
    clock = ManualClock(datetime.now(UTC))
    with run_operator(operator_kubeconfig(cluster), clock=clock):
        wait_namespace(admin, stream)
        early = alert(admin, stream, asset="web01", raw="ssh brute force", source="generic")
        first = incident_of(admin, stream, early)
        late = alert(
            admin, stream, asset="db01", raw="port scan detected", source="generic", minutes=8
        )
        second = incident_of(admin, stream, late)
        clock.advance(timedelta(minutes=3))  # event time 11: the early alert went stale
        evaluated()
        until(admin, stream, "incidents", first, lambda s: s.get("phase") == "Resolved", "stale")
        assert status(admin, stream, "alerts", late).get("resolvedBy") is None
    restarted = ManualClock(clock.now() + timedelta(minutes=1))
    with run_operator(operator_kubeconfig(cluster), clock=restarted):
        evaluated()
        assert status(admin, stream, "alerts", late).get("resolvedBy") is None  # event time 8
        restarted.advance(timedelta(minutes=11))  # 19 minutes after its report
        evaluated()
        gone = until(
            admin, stream, "alerts", late, lambda s: s.get("resolvedBy") == "stale", "staleness"
        )
        assert gone["staleAt"].startswith(at(18)[:16])
        until(
            admin, stream, "incidents", second, lambda s: s.get("phase") == "Resolved", "resolved"
        )
        old = status(admin, stream, "incidents", first)
        assert old["phase"] == "Resolved" and old["reopened"] == 0
    assert len(incidents(admin, stream)) == 2
