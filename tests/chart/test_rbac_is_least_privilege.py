"""A static check of every Role and ClusterRole shipped (the chart, with the defaults and
with every option on, and manifests/install/): no escalate, bind or impersonate, no
wildcards, no pods/exec (or attach, port-forward), no Secrets outside the platform
namespace, no aggregation; and every binding names a role shipped with it."""

from __future__ import annotations

from typing import Any

import pytest
from support.cluster import REPO, load_documents
from support.helm import FULL_VALUES, template

PLATFORM = "alert-whisperer"
FORBIDDEN_VERBS = {"escalate", "bind", "impersonate"}
SHELL_INTO_PODS = {"pods/exec", "pods/attach", "pods/portforward"}
ROLE_KINDS = {"Role", "ClusterRole"}


def role_problems(role: dict[str, Any]) -> list[str]:
    """What is wrong with one Role or ClusterRole (empty: nothing)."""
    kind, meta = role["kind"], role["metadata"]
    where = f"{kind} {meta.get('namespace', '')}/{meta['name']}"
    found = []
    if role.get("aggregationRule"):
        found.append(f"{where}: aggregates other roles")
    for i, rule in enumerate(role.get("rules") or []):
        at = f"{where} rule {i}"
        for field in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
            if any("*" in value for value in rule.get(field) or []):
                found.append(f"{at}: a wildcard in {field}")
        if bad := FORBIDDEN_VERBS & set(rule.get("verbs") or []):
            found.append(f"{at}: verbs {sorted(bad)}")
        resources = set(rule.get("resources") or [])
        if bad := SHELL_INTO_PODS & resources:
            found.append(f"{at}: {sorted(bad)}")
        core = "" in (rule.get("apiGroups") or [])
        if (
            core
            and "secrets" in resources
            and (kind == "ClusterRole" or meta.get("namespace") != PLATFORM)
        ):
            found.append(f"{at}: Secrets outside the platform namespace")
        if rule.get("nonResourceURLs"):
            found.append(f"{at}: non-resource URLs")
    return found


def binding_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Bindings whose role is not one of ours (a built-in such as cluster-admin)."""
    roles = {(d["kind"], d["metadata"]["name"]) for d in docs if d["kind"] in ROLE_KINDS}
    found = []
    for d in docs:
        if d["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            ref = d["roleRef"]
            if (ref["kind"], ref["name"]) not in roles:
                found.append(
                    f"{d['kind']} {d['metadata']['name']}: binds {ref['kind']} {ref['name']}"
                )
    return found


SHIPPED = {
    "chart defaults": lambda: template(),
    "chart full values": lambda: template("--values", str(FULL_VALUES)),
    "manifests/install": lambda: load_documents(REPO / "manifests" / "install"),
}


@pytest.mark.parametrize("source", list(SHIPPED))
def test_shipped_roles_are_least_privilege(source: str) -> None:
    docs = SHIPPED[source]()
    roles = [d for d in docs if d["kind"] in ROLE_KINDS]
    assert len(roles) >= 9, f"{source}: only {len(roles)} roles found"
    assert [p for r in roles for p in role_problems(r)] == []
    assert binding_problems(docs) == []


def _role(kind: str, rule: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
    meta = {"name": "r", **({"namespace": namespace} if namespace else {})}
    return {"kind": kind, "metadata": meta, "rules": [rule]}


@pytest.mark.parametrize(
    ("role", "complaint"),
    [
        (
            _role(
                "ClusterRole",
                {"apiGroups": ["alertwhisperer.io"], "resources": ["*"], "verbs": ["get"]},
            ),
            "wildcard in resources",
        ),
        (
            _role("ClusterRole", {"apiGroups": ["*"], "resources": ["alerts"], "verbs": ["get"]}),
            "wildcard in apiGroups",
        ),
        (
            _role("ClusterRole", {"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}),
            "wildcard in verbs",
        ),
        (
            _role(
                "ClusterRole",
                {"apiGroups": ["alertwhisperer.io"], "resources": ["*/status"], "verbs": ["patch"]},
            ),
            "wildcard",
        ),
        (
            _role(
                "ClusterRole",
                {
                    "apiGroups": ["rbac.authorization.k8s.io"],
                    "resources": ["clusterroles"],
                    "verbs": ["bind"],
                },
            ),
            "['bind']",
        ),
        (
            _role(
                "ClusterRole",
                {
                    "apiGroups": ["rbac.authorization.k8s.io"],
                    "resources": ["roles"],
                    "verbs": ["escalate"],
                },
            ),
            "['escalate']",
        ),
        (
            _role(
                "ClusterRole", {"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}
            ),
            "['impersonate']",
        ),
        (
            _role(
                "Role",
                {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
                PLATFORM,
            ),
            "pods/exec",
        ),
        (
            _role("ClusterRole", {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}),
            "Secrets outside",
        ),
        (
            _role(
                "Role",
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]},
                "company-acme",
            ),
            "Secrets outside",
        ),
        (
            {
                "kind": "ClusterRole",
                "metadata": {"name": "r"},
                "aggregationRule": {"clusterRoleSelectors": [{}]},
            },
            "aggregates",
        ),
    ],
)
def test_the_check_finds_what_it_forbids(role: dict[str, Any], complaint: str) -> None:
    problems = role_problems(role)
    assert any(complaint in p for p in problems), problems


def test_secrets_in_the_platform_namespace_pass_the_check() -> None:
    role = _role("Role", {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}, PLATFORM)
    assert role_problems(role) == []
