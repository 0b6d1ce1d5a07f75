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

from whisperer.operator.kube import KubeClient

INTEGRATION_DIRS = {"integration", "operator", "cli", "hack", "api"}


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


@pytest.fixture
def operator_env(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point Kopf's login at the operator's own identity (not the admin)."""
    kubeconfig = cluster.identity("operator") if cluster.kubeconfig_dir else cluster.kubeconfig
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    return kubeconfig


@pytest.fixture
def operator(operator_env: Path) -> Iterator[KopfRunner]:
    """The real operator (whisperer.operator.runner), run by Kopf in a thread as its own user."""
    args = ["run", "--all-namespaces", "--standalone", "-m", "whisperer.operator.runner"]
    with KopfRunner(args, timeout=60) as runner:
        yield runner
    assert runner.exception is None, runner.output
    assert runner.exit_code == 0, runner.output


def pytest_report_header() -> str:
    """Say which cluster the run uses."""
    if os.environ.get("WHISPERER_USE_EXISTING_CLUSTER"):
        return f"cluster: existing ({os.environ.get('KUBECONFIG')})"
    return "cluster: local control plane (hack/cluster up)"
