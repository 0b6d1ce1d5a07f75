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


@pytest.fixture
def world(
    operator_running: None, admin: KubeClient, namespace: str, tmp_path: Path
) -> Iterator[World]:
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
