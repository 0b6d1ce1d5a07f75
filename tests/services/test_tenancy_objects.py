"""The Kubernetes objects a company's tenancy is made of."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from whisperer.operator.models.v1alpha1 import Company
from whisperer.operator.services.tenancy import (
    admin_binding,
    company_reader_binding,
    company_reader_role,
    credentials_secret_body,
    namespace_body,
    runbook_reader_binding,
    technician_binding,
)

LABELS = {"app.kubernetes.io/managed-by": "alert-whisperer", "alertwhisperer.io/company": "acme"}


def user(name: str) -> dict[str, str]:
    return {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name}


def test_namespace_body() -> None:
    company = Company.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Company",
            "metadata": {"name": "acme"},
            "spec": {"displayName": "Acme", "slaPolicyRef": {"name": "gold"}},
        }
    )
    assert namespace_body(company) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "company-acme", "labels": LABELS},
    }


@pytest.mark.parametrize(
    ("make", "name", "namespace", "role"),
    [
        (admin_binding, "whisperer-company-admins", "company-acme", "whisperer-company-admin"),
        (technician_binding, "whisperer-technicians", "company-acme", "whisperer-technician"),
        (
            runbook_reader_binding,
            "whisperer-runbooks-acme",
            "alert-whisperer",
            "whisperer-runbook-reader",
        ),
    ],
    ids=["admins", "technicians", "runbook-readers"],
)
@pytest.mark.parametrize(
    ("users", "subjects"),
    [
        ([], []),
        (["zoe", "amy", "zoe", "mia", "amy"], ["amy", "mia", "zoe"]),
        (["b", "a"], ["a", "b"]),
    ],
    ids=["nobody", "sorted-and-deduplicated", "sorted"],
)
def test_role_bindings(
    make: Callable[[str, Iterable[str]], dict[str, Any]],
    name: str,
    namespace: str,
    role: str,
    users: list[str],
    subjects: list[str],
) -> None:
    # A one-pass iterator: the callers may hand over generators.
    assert make("acme", iter(users)) == {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace, "labels": LABELS},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [user(s) for s in subjects],
    }


def test_company_reader_role_reads_only_its_company() -> None:
    role = company_reader_role("acme")
    assert role["kind"] == "ClusterRole"
    assert role["metadata"] == {"name": "whisperer-company-acme-reader", "labels": LABELS}
    assert role["rules"] == [
        {
            "apiGroups": ["alertwhisperer.io"],
            "resources": ["companies"],
            "resourceNames": ["acme"],
            "verbs": ["get", "watch"],
        }
    ]


def test_company_reader_binding_binds_the_reader_role() -> None:
    binding = company_reader_binding("acme", ["tech", "admin", "tech"])
    assert binding["kind"] == "ClusterRoleBinding"
    assert "namespace" not in binding["metadata"]
    assert binding["metadata"] == {"name": "whisperer-company-acme-reader", "labels": LABELS}
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": company_reader_role("acme")["metadata"]["name"],
    }
    assert binding["subjects"] == [user("admin"), user("tech")]


def test_credentials_secret_body_is_in_the_platform_namespace() -> None:
    data = {"api-key": "aw_x", "external-id": "e"}
    assert credentials_secret_body("acme", data) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": "company-acme-credentials",
            "namespace": "alert-whisperer",
            "labels": LABELS,
        },
        "stringData": data,
    }
