"""Fixtures: the real local control plane, a namespace per test, the operator under Kopf."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kopf.testing import KopfRunner
from kubernetes import client
from support.cluster import REPO, Cluster, bring_up, kubectl, load_documents, wait_for
from support.operator import run_operator

from whisperer.operator.kube import KubeClient

INTEGRATION_DIRS = {"integration", "operator", "cli", "hack", "api", "tenancy", "webhook", "gitops"}

# Sweep expired credentials every 2 s in tests (read when the handlers are imported).
os.environ.setdefault("WHISPERER_CREDENTIAL_SWEEP_SECONDS", "2")
# Check GitSources every second (read when the handlers are imported).
os.environ.setdefault("WHISPERER_GITSOURCE_TICK_SECONDS", "1")
# No AI analysis unless a test asks for it (a developer's ANTHROPIC_API_KEY must not be used).
os.environ.setdefault("WHISPERER_AI_PROVIDER", "off")
# Write technicians' open incidents and shift every second.
os.environ.setdefault("WHISPERER_TECHNICIAN_TICK_SECONDS", "1")
# Prune expired resolved alerts every second.
os.environ.setdefault("WHISPERER_ALERT_SWEEP_SECONDS", "1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under the integration folders need the cluster: mark them so."""
    for item in items:
        if INTEGRATION_DIRS & set(Path(str(item.path)).relative_to(REPO / "tests").parts[:-1]):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    """The local control plane (hack/cluster up), or the one KUBECONFIG names."""
    up = bring_up()
    kube = KubeClient.from_kubeconfig(str(up.kubeconfig))
    try:
        ext = client.ApiextensionsV1Api(kube.api_client)
        names = {doc["metadata"]["name"] for doc in load_documents(REPO / "crds")}

        def established() -> bool:
            crds = {c.metadata.name: c for c in ext.list_custom_resource_definition().items}
            return all(
                name in crds
                and any(
                    c.type == "Established" and c.status == "True"
                    for c in (crds[name].status.conditions or [])
                )
                for name in names
            )

        wait_for(established, timeout=60, what="every CRD to be Established")
        kubectl(
            "apply",
            "--server-side",
            "-f",
            str(REPO / "manifests" / "install"),
            kubeconfig=up.kubeconfig,
        )
    finally:
        kube.close()
    return up


@pytest.fixture(scope="session")
def admin(cluster: Cluster) -> Iterator[KubeClient]:
    """A client with the cluster admin's identity."""
    kube = KubeClient.from_kubeconfig(str(cluster.kubeconfig))
    yield kube
    kube.close()


@pytest.fixture
def namespace(cluster: Cluster, admin: KubeClient) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    core = client.CoreV1Api(admin.api_client)
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"whisperer-test": "1"}))
    )
    yield name
    with contextlib.suppress(client.ApiException):
        core.delete_namespace(name)


def operator_kubeconfig(cluster: Cluster) -> Path:
    """The operator's own identity (the admin's on a cluster without identities)."""
    return cluster.identity("operator") if cluster.kubeconfig_dir else cluster.kubeconfig


@pytest.fixture
def operator(cluster: Cluster) -> Iterator[KopfRunner]:
    """The operator, as its own user, for one test."""
    with run_operator(operator_kubeconfig(cluster)) as runner:
        yield runner


def pytest_report_header() -> str:
    """Say which cluster the run uses."""
    if os.environ.get("WHISPERER_USE_EXISTING_CLUSTER"):
        return f"cluster: existing ({os.environ.get('KUBECONFIG')})"
    return "cluster: local control plane (hack/cluster up)"
