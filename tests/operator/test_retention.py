"""Resolved alerts are pruned after the company's retention; firing ones, recent ones and
ones whose resolution the incident has not counted yet stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes import client
from support.alerts import API, a_company, operator_kubeconfig, wait_namespace
from support.cluster import Cluster, wait_for
from support.operator import ran_since, run_operator

from whisperer.operator.clock import ManualClock
from whisperer.operator.errors import NotFoundError
from whisperer.operator.kube import KubeClient
from whisperer.operator.services.retention import expired_alerts

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def body(name: str, state: str, resolved: datetime | None = None, **status: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"state": state}
    if resolved:
        spec["resolvedAt"] = resolved.isoformat()
    return {"metadata": {"name": name}, "spec": spec, "status": status}


def test_only_resolutions_older_than_the_retention_and_already_counted_expire() -> None:
    alerts = [
        body("firing", "firing"),
        body("recent", "resolved", NOW - timedelta(minutes=30)),
        body("old", "resolved", NOW - timedelta(hours=3)),
        body(
            "older",
            "resolved",
            NOW - timedelta(hours=5),
            incidentRef={"name": "i"},
            resolutionCounted=True,
        ),
        body("uncounted", "resolved", NOW - timedelta(hours=5), incidentRef={"name": "i"}),
    ]
    assert expired_alerts(alerts, retention=timedelta(hours=1), now=NOW) == ["older", "old"]


def alert_body(name: str, *, state: str, resolved_ago: timedelta | None) -> dict[str, Any]:
    now = datetime.now(UTC)
    first = now - timedelta(hours=6)
    spec: dict[str, Any] = {
        "fingerprint": uuid.uuid4().hex[:16],
        "source": "generic",
        "asset": {"name": "web01", "known": False},
        "signal": "job-failed",
        "severity": "low",
        "state": state,
        "firstSeen": first.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lastSeen": first.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if resolved_ago is not None:
        at = (now - resolved_ago).strftime("%Y-%m-%dT%H:%M:%SZ")
        spec |= {"resolvedAt": at, "lastSeen": at}
    return {"apiVersion": API, "kind": "Alert", "metadata": {"name": name}, "spec": spec}


def test_the_operator_prunes_expired_resolved_alerts(cluster: Cluster, admin: KubeClient) -> None:
    with a_company(admin, "ret", incidents={"alertRetention": "1h"}) as company:
        check_pruning(cluster, admin, company)


def check_pruning(cluster: Cluster, admin: KubeClient, company: str) -> None:
    ns = f"company-{company}"
    clock = ManualClock(datetime.now(UTC))
    with run_operator(operator_kubeconfig(cluster), clock=clock):
        wait_namespace(admin, company)
        for name, state, ago in (
            ("old", "resolved", timedelta(hours=2)),
            ("recent", "resolved", timedelta(minutes=10)),
            ("firing", "firing", None),
        ):
            admin.create("alerts", alert_body(name, state=state, resolved_ago=ago), ns)

        def gone() -> bool:
            try:
                admin.get("alerts", "old", ns)
            except NotFoundError:
                return True
            return False

        clock.advance(timedelta(seconds=2))  # a sweep is due (one a second in tests)
        wait_for(gone, timeout=30, what="the expired alert to be pruned")
        for _ in range(3):  # more sweeps prune nothing else
            clock.advance(timedelta(seconds=2))
            ran_since("prune_alerts", clock.now())
        assert {a["metadata"]["name"] for a in admin.list("alerts", ns)} == {
            "recent",
            "firing",
        }
        events = client.CoreV1Api(admin.api_client).list_namespaced_event(
            "default", field_selector=f"involvedObject.name={company}"
        )
        pruned = [e for e in events.items if e.reason == "AlertsPruned"]
        assert len(pruned) == 1
        assert "deleted 1 alert(s) resolved more than 1h ago" in pruned[0].message
