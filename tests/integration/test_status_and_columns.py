"""The status subresource keeps spec and status apart; kubectl shows the printer columns."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from support.cluster import Cluster, kubectl

from whisperer.operator.kube import KubeClient
from whisperer.operator.models.v1alpha1 import KINDS

GROUP, VERSION = "alertwhisperer.io", "v1alpha1"


def _incident(namespace: str, name: str = "inc-1") -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Incident",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"title": "pm-db01 disk space low"},
    }


STATUS = {
    "company": "acme-dental",
    "priority": "P2",
    "phase": "Acknowledged",
    "assignee": "sam-taylor",
    # As the operator would write them (an operator running meanwhile finds nothing to record
    # and composes the same nextDueAt: the resolution deadline, once acknowledged).
    "observedGeneration": 1,
    "sla": {"resolutionDueAt": "2030-01-01T00:00:00Z", "nextDueAt": "2030-01-01T00:00:00Z"},
}


def test_status_write_does_not_change_spec(admin: KubeClient, namespace: str) -> None:
    api = client.CustomObjectsApi(admin.api_client)
    created = admin.create("incidents", _incident(namespace), namespace)
    generation = created["metadata"]["generation"]
    patched = api.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        "incidents",
        "inc-1",
        {"spec": {"title": "changed through status"}, "status": STATUS},
    )
    assert patched["spec"]["title"] == "pm-db01 disk space low"
    assert patched["status"]["priority"] == "P2"
    assert patched["metadata"]["generation"] == generation
    again = admin.get("incidents", "inc-1", namespace)
    assert again["spec"] == created["spec"]


def test_spec_write_does_not_change_status(admin: KubeClient, namespace: str) -> None:
    api = client.CustomObjectsApi(admin.api_client)
    admin.create("incidents", _incident(namespace), namespace)
    admin.patch_status("incidents", "inc-1", STATUS, namespace)
    patched = api.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "incidents",
        "inc-1",
        {"spec": {"title": "new title"}, "status": {"priority": "P5"}},
    )
    assert patched["spec"]["title"] == "new title"
    assert patched["status"]["priority"] == "P2"
    assert patched["metadata"]["generation"] == 2


def test_kubectl_get_inc_prints_the_columns(
    cluster: Cluster, admin: KubeClient, namespace: str
) -> None:
    admin.create("incidents", _incident(namespace), namespace)
    admin.patch_status("incidents", "inc-1", STATUS, namespace)
    out = kubectl("get", "inc", "-n", namespace, kubeconfig=cluster.kubeconfig).stdout
    header, row = out.splitlines()[:2]
    assert header.split() == [
        "NAME",
        "COMPANY",
        "PRIORITY",
        "STATE",
        "ASSIGNEE",
        "SLA",
        "DUE",
        "AGE",
    ]
    assert row.split()[:6] == [
        "inc-1",
        "acme-dental",
        "P2",
        "Acknowledged",
        "sam-taylor",
        "2030-01-01T00:00:00Z",
    ]
    wide = kubectl("get", "inc", "-n", namespace, "-o", "wide", kubeconfig=cluster.kubeconfig)
    assert "TITLE" in wide.stdout and "pm-db01 disk space low" in wide.stdout


def test_category_lists_every_kind(cluster: Cluster, admin: KubeClient, namespace: str) -> None:
    admin.create("incidents", _incident(namespace), namespace)
    out = kubectl(
        "get", "whisperer", "-n", namespace, "-o", "name", kubeconfig=cluster.kubeconfig
    ).stdout
    assert "incident.alertwhisperer.io/inc-1" in out
    resources = kubectl(
        "api-resources", "--categories", "whisperer", "-o", "name", kubeconfig=cluster.kubeconfig
    ).stdout.split()
    assert sorted(resources) == sorted(f"{k.info.plural}.alertwhisperer.io" for k in KINDS)
    assert all(r.endswith(".alertwhisperer.io") for r in resources)
