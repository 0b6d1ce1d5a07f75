"""A small MSP world for the tenancy tests: two companies, a technician, three runbooks,
the admission policies in force and the operator running (as its own user) throughout."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
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
    World,
    can,
    company_body,
    custom,
    delete_cluster_object,
    gone,
    policies_in_force,
    runbook_body,
)

from whisperer.operator.kube import KubeClient


@pytest.fixture(scope="package")
def world(cluster: Cluster, admin: KubeClient) -> Iterator[World]:
    if cluster.kubeconfig_dir is None:
        pytest.skip("the tenancy tests need the six identities of hack/cluster")
    clients = {
        i: KubeClient.from_kubeconfig(str(cluster.identity(i)))
        for i in (
            "msp-admin",
            "company-admin",
            "company-viewer",
            "technician",
            "outsider",
            "operator",
        )
    }
    suffix = uuid.uuid4().hex[:6]
    w = World(
        own=f"own-{suffix}",
        other=f"other-{suffix}",
        technician=f"tech-{suffix}",
        runbooks={r: f"rb-{r}-{suffix}" for r in ("low", "medium", "high")},
        clients=clients,
    )
    policies_in_force(clients, admin)
    with run_operator(Path(cluster.identity("operator"))):
        admin.create(
            "companies",
            company_body(
                w.own,
                [COMPANY_ADMIN],
                viewers=[COMPANY_VIEWER],
                webhook={"keyRotationGrace": "6s"},
            ),
        )
        admin.create("companies", company_body(w.other, ["ops@other.example"]))
        admin.create(
            "technicians",
            {
                "apiVersion": API,
                "kind": "Technician",
                "metadata": {"name": w.technician},
                "spec": {
                    "username": TECHNICIAN,
                    "displayName": "Sam",
                    "email": TECHNICIAN,
                    "companies": [w.own],
                },
            },
        )
        for risk, name in w.runbooks.items():
            admin.create("runbooks", runbook_body(name, risk), PLATFORM)
        for name in (w.own, w.other):
            wait_for(
                lambda n=name: admin.get("companies", n).get("status", {}).get("namespace"),
                timeout=30,
                what=f"{name}'s namespace",
            )
        wait_for(
            lambda: (
                can(clients["technician"], "list", w.ns("own"))
                and can(clients["company-viewer"], "list", w.ns("own"))
            ),
            timeout=30,
            what="the technician and the viewer to be bound in the own company",
        )
        yield w
        delete_cluster_object(admin, "technicians", w.technician)
        for name in (w.own, w.other):
            delete_cluster_object(admin, "companies", name)
        for name in w.runbooks.values():
            with contextlib.suppress(client.ApiException):
                custom(admin).delete_namespaced_custom_object(
                    GROUP, VERSION, PLATFORM, "runbooks", name
                )
        # Let the operator apply the deletion policy before it stops.
        for name in (w.own, w.other):
            wait_for(lambda n=name: gone(admin, n), timeout=30, what=f"{name} to be retired")
    for kube in clients.values():
        kube.close()
