"""Fixtures of the git syncer's tests: the operator for the module, a repo and names per test."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from support.cluster import Cluster
from support.gitops import Repo, World
from support.operator import run_operator

from whisperer.operator.kube import KubeClient


@pytest.fixture(scope="module")
def operator_running(cluster: Cluster) -> Iterator[None]:
    kubeconfig = cluster.identity("operator") if cluster.kubeconfig_dir else cluster.kubeconfig
    with run_operator(kubeconfig):
        yield


def let_the_operator_read_secrets(admin: KubeClient, namespace: str) -> None:
    """The chart lets the operator read Secrets in the platform namespace only; a GitSource
    elsewhere (each test's own namespace) needs this grant, as docs/gitops.md says."""
    rbac = client.RbacAuthorizationV1Api(admin.api_client)
    rbac.create_namespaced_role(
        namespace,
        {
            "metadata": {"name": "gitsource-credentials"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
        },
    )
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "gitsource-credentials"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "gitsource-credentials",
            },
            "subjects": [
                {
                    "kind": "ServiceAccount",
                    "name": "alert-whisperer-operator",
                    "namespace": "alert-whisperer",
                }
            ],
        },
    )


@pytest.fixture
def world(
    operator_running: None, admin: KubeClient, namespace: str, tmp_path: Path
) -> Iterator[World]:
    let_the_operator_read_secrets(admin, namespace)
    repo = Repo(tmp_path / "repo")
    repo.path.mkdir()
    repo.git("init", "-q", "-b", "main")
    w = World(repo, namespace, uuid.uuid4().hex[:6], admin)
    yield w
    api = client.CustomObjectsApi(admin.api_client)
    for plural, name in (
        ("routingrules", "r"),
        ("technicians", "t"),
        ("companies", "c"),
        ("slapolicies", "p"),
    ):
        with contextlib.suppress(client.ApiException):
            api.delete_cluster_custom_object(
                "alertwhisperer.io", "v1alpha1", plural, f"{name}-{w.s}"
            )
