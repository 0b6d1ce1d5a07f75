"""manifests/install/ is rendered from the chart (hack/render-install): one source for the
RBAC, the admission policies and the priority level, checked here for drift."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import subprocess
import sys
from types import ModuleType

from support.cluster import REPO, load_documents
from support.helm import template_sources

RENDERED_KINDS = {
    "ServiceAccount",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "FlowSchema",
    "PriorityLevelConfiguration",
}


def _render_install() -> ModuleType:
    path = str(REPO / "hack" / "render-install")
    loader = importlib.machinery.SourceFileLoader("render_install", path)
    spec = importlib.util.spec_from_loader("render_install", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_manifests_install_is_what_the_chart_renders() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "hack" / "render-install"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


def test_every_rbac_admission_and_flowcontrol_template_reaches_manifests_install() -> None:
    listed = {t for templates in _render_install().FILES.values() for t in templates}
    rendered = template_sources()
    wanted = {src for src, docs in rendered.items() if docs[0]["kind"] in RENDERED_KINDS}
    assert wanted == listed


def test_manifests_install_claims_no_helm_ownership() -> None:
    for doc in load_documents(REPO / "manifests" / "install"):
        labels = doc["metadata"].get("labels", {})
        assert "helm.sh/chart" not in labels, doc["metadata"]["name"]
        assert labels.get("app.kubernetes.io/managed-by") != "Helm", doc["metadata"]["name"]
