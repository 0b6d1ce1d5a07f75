"""Helpers for the tenancy tests: the shared world's names and the calls the tests make."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from support.cluster import wait_for
from whisperer.operator.errors import ForbiddenError, WhispererError
from whisperer.operator.kube import KubeClient

GROUP, VERSION, API = "alertwhisperer.io", "v1alpha1", "alertwhisperer.io/v1alpha1"
PLATFORM = "alert-whisperer"
COMPANY_ADMIN = "priya@acme-dental.example"
COMPANY_VIEWER = "dana@acme-dental.example"
TECHNICIAN = "sam@northwind-msp.example"
MSP_ADMIN = "morgan@northwind-msp.example"


@dataclass
class World:
    """Names of everything the tenancy tests share."""

    own: str
    other: str
    technician: str
    runbooks: dict[str, str]  # risk -> runbook name
    clients: dict[str, KubeClient]

    def ns(self, which: str) -> str:
        """The namespace of 'own' or 'other'."""
        return f"company-{self.own if which == 'own' else self.other}"


# The asset runs target: admitted by the operator (in the inventory, with an instance id); the
# companies name no AWS account, so an approved run stops at its credentials step, touching
# no cloud.
WEB01 = {
    "name": "web01",
    "platform": "linux",
    "cloud": "aws",
    "instanceId": "i-0a1b2c3d4e5f60718",
    "region": "us-east-1",
}


def company_body(name: str, admins: list[str], **spec: Any) -> dict[str, Any]:
    spec.setdefault("assets", [WEB01])
    return {
        "apiVersion": API,
        "kind": "Company",
        "metadata": {"name": name},
        "spec": {
            "displayName": name,
            "slaPolicyRef": {"name": "premium-24x7"},
            "admins": admins,
            **spec,
        },
    }


def runbook_body(name: str, risk: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Runbook",
        "metadata": {"name": name, "namespace": PLATFORM},
        "spec": {
            "title": f"{risk} test",
            "risk": risk,
            "platform": "linux",
            "shell": "bash",
            "script": "echo ok",
        },
    }


def custom(kube: KubeClient) -> Any:
    return client.CustomObjectsApi(kube.api_client)


def delete_cluster_object(admin: KubeClient, plural: str, name: str) -> None:
    with contextlib.suppress(client.ApiException):
        custom(admin).delete_cluster_custom_object(GROUP, VERSION, plural, name)


def policies_in_force(clients: dict[str, KubeClient], admin: KubeClient) -> None:
    """Retry a request the incident policy must refuse until it is refused: bindings of
    ValidatingAdmissionPolicies take effect asynchronously."""
    ns = f"t-policy-{uuid.uuid4().hex[:6]}"
    client.CoreV1Api(admin.api_client).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=ns))
    )
    try:
        admin.create(
            "incidents",
            {
                "apiVersion": API,
                "kind": "Incident",
                "metadata": {"name": "probe", "namespace": ns},
                "spec": {"title": "probe"},
            },
            ns,
        )
        rbac = client.RbacAuthorizationV1Api(admin.api_client)
        rbac.create_namespaced_role_binding(
            ns,
            {
                "metadata": {"name": "probe"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "whisperer-technician",
                },
                "subjects": [
                    {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": TECHNICIAN}
                ],
            },
        )
        forged = {
            "spec": {
                "acknowledgement": {"by": "someone-else@example", "at": "2026-11-01T00:00:00Z"}
            }
        }

        def refused() -> bool:
            try:
                custom(clients["technician"]).patch_namespaced_custom_object(
                    GROUP, VERSION, ns, "incidents", "probe", forged
                )
            except client.ApiException as exc:
                return exc.status in (403, 422) and "acknowledgement.by" in (exc.body or "")
            custom(admin).patch_namespaced_custom_object(
                GROUP,
                VERSION,
                ns,
                "incidents",
                "probe",
                [{"op": "remove", "path": "/spec/acknowledgement"}],
            )
            return False

        wait_for(refused, timeout=60, interval=0.5, what="the incident policy to take effect")
        run = {
            "apiVersion": API,
            "kind": "RunbookExecution",
            "metadata": {"name": "probe-run"},
            "spec": {
                "runbookRef": {"name": "any"},
                "targets": ["web01"],
                "requestedBy": "someone-else@example",
            },
        }

        def request_refused() -> bool:
            try:
                custom(clients["technician"]).create_namespaced_custom_object(
                    GROUP, VERSION, ns, "runbookexecutions", run
                )
            except client.ApiException as exc:
                return exc.status == 403 and "requestedBy must be" in (exc.body or "")
            custom(admin).delete_namespaced_custom_object(
                GROUP, VERSION, ns, "runbookexecutions", "probe-run"
            )
            return False

        wait_for(
            request_refused, timeout=60, interval=0.5, what="the run request policy to take effect"
        )
    finally:
        client.CoreV1Api(admin.api_client).delete_namespace(ns)


def gone(admin: KubeClient, name: str) -> bool:
    try:
        admin.get("companies", name)
    except WhispererError:
        return True
    return False


def can(kube: KubeClient, verb: str, namespace: str) -> bool:
    """Whether `kube` may list incidents in `namespace` (the probe used for access)."""
    try:
        kube.list("incidents", namespace)
    except ForbiddenError:
        return False
    return True
