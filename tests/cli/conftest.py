"""A small MSP for the plugin tests: a company (admin priya, medium approvals allowed), a
24x7 SLA policy, the technician sam routed its storage incidents, three runbooks, the
admission policies in force and the operator running (as its own user) throughout."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from support.alerts import alert, incident_of
from support.cluster import Cluster, wait_for
from support.operator import run_operator
from support.tenancy import (
    API,
    COMPANY_ADMIN,
    COMPANY_VIEWER,
    GROUP,
    PLATFORM,
    TECHNICIAN,
    VERSION,
    can,
    custom,
    delete_cluster_object,
    gone,
    policies_in_force,
)

from whisperer.operator.kube import KubeClient

REPORT_TICK = "WHISPERER_REPORT_TICK_SECONDS"


@dataclass
class Shop:
    """Names the plugin tests share, and each identity's kubeconfig."""

    company: str
    technician: str
    runbooks: dict[str, str]
    kubeconfigs: dict[str, Path]
    admin: KubeClient
    used: int = 0

    @property
    def ns(self) -> str:
        return f"company-{self.company}"

    def who(self, identity: str) -> Path:
        return self.kubeconfigs[identity]

    def new_incident(self, asset: str = "", raw: str = "DiskSpaceLow") -> str:
        """A new incident the operator opened from a fresh alert: on the next unused asset
        (alerts of one asset and signal join one open incident), or on `asset`."""
        if not asset:
            self.used += 1
            asset = f"db{self.used:02d}"
        name = alert(
            self.admin,
            self.company,
            asset=asset,
            raw=f"{raw}{uuid.uuid4().hex[:4]}",
            source="alertmanager",
            severity="high",
        )
        return incident_of(self.admin, self.company, name)


def _runbook(name: str, risk: str) -> dict[str, object]:
    return {
        "apiVersion": API,
        "kind": "Runbook",
        "metadata": {"name": name, "namespace": PLATFORM},
        "spec": {
            "title": f"free disk space ({risk})",
            "risk": risk,
            "platform": "linux",
            "shell": "bash",
            "script": "df -h",
            "matches": {"signals": ["disk-space-low"]},
        },
    }


# Per module, not per package: tests/ has no __init__.py, so a "package" fixture here
# lived to the end of the session and its operator ran beside every later test's.
@pytest.fixture(scope="module")
def shop(cluster: Cluster, admin: KubeClient) -> Iterator[Shop]:
    if cluster.kubeconfig_dir is None:
        pytest.skip("the plugin tests need the identities of hack/cluster")
    identities = ("technician", "company-admin", "company-viewer", "msp-admin", "outsider")
    clients = {i: KubeClient.from_kubeconfig(str(cluster.identity(i))) for i in identities}
    suffix = uuid.uuid4().hex[:6]
    s = Shop(
        company=f"shop-{suffix}",
        technician=f"sam-{suffix}",
        runbooks={r: f"disk-{r}-{suffix}" for r in ("low", "medium", "high")},
        kubeconfigs={i: cluster.identity(i) for i in identities},
        admin=admin,
    )
    policies_in_force(clients, admin)
    cluster_objects = [
        (
            "slapolicies",
            {
                "apiVersion": API,
                "kind": "SLAPolicy",
                "metadata": {"name": s.company},
                "spec": {
                    "targets": [
                        {"severity": "critical", "responseMinutes": 15, "resolutionMinutes": 240},
                        {"severity": "high", "responseMinutes": 60, "resolutionMinutes": 480},
                    ],
                    "coverage": {"type": "24x7"},
                },
            },
        ),
        (
            "companies",
            {
                "apiVersion": API,
                "kind": "Company",
                "metadata": {"name": s.company},
                "spec": {
                    "displayName": "Acme Dental",
                    "slaPolicyRef": {"name": s.company},
                    "admins": [COMPANY_ADMIN],
                    "viewers": [COMPANY_VIEWER],
                    "deletionPolicy": "Delete",
                    "remediation": {"allowMediumRiskByCompanyAdmin": True},
                    # AWS servers (the remediator admits runs only against the inventory,
                    # by instance id); no AWS account: an approved run stops at credentials.
                    "assets": [
                        *(
                            {
                                "name": f"db{n:02d}",
                                "platform": "linux",
                                "cloud": "aws",
                                "instanceId": f"i-{n:017x}",
                                "region": "us-east-1",
                            }
                            for n in range(1, 61)
                        ),
                        {
                            "name": "web01",
                            "platform": "linux",
                            "cloud": "aws",
                            "instanceId": "i-0a1b2c3d4e5f60718",
                            "region": "us-east-1",
                        },
                    ],
                },
            },
        ),
        (
            "technicians",
            {
                "apiVersion": API,
                "kind": "Technician",
                "metadata": {"name": s.technician},
                "spec": {
                    "username": TECHNICIAN,
                    "displayName": "Sam",
                    "email": TECHNICIAN,
                    "skills": ["linux"],
                    "companies": [s.company],
                    "maxOpenIncidents": 100,
                },
            },
        ),
        (
            "routingrules",
            {
                "apiVersion": API,
                "kind": "RoutingRule",
                "metadata": {"name": s.company},
                "spec": {
                    "order": 0,
                    "match": {"companies": [s.company]},
                    "preferredTechnicians": [s.technician],
                },
            },
        ),
    ]
    # The reporting job runs every second for this operator only (Settings are read when
    # it starts; other packages' operators keep the default).
    previous = os.environ.get(REPORT_TICK)
    os.environ[REPORT_TICK] = "1"
    try:
        with run_operator(Path(cluster.identity("operator"))):
            _restore(REPORT_TICK, previous)
            yield from _serve(s, admin, clients, cluster_objects)
    finally:
        _restore(REPORT_TICK, previous)
        for kube in clients.values():
            kube.close()


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _serve(
    s: Shop,
    admin: KubeClient,
    clients: dict[str, KubeClient],
    cluster_objects: list[tuple[str, dict[str, Any]]],
) -> Iterator[Shop]:
    """Create the shop's objects, hand it to the tests, then remove them."""
    for plural, body in cluster_objects:
        admin.create(plural, body)
    for risk, name in s.runbooks.items():
        admin.create("runbooks", _runbook(name, risk), PLATFORM)
    wait_for(
        lambda: admin.get("companies", s.company).get("status", {}).get("namespace"),
        timeout=30,
        what="the company's namespace",
    )
    wait_for(
        lambda: all(
            can(clients[i], "list", s.ns) for i in ("technician", "company-admin", "company-viewer")
        ),
        timeout=30,
        what="the technician, the company admin and the viewer to be bound",
    )
    yield s
    for plural, body in reversed(cluster_objects):
        delete_cluster_object(admin, plural, body["metadata"]["name"])
    for name in s.runbooks.values():
        with contextlib.suppress(client.ApiException):
            custom(admin).delete_namespaced_custom_object(
                GROUP, VERSION, PLATFORM, "runbooks", name
            )
    wait_for(lambda: gone(admin, s.company), timeout=30, what=f"{s.company} to be retired")
