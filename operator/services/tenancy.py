"""What a company's tenancy looks like in Kubernetes: its namespace, Secret and RoleBindings.

Pure functions from models to the bodies the operator applies; the handlers apply them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from whisperer.operator.models.v1alpha1 import Company

PLATFORM_NAMESPACE = "alert-whisperer"
COMPANY_LABEL = "alertwhisperer.io/company"
MANAGED = {"app.kubernetes.io/managed-by": "alert-whisperer"}
ROTATE_ANNOTATION = "alertwhisperer.io/rotate-credentials"
RESUME_ANNOTATION = "alertwhisperer.io/resume-auto-remediation"
"""An MSP admin sets it (any new value) to resume paused automatic runs."""
RETAINED_LABEL = "alertwhisperer.io/retained"

Body = dict[str, Any]


NAMESPACE_PREFIX = "company-"


def namespace_name(company: str) -> str:
    """A company's namespace."""
    return f"{NAMESPACE_PREFIX}{company}"


def company_of_namespace(namespace: str | None) -> str | None:
    """The company whose namespace this is (None: not a company's)."""
    if namespace and namespace.startswith(NAMESPACE_PREFIX):
        return namespace[len(NAMESPACE_PREFIX) :]
    return None


def credentials_secret_name(company: str) -> str:
    """The Secret (platform namespace) with the company's credentials."""
    return f"{namespace_name(company)}-credentials"


def namespace_body(company: Company) -> Body:
    """The company's namespace."""
    name = company.metadata.name
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace_name(name),
            "labels": {**MANAGED, COMPANY_LABEL: name},
        },
    }


def _users(names: Iterable[str]) -> list[Body]:
    return [
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": n}
        for n in sorted(set(names))
    ]


def _binding(name: str, namespace: str, role: str, company: str, users: Iterable[str]) -> Body:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**MANAGED, COMPANY_LABEL: company},
        },
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": _users(users),
    }


def admin_binding(company: str, admins: Iterable[str]) -> Body:
    """Company admins (from Company.spec.admins) in the company namespace."""
    return _binding(
        "whisperer-company-admins",
        namespace_name(company),
        "whisperer-company-admin",
        company,
        admins,
    )


def technician_binding(company: str, technicians: Iterable[str]) -> Body:
    """Technicians who serve the company, in the company namespace."""
    return _binding(
        "whisperer-technicians",
        namespace_name(company),
        "whisperer-technician",
        company,
        technicians,
    )


def viewer_binding(company: str, viewers: Iterable[str]) -> Body:
    """The client's own read-only staff (Company.spec.viewers), in the company namespace."""
    return _binding(
        "whisperer-company-viewers",
        namespace_name(company),
        "whisperer-company-viewer",
        company,
        viewers,
    )


def runbook_reader_binding(company: str, users: Iterable[str]) -> Body:
    """Everyone working for the company may read the platform's runbook library."""
    return _binding(
        f"whisperer-runbooks-{company}",
        PLATFORM_NAMESPACE,
        "whisperer-runbook-reader",
        company,
        users,
    )


def company_reader_role(company: str) -> Body:
    """A ClusterRole to read one Company (cluster-scoped, so a RoleBinding cannot grant it)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": f"whisperer-company-{company}-reader",
            "labels": {**MANAGED, COMPANY_LABEL: company},
        },
        "rules": [
            {
                "apiGroups": ["alertwhisperer.io"],
                "resources": ["companies"],
                "resourceNames": [company],
                "verbs": ["get", "watch"],
            }
        ],
    }


def company_reader_binding(name: str, users: Iterable[str]) -> Body:
    """Company admins and technicians of the company read their own Company."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {
            "name": f"whisperer-company-{name}-reader",
            "labels": {**MANAGED, COMPANY_LABEL: name},
        },
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": f"whisperer-company-{name}-reader",
        },
        "subjects": _users(users),
    }


def credentials_secret_body(company: str, data: dict[str, str]) -> Body:
    """The credentials Secret, in the platform namespace."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": credentials_secret_name(company),
            "namespace": PLATFORM_NAMESPACE,
            "labels": {**MANAGED, COMPANY_LABEL: company},
        },
        "stringData": data,
    }
