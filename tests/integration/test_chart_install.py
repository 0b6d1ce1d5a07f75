"""`helm install` of the chart, with every optional feature on, into a control plane of its
own (bare: none of our CRDs or manifests in it): every object is accepted by the real API
server (schemas, CEL of the admission policies, RBAC escalation checks); the defaults pass a
server-side dry run; `helm uninstall` removes everything but the CRDs, which Helm keeps.

No image can be pulled here, so the Deployments' pods never run: the test does not wait for
them (the bare control plane has no scheduler or kubelet anyway).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support.cluster import REPO, kubectl, load_documents
from support.helm import CHART, FULL_VALUES, NAMESPACE, RELEASE, helm, template

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("WHISPERER_USE_EXISTING_CLUSTER")),
    reason="starts a control plane of its own",
)

# The Prometheus Operator's CRD is not ours to ship: a stand-in that accepts any spec lets
# the API server take the ServiceMonitor (its fields are checked by the chart's schema).
SERVICE_MONITOR_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
    "spec": {
        "group": "monitoring.coreos.com",
        "scope": "Namespaced",
        "names": {
            "kind": "ServiceMonitor",
            "plural": "servicemonitors",
            "singular": "servicemonitor",
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}


def _cluster(verb: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / "hack" / "cluster"), verb],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, **env},
    )


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The admin kubeconfig of a fresh, bare control plane, stopped afterwards."""
    env = {
        "WHISPERER_STATE_DIR": str(tmp_path_factory.mktemp("bare") / "state"),
        "WHISPERER_CLUSTER_BARE": "1",
    }
    up = _cluster("up", env)
    try:
        assert up.returncode == 0, up.stderr
        yield Path(up.stdout.split("export KUBECONFIG=")[1].split()[0])
    finally:
        down = _cluster("down", env)
        assert down.returncode == 0, down.stderr


def _names(kubeconfig: Path, manifest: Path) -> list[str]:
    out = kubectl(
        "get", "-f", str(manifest), "-o", "name", "--ignore-not-found", kubeconfig=kubeconfig
    )
    return sorted(out.stdout.split())


def test_install_every_object_then_uninstall_keeps_only_the_crds(
    bare: Path, tmp_path: Path
) -> None:
    crds = kubectl("get", "crd", "-o", "name", kubeconfig=bare).stdout
    assert "alertwhisperer.io" not in crds, "the bare control plane has our CRDs already"
    kubectl("apply", "-f", "-", kubeconfig=bare, stdin=yaml.safe_dump(SERVICE_MONITOR_CRD))
    kubectl(
        "wait",
        "--for=condition=established",
        "crd/servicemonitors.monitoring.coreos.com",
        kubeconfig=bare,
    )

    # The defaults, validated by the same API server without being stored.
    kubectl("create", "namespace", NAMESPACE, kubeconfig=bare)
    defaults = helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE).stdout
    dry = kubectl(
        "create", "--dry-run=server", "-o", "name", "-f", "-", kubeconfig=bare, stdin=defaults
    )
    assert len(dry.stdout.split()) == len(template())

    helm(
        "install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--create-namespace",
        "--values", str(FULL_VALUES), kubeconfig=bare,
    )  # fmt: skip
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(helm("get", "manifest", RELEASE, "-n", NAMESPACE, kubeconfig=bare).stdout)
    released = [d for d in yaml.safe_load_all(manifest.read_text()) if d]
    assert len(released) == len(template("--values", str(FULL_VALUES))) >= 35
    assert len(_names(bare, manifest)) == len(released)  # every object is in the API server
    ours = sorted(f"customresourcedefinition.apiextensions.k8s.io/{d['metadata']['name']}"
                  for d in load_documents(CHART / "crds"))  # fmt: skip
    assert [c for c in kubectl("get", "crd", "-o", "name", kubeconfig=bare).stdout.split()
            if "alertwhisperer.io" in c] == ours  # fmt: skip

    helm("uninstall", RELEASE, "-n", NAMESPACE, kubeconfig=bare)
    assert _names(bare, manifest) == []
    left = kubectl("get", "crd", "-o", "name", kubeconfig=bare).stdout.split()
    assert [c for c in left if "alertwhisperer.io" in c] == ours  # Helm keeps its crds/
